/**
 * Promotion through the release: the input sample, Prepare Release's checks (same app, image
 * still in ECR), and what the release records (history, revision tags).
 */
import { readFileSync } from 'node:fs';
import { DescribeImagesCommand, ECRClient, ImageNotFoundException } from '@aws-sdk/client-ecr';
import { DescribeServicesCommand, ECSClient, TagResourceCommand } from '@aws-sdk/client-ecs';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { actionOf, releaseInputSchema } from '#events/release.ts';
import { CONFIG_ENV } from '#shared/config.ts';
import { loadConfigFile } from '#shared/config-file.ts';
import { imageIdOf } from '#shared/release/ecr.ts';
import { HISTORY_BUCKET_ENV } from '#shared/release/history-store.ts';
import type { PreparedRelease } from '#shared/release/model.ts';
import { prepareRelease, recordRelease, releaseDeps } from '#shared/release/steps.ts';
import { releaseTags } from '#shared/release/tracker.ts';

const sample = JSON.parse(
  readFileSync(new URL('../../../events/samples/release-promote.json', import.meta.url), 'utf8'),
) as { app: string; stage: string; image: string; promotedFrom: string };

const ecs = mockClient(ECSClient);
const ecr = mockClient(ECRClient);
const s3 = mockClient(S3Client);
const ssm = mockClient(SSMClient);

beforeEach(() => {
  process.env[CONFIG_ENV] = JSON.stringify(loadConfigFile('stackpilot.yml'));
  process.env[HISTORY_BUCKET_ENV] = 'history-bucket';
  ecs.on(DescribeServicesCommand).resolves({
    services: [
      {
        serviceName: 'stackpilot-starter-prod',
        status: 'ACTIVE',
        deployments: [
          {
            id: 'ecs-svc/1',
            status: 'PRIMARY',
            rolloutState: 'COMPLETED',
            taskDefinition: 'arn:aws:ecs:us-east-1:123456789012:task-definition/stackpilot-starter-prod:3',
          },
        ],
      },
    ],
  });
});
afterEach(() => {
  for (const client of [ecs, ecr, s3, ssm]) client.reset();
});

describe('the promote input', () => {
  it('parses the console sample as a promotion', () => {
    const input = releaseInputSchema.parse(sample);
    expect(actionOf(input)).toBe('promote');
  });

  it('refuses a stage promoted from itself', () => {
    const result = releaseInputSchema.safeParse({ ...sample, promotedFrom: sample.stage });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.message)).toContain('a stage cannot be promoted from itself');
  });

  it('looks the image up by tag, by digest, or as latest', () => {
    expect(imageIdOf(sample.image)).toEqual({ imageTag: '4f5d1c2b9a8e7d6c5b4a39281706f5e4d3c2b1a0' });
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(imageIdOf(`1.dkr.ecr.us-east-1.amazonaws.com/stackpilot/starter@${digest}`)).toEqual({
      imageDigest: digest,
    });
    expect(imageIdOf('localhost:5000/stackpilot/starter')).toEqual({ imageTag: 'latest' });
  });
});

describe('Prepare Release of a promotion', () => {
  it('prepares a promote release carrying promotedFrom once ECR still has the image', async () => {
    ecr.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageDigest: 'sha256:1' }] });
    const prepared = await prepareRelease({ input: sample, executionName: 'promote-1' }, releaseDeps());
    expect(prepared).toMatchObject({
      app: 'starter',
      stage: 'prod',
      action: 'promote',
      image: sample.image,
      commit: '4f5d1c2b9a8e7d6c5b4a39281706f5e4d3c2b1a0',
      promotedFrom: 'dev',
    });
    expect(ecr).toHaveReceivedCommandWith(DescribeImagesCommand, {
      repositoryName: 'stackpilot/starter',
      imageIds: [{ imageTag: '4f5d1c2b9a8e7d6c5b4a39281706f5e4d3c2b1a0' }],
    });
  });

  it('refuses an image ECR no longer holds (imagesToKeep expired it), naming what to do', async () => {
    ecr
      .on(DescribeImagesCommand)
      .rejects(new ImageNotFoundException({ message: 'The image does not exist', $metadata: {} }));
    await expect(
      prepareRelease({ input: sample, executionName: 'promote-2' }, releaseDeps()),
    ).rejects.toMatchObject({
      name: 'InvalidInput',
      message: expect.stringMatching(
        /is no longer in ECR repository stackpilot\/starter .*deploy dev again and promote that release/,
      ),
    });
  });

  it('refuses a stage the app does not have', async () => {
    await expect(
      prepareRelease({ input: { ...sample, promotedFrom: 'qa' }, executionName: 'promote-3' }, releaseDeps()),
    ).rejects.toMatchObject({
      name: 'InvalidInput',
      message: 'cannot promote starter/prod from qa: app starter has no stage qa (stages: dev, prod)',
    });
    expect(ecr.calls()).toHaveLength(0);
  });
});

const prepared: PreparedRelease = {
  app: 'starter',
  stage: 'prod',
  action: 'promote',
  image: sample.image,
  commit: '4f5d1c2b9a8e7d6c5b4a39281706f5e4d3c2b1a0',
  promotedFrom: 'dev',
  cluster: 'stackpilot-starter-prod',
  service: 'stackpilot-starter-prod',
  current: {
    taskDefinitionArn: 'arn:td:3',
    revision: 3,
    deploymentId: 'ecs-svc/1',
    rolloutState: 'COMPLETED',
  },
  previous: { taskDefinitionArn: 'arn:td:3', revision: 3 },
  timeoutMinutes: 15,
  execution: 'promote-1',
  startedAt: '2026-12-02T17:00:00.000Z',
};

describe('what a promotion records', () => {
  it('tags the new revision with the stage it was promoted from', () => {
    expect(releaseTags(prepared)).toContainEqual({ key: 'stackpilot:promoted-from', value: 'dev' });
  });

  it('writes a history record saying it was a promotion from dev', async () => {
    ecs.on(TagResourceCommand).resolves({});
    ssm.on(PutParameterCommand).resolves({});
    s3.on(ListObjectsV2Command).resolves({ Contents: [] });
    s3.on(PutObjectCommand).resolves({});
    const target = {
      taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/stackpilot-starter-prod:4',
      revision: 4,
      image: sample.image,
      changed: true,
    };
    const { result, key } = await recordRelease(
      { PrepareResult: prepared, Target: target },
      { ...releaseDeps(), now: () => new Date('2026-12-02T17:05:00Z') },
    );
    expect(result).toBe('COMPLETED');
    expect(key).toBe('releases/starter/prod/20261202T170500000Z-r4-COMPLETED.json');
    const body = JSON.parse(String(s3.commandCalls(PutObjectCommand)[0]?.args[0].input.Body));
    expect(body).toMatchObject({ action: 'promote', promotedFrom: 'dev', image: sample.image, revision: 4 });
  });
});
