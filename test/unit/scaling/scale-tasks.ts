/**
 * The `scale` state machine on the emulated account: its Task handlers on the account's
 * clock, and the account a scaling episode starts from (a cluster whose instances run a
 * given number of service tasks each, alarms in scripted states). Shared by the scale path
 * tests and the workflow-cost benchmark.
 */
import type { ContainerInstance } from '@aws-sdk/client-ecs';
import type { Context } from 'aws-lambda';
import { localLambdaContext } from '../../../sandbox/lambda-context.ts';
import {
  allStates,
  type ExecutionResult,
  loadDefinition,
  runStateMachine,
  type TaskHandlers,
} from '../../../sandbox/state-machines.ts';
import { CONFIG_ENV, type StackpilotConfig } from '../../../shared/config.ts';
import { loadConfigFile } from '../../../shared/config-file.ts';
import { stageNames } from '../../../shared/naming.ts';
import { GUARD_BUCKET_ENV } from '../../../shared/scaling/lease-store.ts';
import {
  createTestAccount,
  direct,
  type TestAccount,
  type TestAccountOptions,
} from '../support/emulated-account.ts';

export const DEV = stageNames('starter', 'dev');
const definition = loadDefinition('scale');
/** How long the `Wait For Drain` state waits, from the ASL. */
const DRAIN_WAIT_MS = Number(allStates(definition)['Wait For Drain']?.Seconds) * 1000;

/** The dev stage of the example configuration, with what a test changes. */
export interface StageChange {
  /** @default the example's t3.micro */
  readonly instanceType?: string;
  /** The app's task CPU units. @default 256 */
  readonly cpu?: number;
  /** The app's task memory (MiB). @default the example's */
  readonly memory?: number;
  /** The cluster's scaling policy. @default the example's (`reservation`) */
  readonly clusterPolicy?: 'reservation' | 'cpu-utilization';
  /** The service's deployment bounds (100/101: ECS can neither start a replacement first nor stop a task first). */
  readonly minHealthyPercent?: number;
  readonly maxPercent?: number;
}

export interface ScaleAccountOptions extends Omit<TestAccountOptions, 'config'> {
  readonly stage?: StageChange;
  /**
   * Service tasks on each instance of the dev cluster, in the order given (the first is
   * the instance the stack launched). @default one instance with the stage's minimum of tasks
   */
  readonly instances?: readonly number[];
  /** The service's desired count, when `instances` is not given (tasks that find no room stay PENDING). */
  readonly serviceDesiredCount?: number;
}

export interface InstanceView {
  readonly ec2InstanceId: string;
  readonly arn: string;
  readonly status: string;
  /** Tasks running or pending on it. */
  readonly tasks: number;
  readonly remaining: { cpu: number; memory: number };
}

export interface ScaleAccount extends TestAccount {
  /** The instance ids, in the order of `instances`. */
  readonly instanceIds: readonly string[];
  /** Scripts what an alarm reports: one state per DescribeAlarms, the last one repeating. */
  script(alarmName: string, states: readonly string[]): void;
  /** Instances terminated while they still ran or expected a task (must stay empty). */
  readonly terminatedWithTasks: string[];
  serviceDesiredCount(): number;
  groupDesired(): number;
  /** The cluster's instances that have not left it. */
  instances(): InstanceView[];
  instance(ec2InstanceId: string): InstanceView | undefined;
  /** The re-armed alarms: every SetAlarmState the code under test made. */
  alarmsSet(): { alarmName: string; state: string; reason: string }[];
  /** Runs the scale state machine with `handlers` (Task state -> handler) on this account's clock. */
  run(
    input: unknown,
    handlers: Record<string, (input: unknown) => unknown>,
    executionName?: string,
  ): Promise<ExecutionResult>;
}

/** The example configuration with the dev stage changed. */
export function scaleConfig(change: StageChange = {}): StackpilotConfig {
  const config = loadConfigFile('stackpilot.yml');
  const app = config.apps.starter;
  const dev = app?.stages.dev;
  if (!app || !dev) throw new Error('the example stackpilot.yml has no starter/dev stage');
  if (change.instanceType) dev.instanceType = change.instanceType;
  if (change.cpu) app.cpu = change.cpu;
  if (change.memory) app.memory = change.memory;
  if (change.clusterPolicy) dev.clusterScaling.policy = change.clusterPolicy;
  if (change.minHealthyPercent !== undefined) dev.deployment.minHealthyPercent = change.minHealthyPercent;
  if (change.maxPercent !== undefined) dev.deployment.maxPercent = change.maxPercent;
  return config;
}

function view(c: ContainerInstance): InstanceView {
  const value = (name: string) => c.remainingResources?.find((r) => r.name === name)?.integerValue ?? 0;
  return {
    ec2InstanceId: c.ec2InstanceId ?? '',
    arn: c.containerInstanceArn ?? '',
    status: c.status ?? '',
    tasks: (c.runningTasksCount ?? 0) + (c.pendingTasksCount ?? 0),
    remaining: { cpu: value('CPU'), memory: value('MEMORY') },
  };
}

/**
 * The account after `cdk deploy` of the example configuration (the dev stage changed as
 * asked), brought to the given layout the way a cluster gets there: instances join one
 * by one, largest share first, and the service grows onto the newest (ECS places a task
 * on the instance with the fewest tasks of the service). Sets the functions' configuration
 * (STACKPILOT_CONFIG_JSON) to the same configuration.
 */
export async function createScaleAccount(options: ScaleAccountOptions = {}): Promise<ScaleAccount> {
  const config = scaleConfig(options.stage);
  process.env[CONFIG_ENV] = JSON.stringify(config);
  const t = await createTestAccount({ ...options, config });
  const ecs = t.account.ecs.commands;
  const instances = () =>
    (
      ecs.DescribeContainerInstances({
        cluster: DEV.cluster,
        containerInstances: ecs.ListContainerInstances({ cluster: DEV.cluster }).containerInstanceArns,
      }).containerInstances ?? []
    ).map(view);
  const running = () => direct.service(t, DEV.cluster, DEV.service);
  // Every task placed and running, and those told to stop gone from their instances.
  const settled = () => {
    const s = running();
    const placed = instances().reduce((sum, i) => sum + i.tasks, 0);
    return (
      s.runningCount === s.desiredCount &&
      s.pendingCount === 0 &&
      s.deployments?.length === 1 &&
      placed === s.desiredCount
    );
  };
  const setDesired = (desiredCount: number) =>
    ecs.UpdateService({ cluster: DEV.cluster, service: DEV.service, desiredCount });

  const instanceIds: string[] = [];
  if (options.instances) {
    const counts = options.instances;
    const order = counts.map((_, i) => i).sort((a, b) => (counts[b] ?? 0) - (counts[a] ?? 0));
    let total = 0;
    for (const [joined, index] of order.entries()) {
      if (joined > 0) {
        t.account.autoScaling.commands.SetDesiredCapacity({
          AutoScalingGroupName: DEV.autoScalingGroup,
          DesiredCapacity: joined + 1,
        });
        direct.until(t, () => instances().length === joined + 1);
      }
      const newest = instances().at(-1)?.ec2InstanceId ?? '';
      instanceIds[index] = newest;
      total += counts[index] ?? 0;
      setDesired(total);
      direct.until(t, settled);
      const placed = instances().find((i) => i.ec2InstanceId === newest)?.tasks;
      if (placed !== counts[index])
        throw new Error(
          `instance ${joined + 1} holds ${placed} tasks, not ${counts[index]}: too small an instance type?`,
        );
    }
  } else {
    instanceIds.push(...instances().map((i) => i.ec2InstanceId));
    if (options.serviceDesiredCount !== undefined) setDesired(options.serviceDesiredCount);
  }

  // Scripted alarms report their script; the others OK (their metrics between the thresholds).
  const scripts = new Map<string, string[]>();
  const terminatedWithTasks: string[] = [];
  const pin = (AlarmName: string, StateValue: string) =>
    t.account.cloudWatch.commands.SetAlarmState({
      AlarmName,
      StateValue: StateValue as 'OK',
      StateReason: 'the state the test scripted',
    });
  t.observers.push((call) => {
    const input = call.input as Record<string, unknown>;
    if (call.command === 'DescribeAlarms') {
      for (const name of (input.AlarmNames as string[] | undefined) ?? []) {
        const states = scripts.get(name);
        pin(name, (states && states.length > 1 ? states.shift() : states?.[0]) ?? 'OK');
      }
    }
    if (call.command === 'SetAlarmState') scripts.set(String(input.AlarmName), [String(input.StateValue)]);
    if (call.command === 'TerminateInstanceInAutoScalingGroup') {
      const instance = instances().find((i) => i.ec2InstanceId === input.InstanceId);
      if (instance && instance.tasks > 0) terminatedWithTasks.push(instance.ec2InstanceId);
    }
  });
  process.env[GUARD_BUCKET_ENV] ??= 'stackpilot-scaling-guard';
  t.account.s3.ensureBucket(process.env[GUARD_BUCKET_ENV] as string);
  t.calls.length = 0;
  t.events.length = 0;

  return Object.assign(t, {
    instanceIds,
    script(alarmName: string, states: readonly string[]) {
      scripts.set(alarmName, [...states]);
    },
    terminatedWithTasks,
    serviceDesiredCount: () => running().desiredCount ?? 0,
    groupDesired: () =>
      t.account.autoScaling.commands.DescribeAutoScalingGroups({
        AutoScalingGroupNames: [DEV.autoScalingGroup],
      }).AutoScalingGroups?.[0]?.DesiredCapacity ?? 0,
    instances,
    instance: (id: string) => instances().find((i) => i.ec2InstanceId === id),
    alarmsSet: () =>
      t.inputs<{ AlarmName: string; StateValue: string; StateReason: string }>('SetAlarmState').map((i) => ({
        alarmName: i.AlarmName,
        state: i.StateValue,
        reason: i.StateReason,
      })),
    run(input: unknown, handlers: Record<string, (input: unknown) => unknown>, executionName?: string) {
      return runStateMachine(definition, input, {
        tasks: scaleTasks(t, handlers),
        executionName: executionName ?? `scale-${Math.random().toString(36).slice(2)}`,
      });
    },
  });
}

/**
 * The handlers on the account's clock: the waits that follow a step pass in emulated time
 * once it returns (the cooldown after a scaling step, the wait after a drain check that
 * found the instance still busy), so the ECS scheduler and the groups move on meanwhile.
 */
export function scaleTasks(
  t: TestAccount,
  handlers: Record<string, (input: unknown) => unknown>,
): TaskHandlers {
  const tasks: TaskHandlers = {};
  for (const [state, handler] of Object.entries(handlers)) {
    tasks[state] = async (input: unknown) => {
      const result = (await handler(input)) as Record<string, unknown> | undefined;
      if (result?.next === 'cool-down' && typeof result.cooldownSeconds === 'number')
        t.advance(result.cooldownSeconds * 1000);
      if (state === 'Check Drain' && result?.status !== 'EMPTY' && result?.status !== 'TIMED_OUT')
        t.advance(DRAIN_WAIT_MS);
      return result;
    };
  }
  return tasks;
}

/** The scale Task handlers of `functions/`, by state, each with a local Lambda context. */
export async function scaleHandlers(
  functions: ReadonlyMap<string, string>,
): Promise<Record<string, (input: unknown) => Promise<unknown>>> {
  const handlers: Record<string, (input: unknown) => Promise<unknown>> = {};
  for (const [state, folder] of functions) {
    const { handler } = (await import(`../../../functions/${folder}/handler.ts`)) as {
      handler: (event: unknown, context: Context) => Promise<unknown>;
    };
    handlers[state] = (input) => handler(input, localLambdaContext(folder, { logStreamName: 'test' }));
  }
  return handlers;
}
