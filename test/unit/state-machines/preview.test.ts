/**
 * Path tests of `state-machines/preview.asl.json`: the real ASL run locally, its Task states
 * answered in process. What each step does to AWS is proven on the emulated account by the
 * sandbox test (`test/integration/sandbox-previews.test.ts`) and on moto (`test/aws/previews.test.ts`);
 * here: which states run, in which order, and how every failure ends.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadDefinition, runStateMachine, type TaskHandlers } from '../../../sandbox/state-machines.ts';
import { TransientError } from '../../../shared/errors.ts';
import {
  PreviewDeploymentFailed,
  PreviewLimitReached,
  PreviewStillDraining,
} from '../../../shared/preview/errors.ts';
import { explainFailure, failedExecutionSchema } from '../../../shared/preview/steps.ts';
import { aslValidator } from '../support/asl.ts';

const sample = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../../events/samples/${name}`, import.meta.url), 'utf8'));
const deployInput = sample('preview-deploy.json');
const removeInput = sample('preview-remove.json');
const definition = loadDefinition('preview');

const prepared = {
  app: 'starter',
  stage: 'dev',
  number: 7,
  image: deployInput.image,
  commit: deployInput.commit,
  taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/stackpilot-starter-dev-pr-7:1',
  url: 'https://abc123.execute-api.us-east-1.amazonaws.com/pr-7/',
  frontDoor: {
    scale: 'standard',
    url: 'https://abc123.execute-api.us-east-1.amazonaws.com',
    apiId: 'abc123',
    vpcLinkId: 'v1',
    namespaceId: 'ns-1',
  },
};
const deployment = { deploymentId: 'ecs-svc/1234', startedAt: '2026-12-07T10:00:00.000Z' };

/** Mark Failed's own explanation (the record it also writes is the sandbox test's). */
const markFailed = (input: { failed: unknown }) => explainFailure(failedExecutionSchema.parse(input.failed));

function handlers(overrides: Partial<TaskHandlers> = {}): TaskHandlers {
  return {
    'Prepare Preview': () => prepared,
    'Deploy Preview': () => deployment,
    'Check Preview': () => ({ done: true }),
    'Record Preview': () => ({ ...prepared, status: 'serving' }),
    'Remove Preview': (input: { number: number; reason: string }) => ({
      number: input.number,
      status: 'REMOVED',
      reason: input.reason,
    }),
    'Mark Failed': markFailed,
    ...overrides,
  };
}

const run = (input: unknown, tasks: TaskHandlers) => runStateMachine(definition, input, { tasks });

it('is valid ASL', () => {
  const result = aslValidator(definition, { checkArn: true, checkPaths: true });
  expect(result.isValid, result.errorsText('\n')).toBe(true);
});

describe('deploy', () => {
  it('prepares, deploys, checks until the task serves, and ends with the record', async () => {
    const looks = [{ done: false, progress: '0 of 1 tasks running', waitSeconds: 10 }, { done: true }];
    const result = await run(deployInput, handlers({ 'Check Preview': () => looks.shift() }));
    expect(result.status).toBe('SUCCEEDED');
    expect(result.statesEntered).toEqual([
      'Deploy Or Remove?',
      'Prepare Preview',
      'Deploy Preview',
      'Check Preview',
      'Serving?',
      'Wait For Preview',
      'Check Preview',
      'Serving?',
      'Record Preview',
    ]);
    expect(result.output).toMatchObject({ number: 7, status: 'serving', url: prepared.url });
  });

  it('gives each step what it needs: the input, the prepared preview, its deployment', async () => {
    const seen: Record<string, unknown> = {};
    const record = (name: string, out: unknown) => (input: unknown) => {
      seen[name] = input;
      return out;
    };
    await run(
      deployInput,
      handlers({
        'Prepare Preview': record('prepare', prepared),
        'Deploy Preview': record('deploy', deployment),
        'Check Preview': record('check', { done: true }),
        'Record Preview': record('record', {}),
      }),
    );
    expect(seen.prepare).toEqual(deployInput);
    expect(seen.deploy).toEqual({ prepared });
    expect(seen.check).toEqual({ prepared, deployment });
    expect(seen.record).toEqual({ prepared });
  });

  it('retries a transient failure, then goes on', async () => {
    let calls = 0;
    const result = await run(
      deployInput,
      handlers({
        'Deploy Preview': () => {
          calls += 1;
          if (calls === 1) throw new TransientError('ThrottlingException: Rate exceeded');
          return deployment;
        },
      }),
    );
    expect(result.status).toBe('SUCCEEDED');
    expect(calls).toBe(2);
  });

  it.each([
    ['Prepare Preview', new PreviewLimitReached('app starter already runs 3 previews in stage dev')],
    ['Deploy Preview', new Error('AccessDeniedException: not allowed')],
    [
      'Check Preview',
      new PreviewDeploymentFailed('preview pr-7 of starter/dev did not start: essential container exited'),
    ],
  ])('a failure of %s ends in Mark Failed with the step named in the Cause', async (step, error) => {
    const marks: unknown[] = [];
    const result = await run(
      deployInput,
      handlers({
        [step]: () => {
          throw error;
        },
        'Mark Failed': (input: { failed: unknown }) => {
          marks.push(input.failed);
          return markFailed(input);
        },
      }),
    );
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe(error.name);
    expect(result.cause).toBe(`${step} failed: ${error.message}`);
    expect(result.statesEntered.slice(-2)).toEqual(['Mark Failed', 'Preview Failed']);
    // Mark Failed sees how far the execution came, so it knows what to mark.
    const mark = marks[0] as Record<string, unknown>;
    expect('prepared' in mark).toBe(step !== 'Prepare Preview');
    expect('deployment' in mark).toBe(step === 'Check Preview');
  });

  it('when Mark Failed fails too, the execution still fails with the original error', async () => {
    const result = await run(
      deployInput,
      handlers({
        'Deploy Preview': () => {
          throw new Error('boom');
        },
        'Mark Failed': () => {
          throw new Error('S3 is down');
        },
      }),
    );
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('Error');
    expect(JSON.parse(result.cause ?? '{}').errorMessage).toBe('boom');
  });
});

describe('remove', () => {
  it('goes straight to Remove Preview and ends with what it removed', async () => {
    const result = await run(removeInput, handlers());
    expect(result.status).toBe('SUCCEEDED');
    expect(result.statesEntered).toEqual(['Deploy Or Remove?', 'Remove Preview']);
    expect(result.output).toEqual({ number: 7, status: 'REMOVED', reason: 'operator' });
  });

  it('is retried while the preview drains', async () => {
    let attempts = 0;
    const result = await run(
      removeInput,
      handlers({
        'Remove Preview': () => {
          attempts += 1;
          if (attempts < 4)
            throw new PreviewStillDraining('ECS service stackpilot-starter-dev-pr-7 is DRAINING');
          return { status: 'REMOVED' };
        },
      }),
    );
    expect(result.status).toBe('SUCCEEDED');
    expect(attempts).toBe(4);
  });

  it('a removal that cannot finish fails with Remove Preview named', async () => {
    const result = await run(
      removeInput,
      handlers({
        'Remove Preview': () => {
          throw new Error('AccessDeniedException: not allowed to delete the route');
        },
      }),
    );
    expect(result.status).toBe('FAILED');
    expect(result.cause).toBe(
      'Remove Preview failed: AccessDeniedException: not allowed to delete the route',
    );
  });
});
