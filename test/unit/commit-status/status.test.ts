import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type ExecutionStatusChange,
  executionStatusChangeSchema,
} from '../../../events/step-functions-execution.ts';
import { repositoryPath, statusRequest } from '../../../shared/commit-status/request.ts';
import {
  type CommitStatusReport,
  commitStatusFor,
  MAX_DESCRIPTION,
  readableCause,
} from '../../../shared/commit-status/status.ts';

const sample = (name: string): ExecutionStatusChange =>
  executionStatusChangeSchema.parse(
    JSON.parse(readFileSync(new URL(`../../../events/samples/${name}`, import.meta.url), 'utf8')),
  );

const running = sample('step-functions-execution-running.json');
const withDetail = (detail: Partial<ExecutionStatusChange['detail']>): ExecutionStatusChange => ({
  ...running,
  detail: { ...running.detail, ...detail },
});

function report(event: ExecutionStatusChange): CommitStatusReport {
  const result = commitStatusFor(event);
  if ('skipped' in result) throw new Error(`skipped: ${result.skipped}`);
  return result;
}

describe('the Step Functions Execution Status Change samples', () => {
  it('parse with the schema', () => {
    expect(running.detail.status).toBe('RUNNING');
    expect(sample('step-functions-execution-failed.json').detail.cause).toContain('circuit breaker');
  });

  it('refuse an event of another service', () => {
    expect(executionStatusChangeSchema.safeParse({ ...running, source: 'aws.ecs' }).success).toBe(false);
  });
});

describe('commitStatusFor', () => {
  it('reports pending with stage and commit when the deploy starts (packaging)', () => {
    expect(report(running)).toEqual({
      app: 'starter',
      stage: 'dev',
      provider: 'github',
      repositoryUrl: 'https://github.com/stackpilot-examples/starter.git',
      commit: '9fceb02d0ae598e95dc970b74767f19372d61af8',
      state: 'pending',
      description: 'dev: deploying 9fceb02',
      context: 'stackpilot/starter/dev',
      targetUrl:
        'https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/arn:aws:states:us-east-1:123456789012:execution:stackpilot-deploy:console-starter-dev-9fceb02',
    });
  });

  it('reports success when the deploy (and so its release) succeeded', () => {
    const r = report(withDetail({ status: 'SUCCEEDED', output: '{}' }));
    expect([r.state, r.description]).toEqual(['success', 'dev: 9fceb02 is live']);
  });

  it("reports failure with the Error and the Lambda cause's message", () => {
    const r = report(
      withDetail({
        status: 'FAILED',
        error: 'PipelineFailed',
        cause: JSON.stringify({
          errorType: 'PipelineFailed',
          errorMessage: 'Build failed:\n docker build exit 1',
        }),
      }),
    );
    expect([r.state, r.description]).toEqual([
      'failure',
      'dev: PipelineFailed: Build failed: docker build exit 1',
    ]);
  });

  it('cuts a long cause to 140 characters', () => {
    const r = report(withDetail({ status: 'FAILED', error: 'X', cause: 'y'.repeat(500) }));
    expect([...r.description]).toHaveLength(MAX_DESCRIPTION);
    expect(r.description.endsWith('…')).toBe(true);
  });

  it('reports error when the deploy timed out or was stopped', () => {
    expect(report(withDetail({ status: 'TIMED_OUT' })).description).toBe('dev: the deploy timed out');
    expect(report(withDetail({ status: 'ABORTED' })).state).toBe('error');
  });

  it('skips a status it does not know, an input left out, and an input that is not a deploy input', () => {
    expect(commitStatusFor(withDetail({ status: 'PENDING_REDRIVE' }))).toHaveProperty('skipped');
    expect(commitStatusFor(withDetail({ input: null, inputDetails: { included: false } }))).toHaveProperty(
      'skipped',
    );
    expect(commitStatusFor(withDetail({ input: '{"app":"starter"}' }))).toHaveProperty('skipped');
    expect(commitStatusFor(withDetail({ input: 'not json' }))).toHaveProperty('skipped');
  });
});

describe('readableCause', () => {
  it('keeps a plain cause and puts it on one line', () => {
    expect(readableCause('a\n  b')).toBe('a b');
    expect(readableCause(null)).toBe('');
  });
});

describe('statusRequest', () => {
  const pending = report(running);

  it('posts a GitHub commit status to api.github.com with the token as a bearer', () => {
    const request = statusRequest(pending, 'ghp_token');
    expect(request.url).toBe(
      'https://api.github.com/repos/stackpilot-examples/starter/statuses/9fceb02d0ae598e95dc970b74767f19372d61af8',
    );
    expect(request.headers.authorization).toBe('Bearer ghp_token');
    expect(JSON.parse(request.body)).toEqual({
      state: 'pending',
      target_url: pending.targetUrl,
      description: 'dev: deploying 9fceb02',
      context: 'stackpilot/starter/dev',
    });
  });

  it('posts to <origin>/api/v3 for another GitHub host (Enterprise Server, the sandbox)', () => {
    const request = statusRequest(
      { ...pending, repositoryUrl: 'http://127.0.0.1:4010/git/starter.git' },
      't',
    );
    expect(request.url).toBe(
      'http://127.0.0.1:4010/api/v3/repos/git/starter/statuses/9fceb02d0ae598e95dc970b74767f19372d61af8',
    );
  });

  it("posts a GitLab commit status with GitLab's states and the project path encoded", () => {
    const gitlab = {
      ...pending,
      provider: 'gitlab' as const,
      repositoryUrl: 'https://gitlab.com/acme/web/starter.git',
    };
    const request = statusRequest(gitlab, 'glpat');
    expect(request.url).toBe(
      'https://gitlab.com/api/v4/projects/acme%2Fweb%2Fstarter/statuses/9fceb02d0ae598e95dc970b74767f19372d61af8',
    );
    expect(request.headers['private-token']).toBe('glpat');
    expect(JSON.parse(request.body)).toMatchObject({ state: 'running', name: 'stackpilot/starter/dev' });
    const states = (['success', 'failure', 'error'] as const).map(
      (state) => JSON.parse(statusRequest({ ...gitlab, state }, 't').body).state,
    );
    expect(states).toEqual(['success', 'failed', 'canceled']);
  });

  it('refuses a clone URL without an owner', () => {
    expect(() => repositoryPath('https://github.com/starter.git')).toThrow(/owner/);
  });
});
