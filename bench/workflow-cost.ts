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
import type { BenchRow } from './report.ts';
import {
  ASSUMED_BILLED_MS,
  addCounts,
  countExecution,
  type ExecutionCount,
  fixedPollCount,
  functionFolderOf,
  loadPrices,
  type PollLoop,
  priceOf,
  REFERENCE_POLL_SECONDS,
} from './workflow-pricing.ts';

/** How long the emulated pipeline of a deploy runs (source, build, release action). */
export const PIPELINE_MINUTES = 6;
/** The rollouts a release is measured for. */
export const ROLLOUT_MINUTES = [2, 10] as const;
/** The release a priced deploy includes. */
const PRICED_ROLLOUT_MINUTES = 2;
/** A turn of each waiting loop: Wait, Check, Choice. */
const STATES_PER_TURN = 3;

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

const entered = (result: ExecutionResult, state: string) =>
  result.statesEntered.filter((s) => s === state).length;

interface Measured {
  readonly count: ExecutionCount;
  readonly loop?: PollLoop;
}

/** One deploy execution whose pipeline runs `minutes`, on a mocked CodePipeline and a virtual clock. */
async function measureDeploy(minutes: number): Promise<Measured> {
  const { CodePipelineClient, GetPipelineExecutionCommand, StartPipelineExecutionCommand } = await import(
    '@aws-sdk/client-codepipeline'
  );
  const { mockClient } = await import('aws-sdk-client-mock');
  const { checkPipeline } = await import('../functions/check-pipeline/handler.ts');
  const { handler: startPipeline } = await import('../functions/start-pipeline/handler.ts');
  const { loadDefinition, runStateMachine } = await import('../sandbox/state-machines.ts');
  const { toTaskError } = await import('../shared/errors.ts');

  const doneAfterSeconds = minutes * 60;
  // Virtual seconds since the pipeline started; each Check first moves it by the wait before it.
  let elapsed = 0;
  let pendingWait = 0;
  let startedAtMs: number | undefined;
  const codePipeline = mockClient(CodePipelineClient);
  try {
    codePipeline.on(StartPipelineExecutionCommand).resolves({ pipelineExecutionId: 'bench-1' });
    codePipeline.on(GetPipelineExecutionCommand).callsFake(() => ({
      pipelineExecution: {
        pipelineExecutionId: 'bench-1',
        status: elapsed >= doneAfterSeconds ? 'Succeeded' : 'InProgress',
      },
    }));
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
      'Start Pipeline': (input: unknown) => startPipeline(input, lambdaContext('start-pipeline')),
      'Check Pipeline': async (input: { startedAt: string }) => {
        startedAtMs ??= Date.parse(input.startedAt);
        elapsed += pendingWait;
        pendingWait = 0;
        try {
          const check = await checkPipeline(input, { now: () => (startedAtMs as number) + elapsed * 1000 });
          if (!check.done) pendingWait = check.nextWaitSeconds;
          return check;
        } catch (error) {
          throw toTaskError(error);
        }
      },
    };
    const result = succeeded(
      `deploy with a ${minutes}-minute pipeline`,
      await runStateMachine(loadDefinition('deploy'), sample('deploy-input.json'), {
        tasks,
        executionName: 'bench-deploy',
      }),
    );
    const functions = taskFunctions('deploy');
    return {
      count: countExecution(result.events, (s) => functions.get(s)),
      loop: { waits: entered(result, 'Wait For Pipeline'), doneAfterSeconds, statesPerTurn: STATES_PER_TURN },
    };
  } finally {
    codePipeline.restore();
  }
}

/** One release execution whose tasks take `minutes` to start, on the emulated account of the path tests. */
async function measureRelease(minutes: number): Promise<Measured> {
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
    return {
      count: countExecution(result.events, (s) => functions.get(s)),
      loop: {
        waits: entered(result, 'Wait For Deployment'),
        doneAfterSeconds,
        statesPerTurn: STATES_PER_TURN,
      },
    };
  } finally {
    account.dispose();
  }
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
  const { CONFIG_ENV, resetRuntimeConfig } = await import('../shared/config.ts');
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
  resetRuntimeConfig();
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
    resetRuntimeConfig();
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
    const reference = `fixed ${REFERENCE_POLL_SECONDS}-s poll`;
    const withReference = (name: string, measured: Measured, checkFunction: string) => {
      const ref = fixedPollCount(measured.count, measured.loop as PollLoop, checkFunction);
      rows.push(
        {
          name: `${name}: state transitions (ref: ${reference})`,
          unit: 'transitions',
          ours: measured.count.transitions,
          reference: ref.transitions,
        },
        {
          name: `${name}: Lambda invocations (ref: ${reference})`,
          unit: 'invocations',
          ours: measured.count.invocations,
          reference: ref.invocations,
        },
      );
      return ref;
    };

    const deploy = await measureDeploy(PIPELINE_MINUTES);
    const deployRef = withReference(`deploy (${PIPELINE_MINUTES}-min pipeline)`, deploy, 'check-pipeline');
    const releases = new Map<number, { measured: Measured; ref: ExecutionCount }>();
    for (const minutes of ROLLOUT_MINUTES) {
      const measured = await measureRelease(minutes);
      const ref = withReference(`release (${minutes}-min rollout)`, measured, 'check-deployment');
      releases.set(minutes, { measured, ref });
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

    const release = releases.get(PRICED_ROLLOUT_MINUTES);
    if (!release) throw new Error(`no release measured for a ${PRICED_ROLLOUT_MINUTES}-minute rollout`);
    const ours = priceOf(addCounts(deploy.count, release.measured.count), memory, prices, 1000);
    const polled = priceOf(addCounts(deployRef, release.ref), memory, prices, 1000);
    const label = `1,000 deploys (${PIPELINE_MINUTES}-min pipeline + ${PRICED_ROLLOUT_MINUTES}-min rollout), ${prices.region} ${prices.date} list prices`;
    const billed = `Package Source ${ASSUMED_BILLED_MS['package-source']} ms, other steps ${ASSUMED_BILLED_MS.default} ms each`;
    rows.push(
      {
        name: `${label}: Step Functions (ref: ${reference})`,
        unit: 'US cents',
        ours: ours.stepFunctions * CENTS,
        reference: polled.stepFunctions * CENTS,
      },
      {
        name: `${label}: Lambda requests + GB-s (${billed}) (ref: ${reference})`,
        unit: 'US cents',
        ours: (ours.lambdaRequests + ours.lambdaCompute) * CENTS,
        reference: (polled.lambdaRequests + polled.lambdaCompute) * CENTS,
      },
      {
        name: `${label}: total (ref: ${reference})`,
        unit: 'US cents',
        ours: ours.total * CENTS,
        reference: polled.total * CENTS,
      },
    );
    return rows;
  } finally {
    restore();
  }
}
