import { describe, expect, it } from 'vitest';
import { clientRequestToken, startRequest } from '../../../shared/pipeline/start.ts';

const facts = {
  app: 'starter',
  stage: 'dev',
  commit: '9fceb02d0ae598e95dc970b74767f19372d61af8',
  deliveryId: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
  versionId: 'v3.Lq2kFNqLlS0x4dCDG3rDAuwgSTlfd',
  executionId: 'arn:aws:states:us-east-1:111122223333:execution:stackpilot-deploy:github-72d3162e',
};

describe('start request', () => {
  it('starts the stage pipeline pinned to the zip version, with the commit and delivery as variables', () => {
    expect(startRequest(facts)).toEqual({
      name: 'stackpilot-starter-dev',
      clientRequestToken: clientRequestToken(facts.executionId, facts.deliveryId),
      sourceRevisions: [
        { actionName: 'Source', revisionType: 'S3_OBJECT_VERSION_ID', revisionValue: facts.versionId },
      ],
      variables: [
        { name: 'COMMIT', value: facts.commit },
        { name: 'DELIVERY_ID', value: facts.deliveryId },
      ],
    });
  });

  it("starts a pull request's build in the stage's preview pipeline, with the number as PREVIEW", () => {
    const request = startRequest({ ...facts, preview: { number: 7, branch: 'feature/login' } });
    expect(request.name).toBe('stackpilot-starter-dev-previews');
    expect(request.variables).toEqual([
      { name: 'COMMIT', value: facts.commit },
      { name: 'DELIVERY_ID', value: facts.deliveryId },
      { name: 'PREVIEW', value: '7' },
      { name: 'PREVIEW_BRANCH', value: 'feature/login' },
    ]);
  });

  it('derives the same token for the same execution and a different one for another execution', () => {
    const token = clientRequestToken(facts.executionId, facts.deliveryId);
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    expect(clientRequestToken(facts.executionId, facts.deliveryId)).toBe(token);
    expect(clientRequestToken(`${facts.executionId}-redeploy`, facts.deliveryId)).not.toBe(token);
    expect(clientRequestToken(facts.executionId, 'console-2')).not.toBe(token);
  });
});
