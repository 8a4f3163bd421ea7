/**
 * Section "workflow-cost" of `npm run bench`: state transitions and Lambda invocations per
 * deploy, per release and per scaling episode, counted from the histories of local
 * executions of the real ASL files with the real handlers on the emulated AWS account of
 * the path tests (a manual clock: a 10-minute rollout runs in about a second); then
 * the Step Functions and Lambda price of 1,000 deploys at the list prices of
 * `bench/prices.json`. The reference is the same flow polling at a fixed 15-second interval,
 * computed from the same run's durations: the ratio shows what the backoff saves.
 */

import { readFileSync } from 'node:fs';
import { localLambdaContext } from '../sandbox/lambda-context.ts';
import {
  allStates,
  type ExecutionResult,
  STATE_MACHINES_DIR,
  type StateMachineName,
} from '../sandbox/state-machines.ts';
import { nextPollDelaySeconds } from '../shared/pipeline/backoff.ts';
import { nextWaitSeconds } from '../shared/release/deployment.ts';
import type { BenchRow } from './report.ts';
import {
  ASSUMED_BILLED_MS,
  addCounts,
  countExecution,
  type ExecutionCount,
  functionFolderOf,
  loadPrices,
  priceOf,
} from './workflow-pricing.ts';

/** The release a priced deploy includes. */
const PRICED_ROLLOUT_MINUTES = 2;

const sample = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../events/samples/${name}`, import.meta.url), 'utf8'));

const lambdaContext = (folder: string) =>
  localLambdaContext(folder, { logStreamName: 'bench', remainingTimeMs: 30_000 });

/** Task state name -> the function folder its `${XxxFunctionArn}` placeholder names, from the ASL file. */
export function taskFunctions(name: StateMachineName): Map<string, string> {
  const raw = JSON.parse(readFileSync(`${STATE_MACHINES_DIR}${name}.asl.json`, 'utf8'));
  const out = new Map<string, string>();
  for (const [stateName, state] of Object.entries(allStates(raw))) {
    if (state.Type !== 'Task') continue;
    const resource = String(state.Parameters?.FunctionName ?? state.Resource);
    const placeholder = /^\$\{([A-Za-z0-9_]+)\}$/.exec(resource)?.[1];
    if (!placeholder) throw new Error(`Task state "${stateName}" of ${name} invokes no function placeholder`);
    out.set(stateName, functionFolderOf(placeholder));
  }
  return out;
}

/**
 * Memory (MB) of each state machine function, by folder, as the CDK app configures it:
 * the control-plane stack is built (not bundled) and each state machine's substitutions
 * lead to its functions.
 */
async function configuredMemory(): Promise<Record<string, number>> {
  const { App } = await import('aws-cdk-lib');
  const { CfnFunction } = await import('aws-cdk-lib/aws-lambda');
  const { CfnStateMachine } = await import('aws-cdk-lib/aws-stepfunctions');
  const { PROJECT_ROOT } = await import('../infra/constructs/stackpilot-function.ts');
  const { ControlPlaneStack } = await import('../infra/stacks/control-plane-stack.ts');
  const { loadConfigFile } = await import('../shared/config-file.ts');
  const { context } = JSON.parse(readFileSync(`${PROJECT_ROOT}/cdk.json`, 'utf8')) as { context: object };
  const app = new App({ context: { ...context, 'aws:cdk:bundling-stacks': [] } });
  const stack = new ControlPlaneStack(app, 'StackpilotControlPlane', {
    config: loadConfigFile(`${PROJECT_ROOT}/stackpilot.yml`),
  });
  const byLogicalId = new Map<string, number>();
  for (const c of stack.node.findAll()) {
    // A function without memorySize gets Lambda's default of 128 MB.
    if (c instanceof CfnFunction) byLogicalId.set(stack.getLogicalId(c), stack.resolve(c.memorySize) ?? 128);
  }
  const memory: Record<string, number> = {};
  // Functions outside the state machines (the relay, an EventBridge target), by their service name.
  for (const c of stack.node.findAll()) {
    if (!(c instanceof CfnFunction)) continue;
    const variables = (stack.resolve(c.environment) as { variables?: Record<string, unknown> } | undefined)
      ?.variables;
    const service = variables?.POWERTOOLS_SERVICE_NAME;
    if (typeof service === 'string' && service.startsWith('stackpilot-'))
      memory[service.slice('stackpilot-'.length)] = stack.resolve(c.memorySize) ?? 128;
  }
  for (const c of stack.node.findAll()) {
    if (!(c instanceof CfnStateMachine)) continue;
    const substitutions = stack.resolve(c.definitionSubstitutions) as Record<string, unknown>;
    for (const [placeholder, value] of Object.entries(substitutions ?? {})) {
      const logicalId = (value as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt']?.[0];
      const mb = logicalId ? byLogicalId.get(logicalId) : undefined;
      if (mb !== undefined) memory[functionFolderOf(placeholder)] = mb;
    }
  }
  return memory;
}

function succeeded(what: string, result: ExecutionResult): ExecutionResult {
  if (result.status !== 'SUCCEEDED') {
    throw new Error(`${what}: the execution failed (${result.error}: ${result.cause}); no figure measured`);
  }
  return result;
}

interface Measured {
  readonly count: ExecutionCount;
}

/** Builds (pipeline runs) the deploy's wait is measured for. */
export const WAIT_MINUTES = [2, 10, 30] as const;
/**
 * Rollouts the release's wait is measured for: the example dev stage gives up on a rollout
 * after 18 minutes (15 + a 3-minute bake), so its longest measurable rollout is 15 minutes.
 */
export const ROLLOUT_MINUTES = [2, 10, 15] as const;

/** A deploy or release measured with callbacks: what it billed and how fast it saw the end. */
interface CallbackMeasured extends Measured {
  /** Wall-clock milliseconds from the relay receiving the end event to the next state entered. */
  readonly detectionMs?: number;
}

/**
 * One deploy whose pipeline runs `minutes` of virtual time: the real ASL with the real Start
 * Pipeline, await-event, relay and Check Pipeline handlers, on a mocked CodePipeline and an
 * in-memory S3 and Step Functions (the runner's task tokens). While the deploy waits, virtual
 * time jumps to the pipeline's end (the relay gets the end event) or by HeartbeatSeconds (the
 * fallback check), whichever comes first.
 */
async function measureDeploy(minutes: number): Promise<CallbackMeasured> {
  const { CodePipelineClient, GetPipelineExecutionCommand, StartPipelineExecutionCommand } = await import(
    '@aws-sdk/client-codepipeline'
  );
  const { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } = await import(
    '@aws-sdk/client-s3'
  );
  const { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient } = await import('@aws-sdk/client-sfn');
  const { mockClient } = await import('aws-sdk-client-mock');
  const { clients } = await import('../shared/aws/clients.ts');
  const { waitRequestSchema } = await import('../shared/callbacks/model.ts');
  const { awaitEvent, relayTaskEvent } = await import('../shared/callbacks/steps.ts');
  const { checkPipeline, checkPipelineInputSchema, pipelineDeps } = await import(
    '../shared/pipeline/steps.ts'
  );
  const { handler: startPipeline } = await import('../functions/start-pipeline/handler.ts');
  const { loadDefinition, runStateMachine, TaskTokens } = await import('../sandbox/state-machines.ts');
  const { parseInput, toTaskError } = await import('../shared/errors.ts');

  const definition = loadDefinition('deploy');
  const heartbeatSeconds = Number(definition.States['Wait For Pipeline'].HeartbeatSeconds);
  const doneAfterSeconds = minutes * 60;
  const bucket = 'stackpilot-sources-bench';
  const callbacks = { clients, now: () => new Date(), bucket };
  let elapsed = 0;
  let startedAtMs = Date.now();
  let relayedAt: number | undefined;
  const tokens = new TaskTokens();
  const objects = new Map<string, string>();
  const codePipeline = mockClient(CodePipelineClient);
  const s3 = mockClient(S3Client);
  const sfn = mockClient(SFNClient);
  const task =
    // biome-ignore lint/suspicious/noExplicitAny: step inputs are JSON.
      <T>(fn: (input: any) => Promise<T>) =>
      async (input: unknown) => {
        try {
          return await fn(input);
        } catch (error) {
          throw toTaskError(error);
        }
      };
  try {
    codePipeline.on(StartPipelineExecutionCommand).resolves({ pipelineExecutionId: 'bench-1' });
    codePipeline.on(GetPipelineExecutionCommand).callsFake(() => ({
      pipelineExecution: {
        pipelineExecutionId: 'bench-1',
        status: elapsed >= doneAfterSeconds ? 'Succeeded' : 'InProgress',
      },
    }));
    s3.on(PutObjectCommand).callsFake((input) => {
      objects.set(input.Key, String(input.Body));
      return {};
    });
    s3.on(GetObjectCommand).callsFake((input) => {
      const body = objects.get(input.Key);
      if (body === undefined)
        throw Object.assign(new Error('NoSuchKey'), {
          name: 'NoSuchKey',
          $metadata: { httpStatusCode: 404 },
        });
      return { Body: { transformToString: async () => body } };
    });
    s3.on(DeleteObjectCommand).callsFake((input) => {
      objects.delete(input.Key);
      return {};
    });
    sfn.on(SendTaskSuccessCommand).callsFake((input) => {
      tokens.success(input.taskToken, input.output);
      return {};
    });
    sfn.on(SendTaskFailureCommand).callsFake((input) => {
      tokens.failure(input.taskToken, input.error, input.cause);
      return {};
    });
    const pipelineEvent = sample('codepipeline-execution-state-change.json') as { detail: object };
    const tasks = {
      // Package Source has its own benchmark (section 1): a stand-in that honours its contract.
      'Package Source': (input: { app: string; stage: string; commit: string }) => ({
        bucket: 'stackpilot-sources',
        key: `sources/${input.app}/${input.stage}/source.zip`,
        versionId: 'v3.bench',
        commit: input.commit,
        bytes: 48_213,
        files: 37,
      }),
      'Start Pipeline': async (input: unknown) => {
        const started = await startPipeline(input, lambdaContext('start-pipeline'));
        startedAtMs = Date.parse((started as { startedAt: string }).startedAt);
        return started;
      },
      'Wait For Pipeline': task(async (payload: { token: string; id: string }) => {
        const result = await awaitEvent(parseInput(waitRequestSchema, payload, 'Wait input'), callbacks);
        if (doneAfterSeconds - elapsed <= heartbeatSeconds) {
          elapsed = doneAfterSeconds;
          const event = {
            ...pipelineEvent,
            time: new Date(startedAtMs + elapsed * 1000).toISOString(),
            detail: { ...pipelineEvent.detail, 'execution-id': payload.id, state: 'SUCCEEDED' },
          };
          setImmediate(() => {
            relayedAt = performance.now();
            void relayTaskEvent(event, callbacks);
          });
        } else {
          elapsed += heartbeatSeconds;
          setImmediate(() => tokens.timeOut(payload.token));
        }
        return result;
      }),
      'Check Pipeline': task((input: unknown) =>
        checkPipeline(parseInput(checkPipelineInputSchema, input, 'Check Pipeline input'), {
          ...pipelineDeps(),
          now: () => new Date(startedAtMs + elapsed * 1000),
        }),
      ),
    };
    let resumedAt: number | undefined;
    const result = succeeded(
      `deploy with a ${minutes}-minute pipeline`,
      await runStateMachine(definition, sample('deploy-input.json'), {
        tasks,
        executionName: 'bench-deploy',
        taskTokens: tokens,
        onEvent: (event) => {
          if (event.type === 'StateEntered' && event.state.name === 'Deployed') resumedAt = performance.now();
        },
      }),
    );
    const functions = taskFunctions('deploy');
    const count = countExecution(result.events, (s) => functions.get(s));
    return {
      // The relay is invoked once per end event, outside the execution's history.
      count: withRelay(count),
      ...(relayedAt !== undefined && resumedAt !== undefined ? { detectionMs: resumedAt - relayedAt } : {}),
    };
  } finally {
    codePipeline.restore();
    s3.restore();
    sfn.restore();
  }
}

/** One relay invocation more (the end event's). */
function withRelay(count: ExecutionCount): ExecutionCount {
  return addCounts(count, {
    transitions: 0,
    invocations: 1,
    invocationsByFunction: { 'relay-task-event': 1 },
  });
}

/**
 * One release whose tasks take `minutes` to start, on the emulated account of the path tests:
 * the account's deployment events reach the real relay; HeartbeatSeconds pass on its clock.
 */
async function measureRelease(minutes: number): Promise<CallbackMeasured> {
  const { createReleaseAccount } = await import('../test/unit/release/release-tasks.ts');
  const account = await createReleaseAccount();
  try {
    const doneAfterSeconds = minutes * 60;
    account.account.ecs.planDeployments(account.cluster, account.service, { startSeconds: doneAfterSeconds });
    const result = succeeded(
      `release with a ${minutes}-minute rollout`,
      await account.release(sample('release-input.json'), `bench-release-${minutes}`),
    );
    const functions = taskFunctions('release');
    return { count: withRelay(countExecution(result.events, (s) => functions.get(s))) };
  } finally {
    account.dispose();
  }
}

/**
 * The reference: the same deploy polling its pipeline on the backoff schedule it used before
 * callbacks (`shared/pipeline/backoff.ts`: 10 s growing x1.5 to 120 s). Package Source, Start
 * Pipeline, then a (Check, Choice) per look and a Wait between looks, then Deployed. Returns
 * the count and how late the last look sees the end.
 */
export function pollingDeploy(doneAfterSeconds: number): { count: ExecutionCount; lateSeconds: number } {
  let t = 0;
  let looks = 1;
  while (t < doneAfterSeconds) {
    t += nextPollDelaySeconds(t);
    looks++;
  }
  return {
    count: {
      transitions: 2 + 2 * looks + (looks - 1) + 1,
      invocations: 2 + looks,
      invocationsByFunction: { 'package-source': 1, 'start-pipeline': 1, 'check-pipeline': looks },
    },
    lateSeconds: t - doneAfterSeconds,
  };
}

/**
 * The reference: the same release polling its deployment as it did before callbacks
 * (`shared/release/deployment.ts`: waits of half the elapsed time, at least 15 s). Read Input,
 * Prepare, Rollback Or Release?, Register, Needs Deployment?, Update Service, a (Wait, Check,
 * Choice) per look, Record Release, Released.
 */
export function pollingRelease(doneAfterSeconds: number): { count: ExecutionCount; lateSeconds: number } {
  const deadline = 24 * 3600;
  let t = 0;
  let looks = 0;
  do {
    t += nextWaitSeconds(t, deadline - t);
    looks++;
  } while (t < doneAfterSeconds);
  return {
    count: {
      transitions: 6 + 3 * looks + 2,
      invocations: 4 + looks,
      invocationsByFunction: {
        'prepare-release': 1,
        'register-task-definition': 1,
        'update-service': 1,
        'check-deployment': looks,
        'record-release': 1,
      },
    },
    lateSeconds: t - doneAfterSeconds,
  };
}

/** The p-th percentile (0..100) of values, nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) throw new Error('no values');
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

/** The scaling episodes, on the scale path tests' emulated account. */
interface Episode {
  readonly name: string;
  readonly account: {
    serviceDesiredCount?: number;
    instances?: number[];
    stage?: { instanceType?: string };
  };
  readonly alarm: { target: 'service' | 'cluster'; direction: 'out' | 'in' };
  /** States the alarm reports after each cooldown. */
  readonly alarmStates: string[];
  /** The command the episode must have sent, and how many times: else it measured another path. */
  readonly expect: { readonly command: string; readonly times: number };
}

const EPISODES: readonly Episode[] = [
  {
    name: 'scale: one scale-out step',
    account: { serviceDesiredCount: 1 },
    alarm: { target: 'service', direction: 'out' },
    alarmStates: ['OK'],
    expect: { command: 'UpdateService', times: 1 },
  },
  {
    name: 'scale: 3-step scale-out episode',
    account: { serviceDesiredCount: 1 },
    alarm: { target: 'service', direction: 'out' },
    alarmStates: ['ALARM', 'ALARM', 'OK'],
    expect: { command: 'UpdateService', times: 3 },
  },
  {
    name: 'scale: scale-in with drain',
    // Three t3.large instances (room for eight tasks each) running 3, 1 and 2 tasks.
    account: { instances: [3, 1, 2], stage: { instanceType: 't3.large' } },
    alarm: { target: 'cluster', direction: 'in' },
    alarmStates: ['OK'],
    expect: { command: 'TerminateInstanceInAutoScalingGroup', times: 1 },
  },
];

/** Measures one episode; undefined (and a note on stderr) when the episode did not take its path. */
async function measureEpisode(episode: Episode): Promise<Measured | undefined> {
  const { createScaleAccount, DEV, scaleHandlers } = await import('../test/unit/scaling/scale-tasks.ts');
  const { GUARD_BUCKET_ENV } = await import('../shared/scaling/lease-store.ts');
  process.env[GUARD_BUCKET_ENV] = 'stackpilot-scaling-guard-bench';
  const functions = taskFunctions('scale');
  const handlers = await scaleHandlers(functions);
  const alarmName = DEV.alarm(episode.alarm.target, episode.alarm.direction);
  const event = structuredClone(sample('cloudwatch-alarm-state-change.json')) as {
    resources: string[];
    detail: { alarmName: string; state: { value: string } };
  };
  event.detail.alarmName = alarmName;
  event.detail.state.value = 'ALARM';
  event.resources = [`arn:aws:cloudwatch:us-east-1:111122223333:alarm:${alarmName}`];
  const account = await createScaleAccount(episode.account);
  try {
    account.script(alarmName, episode.alarmStates);
    const result = succeeded(
      episode.name,
      await account.run(event, handlers, `bench-${episode.name.replace(/[^a-z0-9]+/gi, '-')}`),
    );
    const sent = account.count(episode.expect.command);
    if (sent !== episode.expect.times) {
      process.stderr.write(
        `bench: ${episode.name} left out: it sent ${episode.expect.command} ${sent} times, not ${episode.expect.times} (${result.statesEntered.join(' -> ')})\n`,
      );
      return undefined;
    }
    return { count: countExecution(result.events, (s) => functions.get(s)) };
  } finally {
    account.dispose();
  }
}

/**
 * Sets what the functions read at cold start and silences their logger (thousands of lines
 * would bury the table); returns a function that puts the environment and the level back.
 * The reaction section uses it too.
 */
export async function functionEnvironment(): Promise<() => void> {
  const { CONFIG_ENV } = await import('../shared/config.ts');
  const { loadConfigFile } = await import('../shared/config-file.ts');
  const { PROJECT_ROOT } = await import('../infra/constructs/stackpilot-function.ts');
  const { logger } = await import('../shared/powertools.ts');
  const saved = { ...process.env };
  const level = logger.getLevelName();
  Object.assign(process.env, {
    [CONFIG_ENV]: JSON.stringify(loadConfigFile(`${PROJECT_ROOT}/stackpilot.yml`)),
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'bench',
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'bench',
    POWERTOOLS_TRACE_ENABLED: 'false',
  });
  // Each warm invocation of a wrapped handler resets the level to the logger's initial one:
  // that is the one to set.
  const silence = (name: string) => {
    (logger as unknown as { setInitialLogLevel(level: string): void }).setInitialLogLevel(name);
    logger.setLogLevel(name as 'SILENT');
  };
  silence('SILENT');
  return () => {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
    silence(level);
  };
}

const CENTS = 100;

/** Runs the section: one row per figure. */
export async function benchWorkflowCost(): Promise<BenchRow[]> {
  const restore = await functionEnvironment();
  try {
    const prices = loadPrices();
    const memory = await configuredMemory();
    const rows: BenchRow[] = [];
    const reference = 'polling';
    const countRows = (name: string, ours: ExecutionCount, ref: ExecutionCount) =>
      rows.push(
        {
          name: `${name}: state transitions (ref: ${reference})`,
          unit: 'transitions',
          ours: ours.transitions,
          reference: ref.transitions,
        },
        {
          name: `${name}: Lambda invocations, relay included (ref: ${reference})`,
          unit: 'invocations',
          ours: ours.invocations,
          reference: ref.invocations,
        },
      );

    const deploys = new Map<number, ExecutionCount>();
    const releases = new Map<number, ExecutionCount>();
    const detection: number[] = [];
    for (const minutes of WAIT_MINUTES) {
      const deploy = await measureDeploy(minutes);
      if (deploy.detectionMs !== undefined) detection.push(deploy.detectionMs);
      deploys.set(minutes, deploy.count);
      countRows(`deploy (${minutes}-min build)`, deploy.count, pollingDeploy(minutes * 60).count);
    }
    for (const minutes of ROLLOUT_MINUTES) {
      const release = await measureRelease(minutes);
      releases.set(minutes, release.count);
      countRows(`release (${minutes}-min rollout)`, release.count, pollingRelease(minutes * 60).count);
    }
    // Detection: more short deploys for the spread of the local path (relay -> SendTaskSuccess -> next state).
    for (let i = 0; i < 17; i++) {
      const deploy = await measureDeploy(2);
      if (deploy.detectionMs !== undefined) detection.push(deploy.detectionMs);
    }
    // The polling reference: how late the next look comes, over ends spread second by second from 1 to 30 minutes.
    const ends = Array.from({ length: 29 * 60 + 1 }, (_, i) => 60 + i);
    const pipelineLate = ends.map((end) => pollingDeploy(end).lateSeconds * 1000);
    const rolloutLate = ends.map((end) => pollingRelease(end).lateSeconds * 1000);
    for (const p of [50, 95]) {
      rows.push(
        {
          name: `detection latency p${p}: pipeline end event -> deploy resumes, local relay and runner, EventBridge delivery not included (ref: polling, ends 1-30 min)`,
          unit: 'ms',
          ours: percentile(detection, p),
          reference: percentile(pipelineLate, p),
        },
        {
          name: `detection latency p${p}: rollout end event -> release resumes, same path as the deploy's (ref: polling, ends 1-30 min)`,
          unit: 'ms',
          ours: percentile(detection, p),
          reference: percentile(rolloutLate, p),
        },
      );
    }
    for (const episode of EPISODES) {
      const measured = await measureEpisode(episode);
      if (!measured) continue;
      const { count } = measured;
      rows.push(
        { name: `${episode.name}: state transitions`, unit: 'transitions', ours: count.transitions },
        { name: `${episode.name}: Lambda invocations`, unit: 'invocations', ours: count.invocations },
      );
    }

    for (const minutes of WAIT_MINUTES) {
      const deploy = deploys.get(minutes) as ExecutionCount;
      const release = releases.get(PRICED_ROLLOUT_MINUTES) as ExecutionCount;
      const ours = priceOf(addCounts(deploy, release), memory, prices, 1000);
      const polled = priceOf(
        addCounts(pollingDeploy(minutes * 60).count, pollingRelease(PRICED_ROLLOUT_MINUTES * 60).count),
        memory,
        prices,
        1000,
      );
      const billed = `Package Source ${ASSUMED_BILLED_MS['package-source']} ms, other steps ${ASSUMED_BILLED_MS.default} ms each`;
      rows.push({
        name: `1,000 deploys (${minutes}-min build + ${PRICED_ROLLOUT_MINUTES}-min rollout), ${prices.region} ${prices.date} list prices, Step Functions + Lambda (${billed}) (ref: ${reference})`,
        unit: 'US cents',
        ours: ours.total * CENTS,
        reference: polled.total * CENTS,
      });
    }
    return rows;
  } finally {
    restore();
  }
}
