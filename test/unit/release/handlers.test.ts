/**
 * The exported `handler`s as Lambda runs them (middy, Powertools, the task error mapping):
 * the names the ASL's Retry and Catch match.
 */
import { DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { handler as checkDeployment } from '../../../functions/check-deployment/handler.ts';
import { handler as prepareRelease } from '../../../functions/prepare-release/handler.ts';
import { CONFIG_ENV } from '../../../shared/config.ts';
import { loadConfigFile } from '../../../shared/config-file.ts';

const context = {
  functionName: 'stackpilot-release-test',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:stackpilot-release-test',
  memoryLimitInMB: '256',
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
  logGroupName: '/aws/lambda/stackpilot-release-test',
  logStreamName: 'test',
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => 30_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
} as Context;

const ecs = mockClient(ECSClient);
beforeEach(() => {
  process.env[CONFIG_ENV] = JSON.stringify(loadConfigFile('stackpilot.yml'));
});
afterEach(() => {
  ecs.reset();
});

describe('release handlers', () => {
  it('throws InvalidInput for a bad release input, before any AWS call', async () => {
    await expect(
      prepareRelease({ input: { app: 'starter', stage: 'dev' }, executionName: 'x' }, context),
    ).rejects.toMatchObject({
      name: 'InvalidInput',
      message: expect.stringMatching(/^invalid release input: image/),
    });
    expect(ecs.calls()).toHaveLength(0);
  });

  it('throws ServiceNotFound for a stage that is not deployed', async () => {
    ecs.on(DescribeServicesCommand).resolves({ services: [], failures: [{ reason: 'MISSING' }] });
    await expect(
      prepareRelease(
        { input: { app: 'starter', stage: 'dev', action: 'rollback' }, executionName: 'x' },
        context,
      ),
    ).rejects.toMatchObject({ name: 'ServiceNotFound' });
  });

  it('turns ECS throttling into TransientError, which the state machine retries', async () => {
    ecs.on(DescribeServicesCommand).rejects(
      Object.assign(new Error('Rate exceeded'), {
        name: 'ThrottlingException',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    const release = {
      app: 'starter',
      stage: 'dev',
      action: 'release',
      cluster: 'stackpilot-starter-dev',
      service: 'stackpilot-starter-dev',
      current: {
        taskDefinitionArn: 'arn:td:12',
        revision: 12,
        deploymentId: 'ecs-svc/1',
        rolloutState: 'COMPLETED',
      },
      previous: { taskDefinitionArn: 'arn:td:12', revision: 12 },
      timeoutMinutes: 15,
      execution: 'x',
      startedAt: '2026-11-21T12:00:00.000Z',
    };
    const deployment = {
      kind: 'release',
      deploymentId: 'ecs-svc/2',
      taskDefinitionArn: 'arn:td:13',
      revision: 13,
      startedAt: '2026-11-21T12:00:00.000Z',
      deadline: '2026-11-21T12:15:00.000Z',
      polls: 0,
      waitSeconds: 15,
      state: 'IN_PROGRESS',
    };
    await expect(checkDeployment({ release, deployment }, context)).rejects.toMatchObject({
      name: 'TransientError',
      message: 'ThrottlingException: Rate exceeded',
    });
  });
});
