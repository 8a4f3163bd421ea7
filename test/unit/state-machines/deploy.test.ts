/**
 * Path tests of `state-machines/deploy.asl.json`: the real ASL, run locally, with the real
 * Start Pipeline, Wait For Pipeline (await-event) and Check Pipeline handlers on a mocked
 * CodePipeline, and an in-process stand-in for Package Source (which has its own tests) that
 * honours its contract: it parses the deploy input (InvalidInput) and returns
 * `{bucket, key, versionId, commit, bytes, files}`. The pipeline's end event goes through the
 * real relay; S3 (the callback store) and Step Functions' SendTask* calls are mocked in memory,
 * the latter answered by the local runner's task tokens.
 */
import { readFileSync } from 'node:fs';
import {
  CodePipelineClient,
  GetPipelineExecutionCommand,
  ListActionExecutionsCommand,
  PipelineExecutionNotFoundException,
  PipelineNotFoundException,
  StartPipelineExecutionCommand,
} from '@aws-sdk/client-codepipeline';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deployInputSchema } from '#events/deploy.ts';
import { handler as checkPipelineHandler } from '../../../functions/check-pipeline/handler.ts';
import { handler as startPipelineHandler } from '../../../functions/start-pipeline/handler.ts';
import {
  allStates,
  loadDefinition,
  placeholdersOf,
  runStateMachine,
  type TaskHandlers,
  TaskTokens,
} from '../../../sandbox/state-machines.ts';
import { clients } from '../../../shared/aws/clients.ts';
import { waitRequestSchema } from '../../../shared/callbacks/model.ts';
import {
  type AwaitResult,
  awaitEvent,
  type CallbackDeps,
  type RelayResult,
  relayTaskEvent,
} from '../../../shared/callbacks/steps.ts';
import { findStage } from '../../../shared/config.ts';
import { loadConfigFile } from '../../../shared/config-file.ts';
import { parseInput, TransientError } from '../../../shared/errors.ts';
import { checkPipeline, checkPipelineInputSchema, pipelineDeps } from '../../../shared/pipeline/steps.ts';
import { aslValidator, RETRYABLE_ERRORS } from '../support/asl.ts';

const sampleInput = JSON.parse(
  readFileSync(new URL('../../../events/samples/deploy-input.json', import.meta.url), 'utf8'),
);
const COMMIT = sampleInput.commit as string;
const EXECUTION_NAME = 'github-72d3162e-cc78-11e3-81ab-4c9367dc0958';

class CommitNotFound extends Error {
  override readonly name = 'CommitNotFound';
}

const context = {
  functionName: 'stackpilot-test',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:stackpilot-test',
  memoryLimitInMB: '256',
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
  logGroupName: '/aws/lambda/stackpilot-test',
  logStreamName: 'test',
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => 30_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
} as Context;

/** The Package Source contract, with a counter and a programmable failure. */
function packageSource(failures: Error[] = []) {
  const calls: unknown[] = [];
  const task = (input: unknown) => {
    calls.push(input);
    const failure = failures.shift();
    if (failure) throw failure;
    const deploy = parseInput(deployInputSchema, input, 'deploy input');
    return {
      bucket: 'stackpilot-sources',
      key: `sources/${deploy.app}/${deploy.stage}/source.zip`,
      versionId: 'v3.Lq2kFNqLlS0x4dCDG3rDAuwgSTlfd',
      commit: deploy.commit,
      bytes: 48_213,
      files: 37,
    };
  };
  return { task, calls };
}

const BUCKET = 'stackpilot-sources';
const callbacks: CallbackDeps = { clients, now: () => new Date(), bucket: BUCKET };
const pipelineEventSample = JSON.parse(
  readFileSync(
    new URL('../../../events/samples/codepipeline-execution-state-change.json', import.meta.url),
    'utf8',
  ),
);
/** The pipeline's end event, as CodePipeline puts it on the bus. */
const pipelineEvent = (executionId: string, state: string) => ({
  ...pipelineEventSample,
  time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
  detail: { ...pipelineEventSample.detail, 'execution-id': executionId, state },
});

/** How the pipeline ends: the state of its end event, undefined when the event is lost. */
let ending: string | undefined;
/** The event comes right after the pipeline starts, before the deploy stores its token. */
let early: boolean;
let relayed: RelayResult[];
let waits: AwaitResult[];
let pendingRelays: Promise<unknown>[];
const relay = (executionId: string, state: string) => {
  const delivery = relayTaskEvent(pipelineEvent(executionId, state), callbacks).then((r) => {
    relayed.push(r);
  });
  pendingRelays.push(delivery);
  return delivery;
};

function tasks(
  source: (input: unknown) => unknown = packageSource().task,
  check = (input: unknown) => checkPipelineHandler(input, context),
): TaskHandlers {
  return {
    'Package Source': source,
    'Start Pipeline': async (input: unknown) => {
      const started = (await startPipelineHandler(input, context)) as { pipelineExecutionId: string };
      if (early && ending) await relay(started.pipelineExecutionId, ending);
      return started;
    },
    'Wait For Pipeline': async (payload: { id: string }) => {
      const result = await awaitEvent(parseInput(waitRequestSchema, payload, 'Wait input'), callbacks);
      waits.push(result);
      // The pipeline ends a moment after the deploy started waiting.
      const state = ending;
      if (!early && state) setTimeout(() => void relay(payload.id, state), 5);
      return result;
    },
    'Check Pipeline': check,
    'Explain Failure': (input: unknown) => checkPipelineHandler(input, context),
  };
}

const codePipeline = mockClient(CodePipelineClient);
const s3 = mockClient(S3Client);
const sfn = mockClient(SFNClient);
const definition = loadDefinition('deploy');
let taskTokens: TaskTokens;
/** Milliseconds without an event before the wait's fallback check (HeartbeatSeconds). */
let heartbeat: number;
const run = (input: unknown, handlers: TaskHandlers) =>
  runStateMachine(definition, input, {
    tasks: handlers,
    executionName: EXECUTION_NAME,
    taskTokens,
    heartbeats: { 'Wait For Pipeline': heartbeat },
  });

beforeEach(() => {
  ending = 'SUCCEEDED';
  early = false;
  relayed = [];
  waits = [];
  pendingRelays = [];
  heartbeat = 2000;
  taskTokens = new TaskTokens();
  codePipeline.on(StartPipelineExecutionCommand).resolves({ pipelineExecutionId: 'exec-1' });
  codePipeline
    .on(GetPipelineExecutionCommand)
    .resolves({ pipelineExecution: { pipelineExecutionId: 'exec-1', status: 'Succeeded' } });
  // The callback store: S3 objects in memory.
  const objects = new Map<string, string>();
  s3.on(PutObjectCommand).callsFake((input) => {
    objects.set(`${input.Bucket}/${input.Key}`, String(input.Body));
    return {};
  });
  s3.on(GetObjectCommand).callsFake((input) => {
    const body = objects.get(`${input.Bucket}/${input.Key}`);
    if (body === undefined)
      throw Object.assign(new Error('The specified key does not exist.'), {
        name: 'NoSuchKey',
        $metadata: { httpStatusCode: 404 },
      });
    return { Body: { transformToString: async () => body } };
  });
  s3.on(DeleteObjectCommand).callsFake((input) => {
    objects.delete(`${input.Bucket}/${input.Key}`);
    return {};
  });
  // Step Functions: the runner's task tokens answer the relay's and the wait's calls.
  sfn.on(SendTaskSuccessCommand).callsFake((input) => {
    taskTokens.success(input.taskToken, input.output);
    return {};
  });
  sfn.on(SendTaskFailureCommand).callsFake((input) => {
    taskTokens.failure(input.taskToken, input.error, input.cause);
    return {};
  });
});
afterEach(async () => {
  await Promise.all(pendingRelays);
  codePipeline.reset();
  s3.reset();
  sfn.reset();
});

describe('deploy state machine', () => {
  it('packages the commit, starts the pipeline on that zip version and succeeds with the whole story', async () => {
    const result = await run(sampleInput, tasks());

    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toEqual({
      app: 'starter',
      stage: 'dev',
      ref: 'refs/heads/main',
      commit: COMMIT,
      deliveryId: sampleInput.deliveryId,
      source: {
        bucket: 'stackpilot-sources',
        key: 'sources/starter/dev/source.zip',
        versionId: 'v3.Lq2kFNqLlS0x4dCDG3rDAuwgSTlfd',
        bytes: 48_213,
        files: 37,
      },
      pipelineName: 'stackpilot-starter-dev',
      pipelineExecutionId: 'exec-1',
      status: 'Succeeded',
      pipelineSeconds: expect.any(Number),
    });
    expect(codePipeline).toHaveReceivedCommandWith(StartPipelineExecutionCommand, {
      name: 'stackpilot-starter-dev',
      sourceRevisions: [
        {
          actionName: 'Source',
          revisionType: 'S3_OBJECT_VERSION_ID',
          revisionValue: 'v3.Lq2kFNqLlS0x4dCDG3rDAuwgSTlfd',
        },
      ],
      variables: [
        { name: 'COMMIT', value: COMMIT },
        { name: 'DELIVERY_ID', value: sampleInput.deliveryId },
      ],
      clientRequestToken: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    // The end event resumed the deploy: no look at the pipeline at all.
    expect(result.statesEntered).toEqual([
      'Package Source',
      'Anything To Deploy?',
      'Start Pipeline',
      'Wait For Pipeline',
      'Deployed',
    ]);
    expect(codePipeline).not.toHaveReceivedCommand(GetPipelineExecutionCommand);
    expect(relayed).toEqual([
      { relayed: true, kind: 'pipeline', id: 'exec-1', state: 'SUCCEEDED', result: 'resumed' },
    ]);
    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
  });

  it('resumes at once when the end event came before the token was stored (nothing lost)', async () => {
    early = true;

    const result = await run(sampleInput, tasks());

    expect(result.status, result.cause).toBe('SUCCEEDED');
    expect(relayed).toEqual([
      { relayed: true, kind: 'pipeline', id: 'exec-1', state: 'SUCCEEDED', result: 'recorded' },
    ]);
    expect(waits).toEqual([{ kind: 'pipeline', id: 'exec-1', resumedAtOnce: true }]);
    expect(result.statesEntered).toEqual([
      'Package Source',
      'Anything To Deploy?',
      'Start Pipeline',
      'Wait For Pipeline',
      'Deployed',
    ]);
    // The outcome resumed one wait and was forgotten.
    expect(s3).toHaveReceivedCommandWith(DeleteObjectCommand, {
      Bucket: BUCKET,
      Key: 'callbacks/pipeline/exec-1/outcome.json',
    });
  });

  it('covers a missed event with one check per HeartbeatSeconds, and goes on when the check finds the end', async () => {
    ending = undefined;
    heartbeat = 10;
    codePipeline
      .on(GetPipelineExecutionCommand)
      .resolvesOnce({ pipelineExecution: { status: 'InProgress' } })
      .resolves({ pipelineExecution: { status: 'Succeeded' } });

    const result = await run(sampleInput, tasks());

    expect(result.status, result.cause).toBe('SUCCEEDED');
    expect(result.statesEntered).toEqual([
      'Package Source',
      'Anything To Deploy?',
      'Start Pipeline',
      'Wait For Pipeline',
      'Check Pipeline',
      'Pipeline Finished?',
      'Wait For Pipeline',
      'Check Pipeline',
      'Pipeline Finished?',
      'Deployed',
    ]);
    expect(codePipeline).toHaveReceivedCommandTimes(GetPipelineExecutionCommand, 2);
  });

  it('fails with PipelineTimedOut at the deadline when no event ever comes', async () => {
    ending = undefined;
    heartbeat = 10;
    codePipeline.on(GetPipelineExecutionCommand).resolves({ pipelineExecution: { status: 'InProgress' } });
    let checks = 0;
    // The second fallback look comes after the deadline.
    const check = (input: unknown) =>
      checkPipeline(parseInput(checkPipelineInputSchema, input, 'Check Pipeline input'), {
        ...pipelineDeps(),
        limitSeconds: checks++ === 0 ? 3600 : 0,
      });

    const result = await run(sampleInput, tasks(undefined, check));

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('PipelineTimedOut');
    expect(result.statesEntered.filter((s) => s === 'Wait For Pipeline')).toHaveLength(2);
  });

  it('ends as skipped, with no pipeline, when Package Source found no watched path changed (monorepo)', async () => {
    const before = 'b'.repeat(40);
    const reason = `none of the 3 paths changed since ${before} is watched by the app (api/**): nothing to deploy`;
    const skipped = (input: unknown) => {
      const deploy = parseInput(deployInputSchema, input, 'deploy input');
      return { skipped: true, commit: deploy.commit, comparedWith: deploy.changedSince, reason };
    };

    const result = await run({ ...sampleInput, changedSince: before }, tasks(skipped));

    expect(result.status).toBe('SUCCEEDED');
    expect(result.statesEntered).toEqual(['Package Source', 'Anything To Deploy?', 'Skipped']);
    expect(result.output).toEqual({
      app: sampleInput.app,
      stage: sampleInput.stage,
      ref: sampleInput.ref,
      commit: COMMIT,
      deliveryId: sampleInput.deliveryId,
      status: 'SKIPPED',
      comparedWith: before,
      reason,
    });
    expect(codePipeline).not.toHaveReceivedCommand(StartPipelineExecutionCommand);
  });

  it('retries a transient clone error and then succeeds', async () => {
    const source = packageSource([new TransientError('git host answered 503 to git-upload-pack')]);

    const result = await run(sampleInput, tasks(source.task));

    expect(result.status).toBe('SUCCEEDED');
    expect(source.calls).toHaveLength(2);
    expect(result.statesEntered.filter((s) => s === 'Package Source')).toHaveLength(1);
  });

  it('fails without retrying when the commit is not in the repository, naming the commit in the Cause', async () => {
    const source = packageSource([
      new CommitNotFound(
        `commit ${COMMIT} is not in https://github.com/stackpilot-examples/starter.git (was the branch force-pushed?)`,
      ),
    ]);

    const result = await run(sampleInput, tasks(source.task));

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('CommitNotFound');
    expect(result.cause).toBe(
      `Package Source failed: commit ${COMMIT} is not in https://github.com/stackpilot-examples/starter.git (was the branch force-pushed?)`,
    );
    expect(source.calls).toHaveLength(1);
    expect(codePipeline).not.toHaveReceivedCommand(StartPipelineExecutionCommand);
  });

  it('fails fast with InvalidInput naming the bad field when the input is not a deploy input', async () => {
    const source = packageSource();

    const result = await run({ ...sampleInput, commit: 'main' }, tasks(source.task));

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('InvalidInput');
    expect(result.cause).toMatch(/^Package Source failed: invalid deploy input: commit: a full commit id/);
    expect(source.calls).toHaveLength(1);
    expect(result.statesEntered).toEqual(['Package Source', 'Explain Failure', 'Deploy Failed']);
  });

  it('waits again when the check after an end event finds the execution running (a retried stage)', async () => {
    ending = 'FAILED';
    codePipeline
      .on(GetPipelineExecutionCommand)
      .resolvesOnce({ pipelineExecution: { status: 'InProgress' } })
      .resolves({ pipelineExecution: { status: 'Succeeded' } });
    let waited = 0;
    const handlers = tasks();
    const wait = handlers['Wait For Pipeline'] as (payload: { id: string }) => Promise<AwaitResult>;
    handlers['Wait For Pipeline'] = (payload: { id: string }) => {
      // The retried execution succeeds this time.
      if (waited++ > 0) ending = 'SUCCEEDED';
      return wait(payload);
    };

    const result = await run(sampleInput, handlers);

    expect(result.status, result.cause).toBe('SUCCEEDED');
    expect(result.statesEntered).toEqual([
      'Package Source',
      'Anything To Deploy?',
      'Start Pipeline',
      'Wait For Pipeline',
      'Check Pipeline',
      'Pipeline Finished?',
      'Wait For Pipeline',
      'Deployed',
    ]);
    // The first (FAILED) outcome was forgotten once it resumed a wait: the second wait waited for the new end.
    expect(waits.map((w) => w.resumedAtOnce)).toEqual([false, false]);
  });

  it('fails with PipelineFailed naming the failed stage, action, commit and reason (the event says failed, one check says why)', async () => {
    ending = 'FAILED';
    codePipeline
      .on(GetPipelineExecutionCommand)
      .resolves({ pipelineExecution: { status: 'Failed', statusSummary: 'Build failed' } });
    codePipeline.on(ListActionExecutionsCommand).resolves({
      actionExecutionDetails: [
        {
          stageName: 'Source',
          actionName: 'Source',
          status: 'Succeeded',
          lastUpdateTime: new Date('2026-11-21T10:00:05Z'),
        },
        {
          stageName: 'Build',
          actionName: 'Build',
          status: 'Failed',
          lastUpdateTime: new Date('2026-11-21T10:03:41Z'),
          output: {
            executionResult: {
              externalExecutionId: 'stackpilot-starter-dev:0b3f',
              externalExecutionSummary: 'Build terminated with state: FAILED',
              externalExecutionUrl: 'https://console.aws.amazon.com/codesuite/codebuild/projects/x/build/y',
              errorDetails: {
                code: 'JobFailed',
                message: 'Error while executing command: docker build . Reason: exit status 1',
              },
            },
          },
        },
      ],
    });

    const result = await run(sampleInput, tasks());

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('PipelineFailed');
    expect(result.cause).toBe(
      `pipeline stackpilot-starter-dev execution exec-1 failed in stage Build, action Build, for commit ${COMMIT}: ` +
        'Error while executing command: docker build . Reason: exit status 1; Build terminated with state: FAILED ' +
        '(details: https://console.aws.amazon.com/codesuite/codebuild/projects/x/build/y)',
    );
    expect(result.statesEntered.at(-1)).toBe('Pipeline Failed');
  });

  it('fails with PipelineSuperseded when a newer push takes over the pipeline', async () => {
    ending = 'SUPERSEDED';
    codePipeline.on(GetPipelineExecutionCommand).resolves({
      pipelineExecution: {
        status: 'Superseded',
        statusSummary: 'Superseded by pipeline execution ID exec-2',
      },
    });

    const result = await run(sampleInput, tasks());

    expect(result.error).toBe('PipelineSuperseded');
    expect(result.cause).toContain(
      `before it released commit ${COMMIT}: Superseded by pipeline execution ID exec-2`,
    );
    expect(codePipeline).not.toHaveReceivedCommand(ListActionExecutionsCommand);
  });

  it('retries a throttled pipeline start with the same request token, so only one execution starts', async () => {
    codePipeline
      .on(StartPipelineExecutionCommand)
      .rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }))
      .resolves({ pipelineExecutionId: 'exec-1' });

    const result = await run(sampleInput, tasks());

    expect(result.status).toBe('SUCCEEDED');
    const tokens = codePipeline
      .commandCalls(StartPipelineExecutionCommand)
      .map((call) => call.args[0].input.clientRequestToken);
    expect(tokens).toHaveLength(2);
    expect(new Set(tokens).size).toBe(1);
  });

  it('looks again when a just-started execution is not visible yet', async () => {
    ending = undefined;
    heartbeat = 10;
    codePipeline
      .on(GetPipelineExecutionCommand)
      .rejectsOnce(new PipelineExecutionNotFoundException({ message: 'not found', $metadata: {} }))
      .resolves({ pipelineExecution: { status: 'Succeeded' } });

    const result = await run(sampleInput, tasks());

    expect(result.status).toBe('SUCCEEDED');
    expect(codePipeline).toHaveReceivedCommandTimes(GetPipelineExecutionCommand, 2);
  });

  it('fails with PipelineExecutionNotFound when the execution never shows up', async () => {
    ending = undefined;
    heartbeat = 10;
    codePipeline
      .on(GetPipelineExecutionCommand)
      .rejects(new PipelineExecutionNotFoundException({ message: 'not found', $metadata: {} }));

    const result = await run(sampleInput, tasks());

    expect(result.error).toBe('PipelineExecutionNotFound');
    expect(result.cause).toBe(
      'Check Pipeline failed: pipeline stackpilot-starter-dev has no execution exec-1',
    );
    // The first look and three retries.
    expect(codePipeline).toHaveReceivedCommandTimes(GetPipelineExecutionCommand, 4);
  });

  it('fails with PipelineNotFound when the app stage is not deployed', async () => {
    codePipeline
      .on(StartPipelineExecutionCommand)
      .rejects(new PipelineNotFoundException({ message: 'not found', $metadata: {} }));

    const result = await run(sampleInput, tasks());

    expect(result.error).toBe('PipelineNotFound');
    expect(result.cause).toBe(
      'Start Pipeline failed: pipeline stackpilot-starter-dev does not exist: deploy the app stage (npx cdk deploy --all) first',
    );
    expect(codePipeline).toHaveReceivedCommandTimes(StartPipelineExecutionCommand, 1);
  });

  it('tells the message of a platform error the step does not name, prefixed with the step', async () => {
    const oom = Object.assign(new Error('Runtime exited with error: signal: killed'), {
      name: 'Runtime.ExitError',
    });
    const source = packageSource([oom]);

    const result = await run(sampleInput, tasks(source.task));

    expect(result.error).toBe('Runtime.ExitError');
    expect(result.cause).toBe('Package Source failed: Runtime exited with error: signal: killed');
  });
});

describe('deploy.asl.json', () => {
  it('is a valid state machine for asl-validator once its placeholders are filled', () => {
    const filled = loadDefinition('deploy', {
      PackageSourceFunctionArn: 'arn:aws:lambda:eu-west-1:111122223333:function:stackpilot-package-source',
      StartPipelineFunctionArn: 'arn:aws:lambda:eu-west-1:111122223333:function:stackpilot-start-pipeline',
      CheckPipelineFunctionArn: 'arn:aws:lambda:eu-west-1:111122223333:function:stackpilot-check-pipeline',
      AwaitEventFunctionArn: 'arn:aws:lambda:eu-west-1:111122223333:function:stackpilot-await-event',
    });
    const { isValid, errorsText } = aslValidator(structuredClone(filled), {
      checkArn: true,
      checkPaths: true,
    });
    expect(errorsText('\n')).toBe('');
    expect(isValid).toBe(true);
  });

  it('uses only the four function placeholders that CDK fills', () => {
    expect(placeholdersOf('deploy').sort()).toEqual([
      'AwaitEventFunctionArn',
      'CheckPipelineFunctionArn',
      'PackageSourceFunctionArn',
      'StartPipelineFunctionArn',
    ]);
  });

  it('retries the retryable errors in every Task with backoff and jitter, and catches States.ALL last', () => {
    const taskStates = Object.entries(allStates(definition)).filter(([, s]) => s.Type === 'Task');
    expect(taskStates.map(([name]) => name)).toEqual([
      'Package Source',
      'Start Pipeline',
      'Check Pipeline',
      'Wait For Pipeline',
      'Explain Failure',
    ]);
    for (const [, state] of taskStates) {
      expect(state.Retry[0]).toMatchObject({
        ErrorEquals: [...RETRYABLE_ERRORS],
        BackoffRate: 2,
        JitterStrategy: 'FULL',
      });
      expect(state.Catch.at(-1).ErrorEquals).toEqual(['States.ALL']);
    }
    // A typed Catch only where it leads somewhere else than the Catch-all: the wait's missed event.
    const catchAll = Object.fromEntries(taskStates.map(([name, s]) => [name, s.Catch.at(-1).Next]));
    expect(catchAll).toEqual({
      'Package Source': 'Explain Failure',
      'Start Pipeline': 'Explain Failure',
      'Check Pipeline': 'Explain Failure',
      'Wait For Pipeline': 'Poll Pipeline Instead',
      'Explain Failure': 'Deploy Failed',
    });
  });
});

describe('events/samples/deploy-input.json', () => {
  it('is a deploy input for a stage of the example stackpilot.yml, ready to paste into the console', () => {
    const input = deployInputSchema.parse(sampleInput);
    const stage = findStage(loadConfigFile('stackpilot.yml'), input.app, input.stage);
    expect(stage).toBeDefined();
    expect(input.ref).toBe(`refs/heads/${stage?.stageConfig.branch}`);
    expect(input.repository).toEqual({
      provider: stage?.appConfig.repository.provider,
      url: stage?.appConfig.repository.url,
    });
  });
});
