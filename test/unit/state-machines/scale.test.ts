/**
 * Path tests of `state-machines/scale.asl.json`: the real ASL run locally, with the real
 * step handlers on the real adapters, against the sandbox's emulated account
 * (`test/unit/scaling/scale-tasks.ts`): its ECS places and moves tasks where they fit and
 * drains instances over emulated time, its Auto Scaling groups launch and terminate
 * instances; the alarms report the states each test scripts. One case per path.
 */
import { readFileSync } from 'node:fs';
import type { Context } from 'aws-lambda';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { handler as acquireLease } from '../../../functions/acquire-scaling-lease/handler.ts';
import { handler as checkDrain } from '../../../functions/check-drain/handler.ts';
import { handler as drainInstance } from '../../../functions/drain-instance/handler.ts';
import { handler as interpret } from '../../../functions/interpret-scaling-event/handler.ts';
import { handler as readAlarmState } from '../../../functions/read-alarm-state/handler.ts';
import { handler as rearmAlarms } from '../../../functions/rearm-scaling-alarms/handler.ts';
import { handler as releaseLease } from '../../../functions/release-scaling-lease/handler.ts';
import { handler as restoreInstance } from '../../../functions/restore-instance/handler.ts';
import { handler as scaleClusterOut } from '../../../functions/scale-cluster-out/handler.ts';
import { handler as scaleService } from '../../../functions/scale-service/handler.ts';
import { handler as terminateInstance } from '../../../functions/terminate-instance/handler.ts';
import {
  allStates,
  type ExecutionResult,
  loadDefinition,
  placeholdersOf,
} from '../../../sandbox/state-machines.ts';
import { leaseKey } from '../../../shared/scaling/guard.ts';
import { GUARD_BUCKET_ENV } from '../../../shared/scaling/lease-store.ts';
import {
  createScaleAccount,
  DEV,
  type ScaleAccount,
  type ScaleAccountOptions,
  type StageChange,
} from '../scaling/scale-tasks.ts';
import { RETRYABLE_ERRORS } from '../support/asl.ts';
import { type AwsErrorSpec, direct, EPOCH, throttling } from '../support/emulated-account.ts';

const sample = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../../events/samples/${name}`, import.meta.url), 'utf8'));
const alarmSample = sample('cloudwatch-alarm-state-change.json');
const placementSample = sample('ecs-task-placement-failure.json');
const operatorSample = sample('scale-operator.json');

/** The docs' alarm event, for another alarm name, state or transition time. */
function alarmEvent(alarmName: string, state = 'ALARM', timestamp = '2019-10-02T17:04:40.989+0000') {
  const event = structuredClone(alarmSample);
  event.detail.alarmName = alarmName;
  event.resources = [`arn:aws:cloudwatch:us-east-1:111122223333:alarm:${alarmName}`];
  event.detail.state.value = state;
  event.detail.state.timestamp = timestamp;
  return event;
}

const context = {
  functionName: 'stackpilot-scale-test',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:stackpilot-scale-test',
  memoryLimitInMB: '256',
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
  logGroupName: '/aws/lambda/stackpilot-scale-test',
  logStreamName: 'test',
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => 30_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
} as Context;

const HANDLERS = {
  'Interpret Event': interpret,
  'Acquire Lease': acquireLease,
  'Scale Service': scaleService,
  'Scale Cluster Out': scaleClusterOut,
  'Read Alarm State': readAlarmState,
  'Drain Instance': drainInstance,
  'Check Drain': checkDrain,
  'Terminate Instance': terminateInstance,
  'Restore Instance': restoreInstance,
  'Restore Instance After Error': restoreInstance,
  'Release Lease After Failure': releaseLease,
  'Release Lease': releaseLease,
  'Re-arm Alarms': rearmAlarms,
} as const;

const definition = loadDefinition('scale');
let invocations = 0;

/** Runs one execution with the real handlers; counts Lambda invocations (retries included). */
function run(
  input: unknown,
  executionName = `scale-${Math.random().toString(36).slice(2)}`,
): Promise<ExecutionResult> {
  const handlers: Record<string, (input: unknown) => unknown> = {};
  for (const [state, handler] of Object.entries(HANDLERS)) {
    handlers[state] = (payload: unknown) => {
      invocations++;
      return (handler as (e: unknown, c: Context) => Promise<unknown>)(payload, context);
    };
  }
  return account.run(input, handlers, executionName);
}

/** A layout's drain behaviour and room per instance, turned into instance types and deployment bounds. */
interface AccountOptions extends Omit<ScaleAccountOptions, 'stage'> {
  /**
   * 0: the service's tasks never leave a DRAINING instance: deployment bounds 100/101, so ECS
   * (minimum rounded up, maximum rounded down) may neither stop a task first nor start a
   * replacement first. CDK refuses equal bounds.
   */
  readonly drainRate?: number;
  /** How many tasks an instance has room for. @default 10 when `instances` is given, else the example's t3.micro (1) */
  readonly slotsPerInstance?: number;
  readonly clusterPolicy?: 'reservation' | 'cpu-utilization';
}

/** The instance type and task size giving `slots` tasks per instance (CPU-bound on a t3.large, 2048 units, otherwise). */
function stageFor(slots: number | undefined, layout: boolean): StageChange {
  // 512 MiB tasks: one fits a t3.micro (943 MiB), three a t3.small (1939 MiB).
  if (slots === 1) return { instanceType: 't3.micro', memory: 512 };
  if (slots === 3) return { instanceType: 't3.small', memory: 512 };
  if (slots === undefined) return layout ? stageFor(10, layout) : {};
  return { instanceType: 't3.large', cpu: Math.floor(2048 / slots) };
}

let account: ScaleAccount;
const accounts: ScaleAccount[] = [];
async function useAccount(options: AccountOptions = {}): Promise<ScaleAccount> {
  const { drainRate, slotsPerInstance, clusterPolicy, ...rest } = options;
  account = await createScaleAccount({
    ...rest,
    stage: {
      ...stageFor(slotsPerInstance, options.instances !== undefined),
      ...(drainRate === 0 && { minHealthyPercent: 100, maxPercent: 101 }),
      ...(clusterPolicy && { clusterPolicy }),
    },
    onTime: (now) => vi.setSystemTime(now),
  });
  accounts.push(account);
  return account;
}

beforeEach(async () => {
  // The handlers read time from Date (lease expiries, drain deadlines): it follows the emulated clock.
  vi.useFakeTimers({ toFake: ['Date'], now: EPOCH });
  process.env[GUARD_BUCKET_ENV] = 'stackpilot-scaling-guard-test';
  invocations = 0;
  await useAccount();
});
afterEach(() => {
  for (const a of accounts.splice(0)) a.dispose();
  vi.useRealTimers();
});

const guardKeys = () => direct.keys(account, 'stackpilot-scaling-guard-test', '');
const leaseHeld = () =>
  guardKeys().includes(leaseKey('starter', 'dev', 'service')) ||
  guardKeys().includes(leaseKey('starter', 'dev', 'cluster'));
const times = (n: number, spec: AwsErrorSpec) => Array.from({ length: n }, () => spec);

describe('scale state machine: service', () => {
  it('routes the docs alarm sample to Scale Service and scales out once when the alarm is OK after the cooldown', async () => {
    await useAccount({ serviceDesiredCount: 1 });
    account.script(DEV.alarm('service', 'out'), ['OK']);
    const result = await run(alarmSample);
    expect(result.status).toBe('SUCCEEDED');
    expect(account.serviceDesiredCount()).toBe(2);
    expect(result.statesEntered).toEqual([
      'Interpret Event',
      'Anything To Do?',
      'Acquire Lease',
      'Lease Acquired?',
      'Route Scaling',
      'Scale Service',
      'After Scaling Step',
      'Cool Down',
      'Triggered By Alarm?',
      'Read Alarm State',
      'Still In Alarm?',
      'Release Lease',
      'Capacity Changed?',
      'Re-arm Alarms',
      'Done',
    ]);
    expect(result.output.ScaleResult).toMatchObject({ from: 1, to: 2, changed: true, cooldownSeconds: 60 });
    expect(result.output.AlarmResult).toMatchObject({ state: 'OK', next: 'stop' });
    expect(result.output.RearmResult).toMatchObject({ rearmed: [] });
    expect(account.count('SetAlarmState')).toBe(0);
    expect(leaseHeld()).toBe(false);
    expect({ transitions: result.transitions, invocations }).toEqual({ transitions: 15, invocations: 6 });
  });

  it('scales out repeatedly while the alarm stays in ALARM and stops at the maximum of 5 tasks', async () => {
    await useAccount({ serviceDesiredCount: 1 });
    account.script(DEV.alarm('service', 'out'), ['ALARM']);
    const result = await run(alarmSample);
    expect(result.status).toBe('SUCCEEDED');
    expect(account.serviceDesiredCount()).toBe(5);
    expect(account.count('UpdateService')).toBe(4);
    expect(result.statesEntered.filter((s) => s === 'Scale Service')).toHaveLength(4);
    // The last step reaches the bound: no cooldown after it, no fifth UpdateService.
    expect(result.output.ScaleResult).toMatchObject({ from: 4, to: 5, atBound: true, next: 'stop' });
    expect(leaseHeld()).toBe(false);
  });

  it('measures a 3-step scale-out episode (alarm in ALARM for two cooldowns)', async () => {
    await useAccount({ serviceDesiredCount: 1 });
    account.script(DEV.alarm('service', 'out'), ['ALARM', 'ALARM', 'OK']);
    const result = await run(alarmSample);
    expect(account.serviceDesiredCount()).toBe(4);
    expect({ transitions: result.transitions, invocations }).toEqual({ transitions: 29, invocations: 10 });
  });

  it('never sets a desired count the cluster cannot hold at its maximum of instances, and raises the group first', async () => {
    // 512 MiB tasks: one per t3.micro; 3 instances hold 3 tasks, one slot kept for a rolling deploy.
    await useAccount({ slotsPerInstance: 1, serviceDesiredCount: 1 });
    account.script(DEV.alarm('service', 'out'), ['ALARM']);
    const result = await run(alarmSample);
    expect(result.status).toBe('SUCCEEDED');
    expect(account.serviceDesiredCount()).toBe(2);
    expect(result.output.ScaleResult).toMatchObject({ to: 2, atBound: true, next: 'stop' });
    // The group was raised to what 2 tasks and the deploy's slot need before the tasks asked for it.
    expect(account.groupDesired()).toBe(3);
    expect(leaseHeld()).toBe(false);
  });

  it('makes no UpdateService call at the bound and says why', async () => {
    await useAccount({ serviceDesiredCount: 5 });
    const result = await run(alarmSample);
    expect(result.status).toBe('SUCCEEDED');
    expect(account.count('UpdateService')).toBe(0);
    expect(result.output.ScaleResult).toMatchObject({ changed: false, next: 'stop' });
    expect(result.output.ScaleResult.reason).toContain('already at the maximum of 5 tasks');
  });

  it('scales the service in on its low alarm, with the 300 s scale-in cooldown', async () => {
    await useAccount({ serviceDesiredCount: 3 });
    account.script(DEV.alarm('service', 'in'), ['OK']);
    const result = await run(alarmEvent(DEV.alarm('service', 'in')));
    expect(account.serviceDesiredCount()).toBe(2);
    expect(result.output.ScaleResult).toMatchObject({ from: 3, to: 2, cooldownSeconds: 300 });
  });

  it('switches direction when the opposite alarm went to ALARM while the loop held the service', async () => {
    await useAccount({ serviceDesiredCount: 3 });
    // The low alarm clears after the first step; the high alarm's transition came during the cooldown.
    account.script(DEV.alarm('service', 'in'), ['OK']);
    account.script(DEV.alarm('service', 'out'), ['ALARM', 'OK']);
    const result = await run(alarmEvent(DEV.alarm('service', 'in')));
    expect(result.status).toBe('SUCCEEDED');
    expect(result.statesEntered).toContain('Switch Direction');
    expect(account.calls.filter((c) => c.command === 'UpdateService')).toHaveLength(2);
    expect(account.serviceDesiredCount()).toBe(3);
    expect(result.output.InterpretResult).toMatchObject({
      direction: 'out',
      alarmName: DEV.alarm('service', 'out'),
      switches: 1,
    });
  });

  it('retries a throttled UpdateService and then scales', async () => {
    await useAccount({ serviceDesiredCount: 1 });
    account.script(DEV.alarm('service', 'out'), ['OK']);
    account.fail('UpdateService', throttling);
    const result = await run(alarmSample);
    expect(result.status).toBe('SUCCEEDED');
    expect(account.count('UpdateService')).toBe(2);
    expect(account.serviceDesiredCount()).toBe(2);
    const failed = result.events.filter((e) => e.type === 'TaskFailed' || e.type === 'StateRetried');
    expect(failed.length).toBeGreaterThan(0);
  });

  it('fails with a readable cause once the retries of a throttled call run out, releasing its lease', async () => {
    account.fail('UpdateService', ...times(7, throttling));
    const result = await run(alarmSample);
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('TransientError');
    expect(result.cause).toBe('Scale Service failed: ThrottlingException: Rate exceeded');
    // One attempt and six retries.
    expect(account.count('UpdateService')).toBe(7);
    expect(leaseHeld()).toBe(false);
  });

  it('sets the operator count from the console sample, without a cooldown', async () => {
    await useAccount({ serviceDesiredCount: 1 });
    const result = await run(operatorSample, 'operator-scale-1');
    expect(result.status).toBe('SUCCEEDED');
    expect(account.serviceDesiredCount()).toBe(3);
    expect(result.statesEntered).not.toContain('Cool Down');
    expect(result.output.InterpretResult).toMatchObject({
      trigger: 'operator',
      eventKey: 'operator/operator-scale-1',
    });
  });

  it('rejects an operator count outside the stage bounds with a readable cause', async () => {
    const result = await run({ ...operatorSample, desiredCount: 9 });
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('InvalidInput');
    expect(result.cause).toBe(
      'Interpret Event failed: desiredCount 9 is outside the tasks bounds [1, 5] of starter/dev in stackpilot.yml',
    );
    expect(account.calls).toEqual([]);
  });

  it('fails clearly, releasing its lease, when the stage service does not exist', async () => {
    account.fail('DescribeServices', { name: 'ClusterNotFoundException', message: 'Cluster not found.' });
    const result = await run(alarmSample);
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('ClusterNotFoundException');
    expect(result.statesEntered).toContain('Release Lease After Failure');
    expect(leaseHeld()).toBe(false);
  });
});

describe('scale state machine: ignored inputs', () => {
  it("succeeds without touching anything for an alarm that is not stackpilot's, saying why", async () => {
    const foreign = alarmEvent('ServerCpuTooHigh');
    const result = await run(foreign);
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toEqual({
      skip: true,
      reason: 'alarm ServerCpuTooHigh is not a stackpilot scaling alarm of this configuration',
    });
    expect(account.calls).toEqual([]);
  });

  it.each(['OK', 'INSUFFICIENT_DATA'])('ignores a transition to %s', async (state) => {
    const result = await run(alarmEvent(DEV.alarm('service', 'out'), state));
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output.reason).toContain(`went to ${state}`);
    expect(result.statesEntered).toEqual(['Interpret Event', 'Anything To Do?', 'Nothing To Do']);
    expect(account.calls).toEqual([]);
  });

  it('changes nothing the second time the same alarm event arrives', async () => {
    await useAccount({ serviceDesiredCount: 1 });
    account.script(DEV.alarm('service', 'out'), ['OK']);
    await run(alarmSample);
    const second = await run(alarmSample);
    expect(second.status).toBe('SUCCEEDED');
    expect(second.output).toMatchObject({ acquired: false, duplicate: true });
    expect(account.serviceDesiredCount()).toBe(2);
    expect(account.count('UpdateService')).toBe(1);
  });

  it('does not double-scale when a loop for the same target is already running', async () => {
    await useAccount({ serviceDesiredCount: 1 });
    const key = leaseKey('starter', 'dev', 'service');
    const lease = {
      owner: 'arn:other-execution',
      eventKey: 'x',
      acquiredAt: new Date().toISOString(),
      expiresAt: new Date(Date.now() + 600_000).toISOString(),
    };
    await direct.put(account, 'stackpilot-scaling-guard-test', key, JSON.stringify(lease));
    const etag = () =>
      account.account.s3.commands.HeadObject({ Bucket: 'stackpilot-scaling-guard-test', Key: key }).ETag;
    const before = etag();
    const result = await run(alarmSample);
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output.reason).toContain('is already running (arn:other-execution');
    expect(account.count('UpdateService')).toBe(0);
    // The running loop's lease is untouched.
    expect(etag()).toBe(before);
  });

  it('takes over the lease of a loop that died without releasing it', async () => {
    await useAccount({ serviceDesiredCount: 1 });
    account.script(DEV.alarm('service', 'out'), ['OK']);
    const key = leaseKey('starter', 'dev', 'service');
    const expired = {
      owner: 'arn:dead-execution',
      eventKey: 'x',
      acquiredAt: '2019-01-01T00:00:00.000Z',
      expiresAt: '2019-01-01T01:00:00.000Z',
    };
    await direct.put(account, 'stackpilot-scaling-guard-test', key, JSON.stringify(expired));
    const result = await run(alarmSample);
    expect(result.output.LeaseResult.reason).toContain('taken over');
    expect(account.serviceDesiredCount()).toBe(2);
  });

  it('fails before scaling, naming the missing variable, when the guard bucket is not configured', async () => {
    delete process.env[GUARD_BUCKET_ENV];
    const result = await run(alarmSample);
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('ConfigError');
    expect(result.cause).toBe('Acquire Lease failed: environment variable SCALING_GUARD_BUCKET is not set');
    expect(account.count('UpdateService')).toBe(0);
  });

  it('fails with InvalidInput on an input of no known shape', async () => {
    const result = await run({ hello: 'world' });
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('InvalidInput');
    expect(result.cause).toContain('neither a CloudWatch alarm event');
  });
});

describe('scale state machine: cluster', () => {
  it('adds an instance for the docs placement-failure sample, cools down and stops without reading an alarm', async () => {
    await useAccount({ instances: [2] });
    const result = await run(placementSample);
    expect(result.status).toBe('SUCCEEDED');
    expect(account.groupDesired()).toBe(2);
    expect(result.statesEntered).toContain('Scale Cluster Out');
    expect(result.statesEntered).not.toContain('Read Alarm State');
    expect(result.output.ScaleResult).toMatchObject({ from: 1, to: 2, cooldownSeconds: 60 });
  });

  it('scales the cluster out on its high alarm until the alarm clears', async () => {
    await useAccount({ instances: [2] });
    account.script(DEV.alarm('cluster', 'out'), ['ALARM', 'OK']);
    const result = await run(alarmEvent(DEV.alarm('cluster', 'out')));
    expect(account.groupDesired()).toBe(3);
    expect(account.count('SetDesiredCapacity')).toBe(2);
    expect(result.output.ScaleResult).toMatchObject({ to: 3, atBound: true });
  });

  it('scales in by draining the instance with the fewest tasks, then terminating it with the capacity decremented', async () => {
    await useAccount({ instances: [3, 1, 2], drainRate: 1 });
    account.script(DEV.alarm('cluster', 'in'), ['OK']);
    const emptiest = account.instanceIds[1] as string;
    const result = await run(alarmEvent(DEV.alarm('cluster', 'in')));
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output.DrainResult).toMatchObject({
      started: true,
      ec2InstanceId: emptiest,
      runningTasksCount: 1,
    });
    expect(account.instance(emptiest)).toBeUndefined();
    expect(account.groupDesired()).toBe(2);
    // Protection off before the termination, and the termination decremented the group.
    const order = account.calls
      .map((c) => c.command)
      .filter((c) => c === 'SetInstanceProtection' || c === 'TerminateInstanceInAutoScalingGroup');
    expect(order).toEqual(['SetInstanceProtection', 'TerminateInstanceInAutoScalingGroup']);
    expect(account.inputs('TerminateInstanceInAutoScalingGroup')).toEqual([
      { InstanceId: emptiest, ShouldDecrementDesiredCapacity: true },
    ]);
    expect(result.output.ScaleResult).toMatchObject({ from: 3, to: 2, cooldownSeconds: 300 });
    expect(result.statesEntered).toEqual([
      'Interpret Event',
      'Anything To Do?',
      'Acquire Lease',
      'Lease Acquired?',
      'Route Scaling',
      'Drain Instance',
      'Drain Started?',
      // ECS starts the drained task's replacement (10 s) and stops it (5 s more): two 15-s waits.
      'Check Drain',
      'Drained?',
      'Wait For Drain',
      'Check Drain',
      'Drained?',
      'Wait For Drain',
      'Check Drain',
      'Drained?',
      'Terminate Instance',
      'After Scaling Step',
      'Cool Down',
      'Triggered By Alarm?',
      'Read Alarm State',
      'Still In Alarm?',
      'Release Lease',
      'Capacity Changed?',
      'Re-arm Alarms',
      'Done',
    ]);
    expect({ transitions: result.transitions, invocations }).toEqual({ transitions: 25, invocations: 10 });
  });

  it('waits while the instance still runs tasks, checking again after each wait', async () => {
    await useAccount({ instances: [4, 5], drainRate: 1 });
    account.script(DEV.alarm('cluster', 'in'), ['OK']);
    const result = await run(alarmEvent(DEV.alarm('cluster', 'in')));
    expect(result.status).toBe('SUCCEEDED');
    // ECS starts the four replacements at once (maximum percent 200) and stops the old tasks once
    // they run: the first look finds them all, the second the old ones stopping, the third none.
    expect(result.statesEntered.filter((s) => s === 'Wait For Drain')).toHaveLength(2);
    expect(result.statesEntered.filter((s) => s === 'Check Drain')).toHaveLength(3);
    expect(account.groupDesired()).toBe(1);
  });

  it('never drains below the minimum of instances', async () => {
    await useAccount({ instances: [0] });
    const result = await run(alarmEvent(DEV.alarm('cluster', 'in')));
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output.DrainResult).toMatchObject({ started: false });
    expect(result.output.DrainResult.reason).toContain('already at the minimum of 1 instance');
    expect(account.count('UpdateContainerInstancesState')).toBe(0);
    expect(account.count('TerminateInstanceInAutoScalingGroup')).toBe(0);
  });

  it('sets a drain that outlasts its time limit back to ACTIVE and fails with DrainTimeout naming the instance', async () => {
    // Deployment bounds 100/101: ECS may neither start a replacement first nor stop a task first.
    await useAccount({ instances: [2, 3], drainRate: 0 });
    const result = await run(alarmEvent(DEV.alarm('cluster', 'in')));
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('DrainTimeout');
    const instanceId = account.instanceIds[0] as string;
    expect(result.cause).toMatch(new RegExp(`\\(${instanceId}\\) of starter/dev still runs 2 task\\(s\\)`));
    expect(result.cause).toContain('set back to ACTIVE');
    expect(account.instance(instanceId)?.status).toBe('ACTIVE');
    expect(account.count('TerminateInstanceInAutoScalingGroup')).toBe(0);
    expect(account.groupDesired()).toBe(2);
    expect(result.statesEntered.slice(-3)).toEqual([
      'Restore Instance',
      'Release Lease After Failure',
      'Scaling Failed',
    ]);
    expect(leaseHeld()).toBe(false);
  });

  it('never terminates an instance that picked up a task after its drain: restores it and fails with InstanceNotEmpty', async () => {
    await useAccount({ instances: [0, 2] });
    const emptiest = account.instanceIds[0] as string;
    let describes = 0;
    // Calls: Drain Instance's listing, Check Drain's look (empty), Terminate Instance's last look.
    // Just before that look, an operator set the instance ACTIVE again and scaled the service
    // out: ECS placed the new task on it, the instance with the fewest tasks of the service.
    account.onCommand = (call) => {
      if (call.command === 'DescribeContainerInstances' && ++describes === 3) {
        const ecs = account.account.ecs.commands;
        const arn = account.instance(emptiest)?.arn as string;
        ecs.UpdateContainerInstancesState({
          cluster: DEV.cluster,
          containerInstances: [arn],
          status: 'ACTIVE',
        });
        ecs.UpdateService({ cluster: DEV.cluster, service: DEV.service, desiredCount: 3 });
        account.advance(1000);
      }
    };
    const result = await run(alarmEvent(DEV.alarm('cluster', 'in')));
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('InstanceNotEmpty');
    expect(result.cause).toContain(
      `(${emptiest}) of starter/dev is ACTIVE with 0 running and 1 pending task(s): not terminated`,
    );
    expect(account.count('TerminateInstanceInAutoScalingGroup')).toBe(0);
    expect(account.instance(emptiest)?.status).toBe('ACTIVE');
    expect(result.statesEntered).toContain('Restore Instance After Error');
    expect(leaseHeld()).toBe(false);
  });

  it('fails naming Check Drain when its calls stay throttled, after setting the drained instance ACTIVE again', async () => {
    await useAccount({ instances: [0, 2] });
    const emptiest = account.instanceIds[0] as string;
    let describes = 0;
    // Calls: Drain Instance's listing, then every look of Check Drain (one attempt, six retries), then Restore's.
    account.onCommand = (call) => {
      if (call.command === 'DescribeContainerInstances' && ++describes === 2)
        account.fail(call.command, ...times(7, throttling));
    };
    const result = await run(alarmEvent(DEV.alarm('cluster', 'in')));
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('TransientError');
    expect(result.cause).toBe('Check Drain failed: ThrottlingException: Rate exceeded');
    expect(account.instance(emptiest)?.status).toBe('ACTIVE');
    expect(result.statesEntered).toContain('Restore Instance After Error');
    expect(leaseHeld()).toBe(false);
  });

  it('fails with InstanceLeftDraining naming the instance, its cluster and the command to run when it cannot be set ACTIVE again', async () => {
    await useAccount({ instances: [0, 2] });
    const emptiest = account.instanceIds[0] as string;
    const arn = account.instance(emptiest)?.arn as string;
    let updates = 0;
    // The first update drains the instance; every later one (Restore Instance After Error's) is throttled.
    account.onCommand = (call) => {
      if (call.command === 'UpdateContainerInstancesState' && ++updates > 1)
        account.fail(call.command, throttling);
      if (call.command === 'TerminateInstanceInAutoScalingGroup')
        account.fail(call.command, { name: 'ValidationError', message: 'Instance is in use.' });
    };
    const result = await run(alarmEvent(DEV.alarm('cluster', 'in')));
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('InstanceLeftDraining');
    expect(result.cause).toBe(
      `Restore Instance After Error failed: ThrottlingException: Rate exceeded; container instance ${arn} (${emptiest}) is still DRAINING in cluster ${DEV.cluster}: set it ACTIVE with \`aws ecs update-container-instances-state --cluster ${DEV.cluster} --container-instances ${arn} --status ACTIVE\``,
    );
    expect(account.instance(emptiest)?.status).toBe('DRAINING');
    expect(account.count('UpdateContainerInstancesState')).toBe(8);
    expect(leaseHeld()).toBe(false);
  });

  it('fails with InstanceLeftDraining when a timed-out drain cannot be set ACTIVE again', async () => {
    await useAccount({ instances: [2, 3], drainRate: 0 });
    const drained = account.instanceIds[0] as string;
    let updates = 0;
    account.onCommand = (call) => {
      if (call.command === 'UpdateContainerInstancesState' && ++updates > 1)
        account.fail(call.command, {
          name: 'ServiceUnavailableException',
          status: 503,
          message: 'Service unavailable',
        });
    };
    const result = await run(alarmEvent(DEV.alarm('cluster', 'in')));
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('InstanceLeftDraining');
    expect(result.cause).toMatch(
      new RegExp(
        `^Restore Instance failed: ServiceUnavailableException: Service unavailable; container instance \\S+ \\(${drained}\\) is still DRAINING in cluster ${DEV.cluster}: set it ACTIVE with`,
      ),
    );
    expect(account.instance(drained)?.status).toBe('DRAINING');
    expect(result.statesEntered).not.toContain('Describe Drain Timeout');
    expect(leaseHeld()).toBe(false);
  });

  it('drains one instance at a time down to an operator count', async () => {
    await useAccount({ instances: [0, 1, 0] });
    const result = await run({ app: 'starter', stage: 'dev', target: 'cluster', desiredCount: 1 });
    expect(result.status).toBe('SUCCEEDED');
    expect(account.groupDesired()).toBe(1);
    expect(account.count('TerminateInstanceInAutoScalingGroup')).toBe(2);
    // The instance that ran a task is the one kept (the others have left the cluster a minute later).
    account.advance(60_000);
    expect(account.instances().map((i) => i.tasks)).toEqual([1]);
    expect(result.statesEntered).not.toContain('Cool Down');
  });

  it('debounces a placement storm: 30 failures in 3 minutes scale the cluster in at most one execution per 60 s cooldown window', async () => {
    // Tasks waiting for room: ECS reports a placement failure for each attempt, every 6 s here.
    await useAccount({ serviceDesiredCount: 9 });
    const start = Date.parse(placementSample.time);
    const results: ExecutionResult[] = [];
    const windows = new Set<number>();
    for (let i = 0; i < 30; i++) {
      const event = structuredClone(placementSample);
      event.id = `placement-${i}`;
      event.time = new Date(start + i * 6_000).toISOString().replace('.000Z', 'Z');
      windows.add(Math.floor((start + i * 6_000) / 60_000));
      results.push(await run(event, `placement-${i}`));
    }
    // 19:55:38 to 19:58:32: four cooldown windows.
    expect(windows.size).toBe(4);
    expect(results.every((r) => r.status === 'SUCCEEDED')).toBe(true);
    const scaled = results.filter((r) => r.statesEntered.includes('Scale Cluster Out'));
    const handled = results.filter((r) => r.statesEntered.includes('Already Handled'));
    expect(scaled.length).toBeGreaterThan(0);
    expect(scaled.length).toBeLessThanOrEqual(windows.size);
    expect(handled.length).toBe(30 - scaled.length);
    // Never past the group's maximum of 3, whatever the number of events.
    expect(account.groupDesired()).toBeLessThanOrEqual(3);
    expect(leaseHeld()).toBe(false);
  });

  it('raises the group to an operator count in one call', async () => {
    await useAccount({ instances: [0] });
    const result = await run({ app: 'starter', stage: 'dev', target: 'cluster', desiredCount: 3 });
    expect(result.status).toBe('SUCCEEDED');
    expect(account.groupDesired()).toBe(3);
    expect(account.count('SetDesiredCapacity')).toBe(1);
  });
});

describe('scale state machine: re-arming alarms after a change', () => {
  it('re-arms the cluster low alarm, in ALARM since the idle start, after a placement failure added an instance, once the lease is released', async () => {
    await useAccount({ instances: [1] });
    account.script(DEV.alarm('cluster', 'in'), ['ALARM']);
    account.script(DEV.alarm('cluster', 'out'), ['OK']);
    let leaseWhenRearmed: boolean | undefined;
    account.onCommand = (call) => {
      if (call.command === 'SetAlarmState') leaseWhenRearmed = leaseHeld();
    };
    const result = await run(placementSample);
    expect(result.status).toBe('SUCCEEDED');
    expect(account.groupDesired()).toBe(2);
    expect(account.alarmsSet()).toEqual([
      {
        alarmName: DEV.alarm('cluster', 'in'),
        state: 'OK',
        reason:
          'stackpilot re-armed this alarm after scaling the cluster out to 2 instances so that it fires again if the condition still holds',
      },
    ]);
    // The lease was already free: the transition the re-armed alarm sends can start its own loop.
    expect(leaseWhenRearmed).toBe(false);
    expect(result.statesEntered.slice(-4)).toEqual([
      'Release Lease',
      'Capacity Changed?',
      'Re-arm Alarms',
      'Done',
    ]);
    expect(result.output.RearmResult.reason).toBe(`re-armed ${DEV.alarm('cluster', 'in')}`);
  });

  it('re-arms the service low alarm after an alarm-driven scale-out reaches the maximum', async () => {
    await useAccount({ serviceDesiredCount: 4 });
    account.script(DEV.alarm('service', 'out'), ['ALARM']);
    account.script(DEV.alarm('service', 'in'), ['ALARM']);
    const result = await run(alarmSample);
    expect(result.status).toBe('SUCCEEDED');
    expect(account.serviceDesiredCount()).toBe(5);
    // Only the opposite alarm: the loop's own alarm, at the bound, would fire again every period.
    expect(account.alarmsSet().map((a) => a.alarmName)).toEqual([DEV.alarm('service', 'in')]);
  });

  it('re-arms the cluster low alarm after the service scales in: fewer tasks may leave room to remove an instance', async () => {
    // 2 -> 1 reaches the minimum: the loop ends without a cooldown. The cluster low alarm has
    // been in ALARM since a scale-in was refused for want of room.
    await useAccount({ serviceDesiredCount: 2 });
    account.script(DEV.alarm('service', 'in'), ['ALARM']);
    account.script(DEV.alarm('service', 'out'), ['OK']);
    account.script(DEV.alarm('cluster', 'in'), ['ALARM']);
    const result = await run(alarmEvent(DEV.alarm('service', 'in')));
    expect(result.status).toBe('SUCCEEDED');
    expect(account.serviceDesiredCount()).toBe(1);
    expect(account.alarmsSet()).toEqual([
      {
        alarmName: DEV.alarm('cluster', 'in'),
        state: 'OK',
        reason:
          'stackpilot re-armed this alarm after scaling the service in to 1 tasks, which may leave room to remove an instance, so that it fires again if the condition still holds',
      },
    ]);
  });

  it('re-arms nothing when the loop changed nothing (at the bound with its own alarm in ALARM)', async () => {
    await useAccount({ serviceDesiredCount: 5 });
    account.script(DEV.alarm('service', 'out'), ['ALARM']);
    account.script(DEV.alarm('service', 'in'), ['ALARM']);
    const result = await run(alarmSample);
    expect(result.status).toBe('SUCCEEDED');
    expect(result.statesEntered).not.toContain('Re-arm Alarms');
    expect(result.statesEntered.slice(-3)).toEqual(['Release Lease', 'Capacity Changed?', 'Done']);
    expect(account.count('SetAlarmState')).toBe(0);
  });

  it('retries a throttled SetAlarmState, and still succeeds with the error recorded when re-arming keeps failing', async () => {
    await useAccount({ instances: [1] });
    account.script(DEV.alarm('cluster', 'in'), ['ALARM']);
    account.fail('SetAlarmState', { name: 'Throttling', message: 'Rate exceeded' });
    const retried = await run(placementSample);
    expect(retried.status).toBe('SUCCEEDED');
    expect(account.alarmsSet()).toHaveLength(1);

    await useAccount({ instances: [1] });
    account.script(DEV.alarm('cluster', 'in'), ['ALARM']);
    account.fail(
      'SetAlarmState',
      ...times(10, {
        name: 'AccessDenied',
        status: 403,
        message: 'not authorized to perform cloudwatch:SetAlarmState',
      }),
    );
    const result = await run(placementSample);
    expect(result.status).toBe('SUCCEEDED');
    expect(account.groupDesired()).toBe(2);
    expect(result.output.RearmError).toMatchObject({ Error: 'AccessDenied' });
  });
});

describe('scale state machine: room for the drained tasks', () => {
  it('drains nothing when the other instances have no room for the tasks of the emptiest one, and succeeds saying why', async () => {
    // Three instances that hold one task each, all busy.
    // The room check alone: the `reservation` policy's floor (below) is not in play.
    await useAccount({ instances: [1, 1, 1], slotsPerInstance: 1, clusterPolicy: 'cpu-utilization' });
    account.script(DEV.alarm('cluster', 'in'), ['ALARM']);
    const result = await run(alarmEvent(DEV.alarm('cluster', 'in')));
    expect(result.status).toBe('SUCCEEDED');
    // All three are the emptiest: the reason names one of them.
    const named = /for the 1 task of (i-[0-9a-f]+) /.exec(result.output.DrainResult.reason)?.[1];
    expect(account.instanceIds).toContain(named);
    expect(result.output.DrainResult).toEqual({
      started: false,
      reason: `cluster ${DEV.cluster}: no room on the other instances for the 1 task of ${named} (0 free slots for tasks of 256 CPU units and 512 MiB each): not drained`,
    });
    expect(account.count('UpdateContainerInstancesState')).toBe(0);
    expect(account.count('TerminateInstanceInAutoScalingGroup')).toBe(0);
    expect(account.groupDesired()).toBe(3);
    expect(result.statesEntered.slice(-5)).toEqual([
      'Drain Instance',
      'Drain Started?',
      'Release Lease',
      'Capacity Changed?',
      'Done',
    ]);
    expect(leaseHeld()).toBe(false);
  });

  it('drains the emptiest instance when the others have room for its tasks', async () => {
    await useAccount({
      instances: [1, 0, 1],
      slotsPerInstance: 2,
      drainRate: 1,
      clusterPolicy: 'cpu-utilization',
    });
    account.script(DEV.alarm('cluster', 'in'), ['ALARM', 'ALARM', 'OK']);
    const result = await run(alarmEvent(DEV.alarm('cluster', 'in')));
    expect(result.status).toBe('SUCCEEDED');
    // The empty one first, then one of the busy ones (its task fits on the last, which has a free slot).
    expect(account.count('TerminateInstanceInAutoScalingGroup')).toBe(2);
    expect(account.groupDesired()).toBe(1);
  });

  it('under the reservation policy never drains below the instances the tasks and a rolling deploy need', async () => {
    // 2 tasks, 2 slots per instance, 100/200 deployment: 2 tasks + 1 slot for a deploy need 2 instances.
    await useAccount({ instances: [1, 0, 1], slotsPerInstance: 2, drainRate: 1 });
    account.script(DEV.alarm('cluster', 'in'), ['ALARM', 'ALARM', 'OK']);
    const result = await run(alarmEvent(DEV.alarm('cluster', 'in')));
    expect(result.status).toBe('SUCCEEDED');
    expect(account.count('TerminateInstanceInAutoScalingGroup')).toBe(1);
    expect(account.groupDesired()).toBe(2);
  });
});

describe('scale state machine: properties', () => {
  it('property: a cluster scale-in never terminates an instance with tasks and never goes below the minimum', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 0, max: 2 }),
        fc.array(fc.constantFrom('ALARM', 'OK'), { minLength: 1, maxLength: 3 }),
        async (tasks, drainRate, alarmStates) => {
          await useAccount({ instances: tasks, drainRate });
          account.script(DEV.alarm('cluster', 'in'), [...alarmStates]);
          const result = await run(alarmEvent(DEV.alarm('cluster', 'in')));
          expect(account.terminatedWithTasks).toEqual([]);
          expect(account.groupDesired()).toBeGreaterThanOrEqual(1);
          // Once the terminated instances are gone, the group and the cluster agree.
          account.advance(60_000);
          expect(account.groupDesired()).toBe(account.instances().length);
          expect(account.instances().every((i) => i.status === 'ACTIVE')).toBe(true);
          if (result.status === 'FAILED') expect(result.error).toBe('DrainTimeout');
          expect(leaseHeld()).toBe(false);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('property: a cluster scale-in never starts draining an instance whose tasks would not fit on the other ACTIVE instances', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        // At most the dev group's maximum of 3 instances: Auto Scaling refuses a desired capacity above it.
        fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 2, maxLength: 3 }),
        fc.array(fc.constantFrom('ALARM', 'OK'), { minLength: 1, maxLength: 3 }),
        async (slots, tasks, alarmStates) => {
          await useAccount({
            instances: tasks.map((t) => Math.min(t, slots)),
            slotsPerInstance: slots,
            drainRate: 1,
          });
          account.script(DEV.alarm('cluster', 'in'), [...alarmStates]);
          // The cluster as it is when each DRAINING request arrives (before it applies).
          const seen: { arn: string; cluster: ReturnType<ScaleAccount['instances']> }[] = [];
          account.onCommand = (call) => {
            const input = call.input as { status?: string; containerInstances?: string[] };
            if (call.command === 'UpdateContainerInstancesState' && input.status === 'DRAINING')
              seen.push({ arn: input.containerInstances?.[0] ?? '', cluster: account.instances() });
          };
          await run(alarmEvent(DEV.alarm('cluster', 'in')));
          const task = account.config.apps.starter as { cpu: number; memory: number };
          const room = (r: { cpu: number; memory: number }) =>
            Math.floor(Math.min(r.cpu / task.cpu, r.memory / task.memory));
          for (const { arn, cluster } of seen) {
            const drained = cluster.find((i) => i.arn === arn);
            const free = cluster
              .filter((i) => i.arn !== arn && i.status === 'ACTIVE')
              .reduce((sum, i) => sum + room(i.remaining), 0);
            expect(free).toBeGreaterThanOrEqual(drained?.tasks ?? Number.POSITIVE_INFINITY);
          }
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe('scale.asl.json', () => {
  it('is valid ASL once its placeholders are filled', async () => {
    const { default: aslValidator } = (await import('asl-validator' as string)) as {
      default: (d: unknown, o: object) => { isValid: boolean; errorsText: (s: string) => string };
    };
    const { isValid, errorsText } = aslValidator(structuredClone(definition), {
      checkArn: true,
      checkPaths: true,
    });
    expect(errorsText('\n')).toBe('');
    expect(isValid).toBe(true);
  });

  it('retries the retryable errors with backoff and jitter in every Task, and catches with States.ALL last', () => {
    for (const [name, state] of Object.entries(allStates(definition))) {
      if (state.Type !== 'Task') continue;
      const retry = state.Retry?.[0];
      expect(retry?.ErrorEquals, name).toEqual([...RETRYABLE_ERRORS]);
      expect(retry?.JitterStrategy, name).toBe('FULL');
      expect(retry?.BackoffRate, name).toBeGreaterThan(1);
      expect(state.Catch?.at(-1)?.ErrorEquals, name).toEqual(['States.ALL']);
    }
  });

  it('maps every Task to a handler under test and uses one placeholder per function', () => {
    const tasks = Object.entries(allStates(definition))
      .filter(([, s]) => s.Type === 'Task')
      .map(([n]) => n);
    expect(tasks.sort()).toEqual(Object.keys(HANDLERS).sort());
    expect(placeholdersOf('scale').sort()).toEqual([
      'AcquireScalingLeaseFunctionArn',
      'CheckDrainFunctionArn',
      'DrainInstanceFunctionArn',
      'InterpretScalingEventFunctionArn',
      'ReadAlarmStateFunctionArn',
      'RearmScalingAlarmsFunctionArn',
      'ReleaseScalingLeaseFunctionArn',
      'RestoreInstanceFunctionArn',
      'ScaleClusterOutFunctionArn',
      'ScaleServiceFunctionArn',
      'TerminateInstanceFunctionArn',
    ]);
  });
});
