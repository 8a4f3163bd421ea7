/**
 * The callback path's pure logic (outcomes, resumes, stage leases) and its adapters on
 * aws-sdk-client-mock: the relay and the wait racing on one key, and Step Functions' answers
 * for a task that has already ended.
 */
import { readFileSync } from 'node:fs';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient, TaskTimedOut } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { taskEventSchema } from '../../../events/task-events.ts';
import { clients } from '../../../shared/aws/clients.ts';
import { outcomeOf, resumeFor, waitRequestSchema } from '../../../shared/callbacks/model.ts';
import { awaitEvent, type CallbackDeps, relayTaskEvent } from '../../../shared/callbacks/steps.ts';
import { resumeTask } from '../../../shared/callbacks/task-tokens.ts';
import { decideLease, leaveLease } from '../../../shared/release/lease.ts';

const sample = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../../events/samples/${name}`, import.meta.url), 'utf8'));
const BUCKET = 'callbacks-test';
const deps: CallbackDeps = { clients, now: () => new Date(), bucket: BUCKET };

const s3 = mockClient(S3Client);
const sfn = mockClient(SFNClient);
let objects: Map<string, string>;
beforeEach(() => {
  objects = new Map();
  s3.on(PutObjectCommand).callsFake((input) => {
    objects.set(input.Key, String(input.Body));
    return {};
  });
  s3.on(GetObjectCommand).callsFake((input) => {
    const body = objects.get(input.Key);
    if (body === undefined)
      throw Object.assign(new Error('NoSuchKey'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
    return { Body: { transformToString: async () => body } };
  });
  s3.on(DeleteObjectCommand).callsFake((input) => {
    objects.delete(input.Key);
    return {};
  });
  sfn.on(SendTaskSuccessCommand).resolves({});
  sfn.on(SendTaskFailureCommand).resolves({});
});
afterEach(() => {
  s3.reset();
  sfn.reset();
});

describe('end events', () => {
  it('reads the AWS samples: a pipeline that succeeded, a deployment that failed', () => {
    const pipeline = outcomeOf(taskEventSchema.parse(sample('codepipeline-execution-state-change.json')));
    expect(pipeline).toMatchObject({ kind: 'pipeline', succeeded: true, state: 'SUCCEEDED' });
    const deployment = outcomeOf(taskEventSchema.parse(sample('ecs-deployment-state-change.json')));
    expect(deployment).toMatchObject({
      kind: 'deployment',
      id: 'ecs-svc/123',
      succeeded: false,
      reason: 'ECS deployment circuit breaker: task failed to start.',
    });
  });

  it('fails a deployment wait with DeploymentNotCompleted and the reason, so one check says why', () => {
    const outcome = outcomeOf(taskEventSchema.parse(sample('ecs-deployment-state-change.json')));
    expect(resumeFor({ kind: 'deployment', id: 'ecs-svc/123', context: {} }, outcome as never)).toEqual({
      action: 'failure',
      error: 'DeploymentNotCompleted',
      cause:
        'deployment ecs-svc/123 ended SERVICE_DEPLOYMENT_FAILED: ECS deployment circuit breaker: task failed to start.',
    });
  });
});

describe('relay and wait', () => {
  const deploymentEvent = sample('ecs-deployment-state-change.json');
  const completed = {
    ...deploymentEvent,
    detail: { ...deploymentEvent.detail, eventName: 'SERVICE_DEPLOYMENT_COMPLETED' },
  };
  const wait = {
    token: 'token-1',
    kind: 'deployment',
    id: 'ecs-svc/123',
    context: { deploymentId: 'ecs-svc/123', polls: 0 },
  };

  it('resumes the stored wait with SendTaskSuccess and forgets the outcome', async () => {
    await awaitEvent(waitRequestSchema.parse(wait), deps);
    const result = await relayTaskEvent(completed, deps);
    expect(result).toMatchObject({ relayed: true, result: 'resumed' });
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, {
      taskToken: 'token-1',
      output: JSON.stringify({ deploymentId: 'ecs-svc/123', polls: 0, state: 'COMPLETED' }),
    });
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, {
      Key: 'callbacks/deployment/ecs-svc%2F123/token.json',
    });
    expect(objects.has('callbacks/deployment/ecs-svc%2F123/outcome.json')).toBe(false);
  });

  it('keeps an event that comes first, and the wait resumes itself at once', async () => {
    expect(await relayTaskEvent(completed, deps)).toMatchObject({ result: 'recorded' });
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
    expect(await awaitEvent(waitRequestSchema.parse(wait), deps)).toEqual({
      kind: 'deployment',
      id: 'ecs-svc/123',
      resumedAtOnce: true,
    });
    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
  });

  it('treats a token whose task has ended as closed, not as an error', async () => {
    sfn.on(SendTaskSuccessCommand).rejects(new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} }));
    expect(await resumeTask('old', { action: 'success', output: {} }, clients.sfn)).toBe('closed');
  });

  it('drops an event that is neither a pipeline nor a deployment state change', async () => {
    expect(await relayTaskEvent({ source: 'aws.ec2' }, deps)).toEqual({
      relayed: false,
      reason: 'not a pipeline execution or deployment state change',
    });
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
  });
});

describe('stage lease', () => {
  const at = (execution: string, second: number) => ({
    execution,
    startedAt: new Date(Date.UTC(2026, 11, 2, 12, 0, second)).toISOString(),
  });

  it('lets the first release take a free stage', () => {
    expect(decideLease(undefined, at('a', 0), undefined)).toMatchObject({
      decision: 'go',
      next: { holder: at('a', 0), newest: at('a', 0) },
    });
  });

  it('makes a newer release wait for the holder, and supersedes an older waiting one', () => {
    const lease = { holder: at('a', 0), newest: at('c', 2) };
    expect(decideLease(lease, at('c', 2), true)).toMatchObject({ decision: 'wait' });
    expect(decideLease(lease, at('b', 1), true)).toMatchObject({
      decision: 'superseded',
      newest: at('c', 2),
    });
    // Once the holder has left, the newest goes.
    expect(decideLease(leaveLease(lease, 'a'), at('c', 2), undefined)).toMatchObject({ decision: 'go' });
  });

  it('takes the stage over from a holder whose execution has ended', () => {
    expect(decideLease({ holder: at('a', 0), newest: at('a', 0) }, at('b', 1), false)).toMatchObject({
      decision: 'go',
      next: { holder: at('b', 1) },
    });
  });
});
