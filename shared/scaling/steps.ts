/**
 * The change-making steps of the `scale` state machine: each reads the stage's resources
 * through the adapters, asks the pure decisions what to do, and does it. The handlers under
 * `functions/` only parse their input and call these.
 */
import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod';
import { autoScalingClient, cloudWatchClient, ecsClient, s3Client } from '../aws/clients.ts';
import { findStage, runtimeConfig, type StackpilotConfig, type StageRef } from '../config.ts';
import { type CaughtError, explainCaught, InvalidInput } from '../errors.ts';
import { stageNames } from '../naming.ts';
import { logger } from '../powertools.ts';
import {
  describeGroup,
  setDesiredCapacity,
  setInstanceProtection,
  terminateInstanceInGroup,
} from './autoscaling.ts';
import { instancesNeeded, instancesOnTheirWay, serviceTaskBounds } from './capacity.ts';
import { describeAlarmStates, setAlarmState } from './cloudwatch.ts';
import {
  afterCooldown,
  afterStep,
  alarmsToRearm,
  type CountRequest,
  cooldownSeconds,
  intersectBounds,
  type NextAfterStep,
  nextDesiredCount,
  rearmCandidates,
} from './decisions.ts';
import {
  describeContainerInstance,
  describeServiceCount,
  listContainerInstances,
  setContainerInstanceState,
  setServiceDesiredCount,
} from './ecs.ts';
import { BelowMinimum, InstanceNotEmpty } from './errors.ts';
import { canTerminate, chooseInstanceToDrain, type DrainStatus, drainStatus, tasksOn } from './instances.ts';
import type { ScalingRequest } from './interpret.ts';
import { type AcquireResult, acquireScalingLease, guardBucket, releaseScalingLease } from './lease-store.ts';

/** What the steps use: the AWS clients, the clock and the configuration (tests and the sandbox pass their own). */
export interface ScalingDeps {
  readonly clients: {
    readonly ecs: ECSClient;
    readonly autoScaling: AutoScalingClient;
    readonly cloudWatch: CloudWatchClient;
    readonly s3: S3Client;
  };
  readonly now: () => Date;
  readonly config: StackpilotConfig;
}

/** The deployed functions' dependencies: the named shared clients, the clock, the bundled configuration. */
export function scalingDeps(): ScalingDeps {
  return {
    clients: { ecs: ecsClient, autoScaling: autoScalingClient, cloudWatch: cloudWatchClient, s3: s3Client },
    now: () => new Date(),
    config: runtimeConfig(),
  };
}

/** Result of a step that changes a count (`$.ScaleResult`); the ASL branches on `next`. */
export interface StepResult {
  readonly changed: boolean;
  readonly from: number;
  readonly to: number;
  readonly atBound: boolean;
  readonly next: NextAfterStep;
  /** Seconds of the cooldown that follows when `next` is `cool-down`. */
  readonly cooldownSeconds: number;
  readonly reason: string;
}

/** The drain in progress (`$.DrainResult` once started). */
export const drainSchema = z.object({
  started: z.literal(true),
  containerInstanceArn: z.string().min(1),
  ec2InstanceId: z.string().min(1),
  runningTasksCount: z.number().int().nonnegative(),
  /** ISO time after which the drain is abandoned. */
  deadline: z.string().min(1),
  reason: z.string(),
});
export type Drain = z.output<typeof drainSchema>;

function stageOf(config: StackpilotConfig, request: ScalingRequest): StageRef {
  const stage = findStage(config, request.app, request.stage);
  if (!stage)
    throw new InvalidInput(`there is no stage ${request.stage} of app ${request.app} in stackpilot.yml`);
  return stage;
}

function countRequest(request: ScalingRequest, step: number): CountRequest {
  if (request.desiredCount !== undefined) return { desiredCount: request.desiredCount };
  return { direction: request.direction ?? 'out', step };
}

function finish(
  request: ScalingRequest,
  stage: StageRef,
  decision: { changed: boolean; from: number; to: number; atBound: boolean; reason: string },
): StepResult {
  const after = afterStep(request.trigger, decision, request.desiredCount);
  const direction = decision.to < decision.from ? 'in' : 'out';
  return {
    ...decision,
    next: after.next,
    cooldownSeconds: cooldownSeconds(stage.stageConfig, request.target, request.direction ?? direction),
    reason: `${decision.reason}; ${after.reason}`,
  };
}

/**
 * Scale Service: desired count plus or minus the step (or the operator's count), within the
 * stage's task bounds, whose maximum is what `instances.max` instances hold
 * ({@link serviceTaskBounds}). Under the `reservation` policy a scale-out first raises the
 * Auto Scaling group to the instances the new count needs with a rolling deploy's room
 * ({@link instancesNeeded}), so that the tasks find a place without waiting for a placement
 * failure and the boot of an instance that it then triggers.
 */
export async function scaleService(request: ScalingRequest, deps: ScalingDeps): Promise<StepResult> {
  const stage = stageOf(deps.config, request);
  const names = stageNames(request.app, request.stage);
  const service = await describeServiceCount(names.cluster, names.service, deps.clients.ecs);
  const decision = nextDesiredCount(
    service.desiredCount,
    countRequest(request, stage.stageConfig.serviceScaling.step),
    serviceTaskBounds(stage),
    'tasks',
  );
  let cluster = '';
  if (
    decision.changed &&
    decision.to > decision.from &&
    stage.stageConfig.clusterScaling.policy === 'reservation'
  ) {
    const group = await describeGroup(names.autoScalingGroup, deps.clients.autoScaling);
    const need = Math.min(group.maxSize, instancesNeeded(stage, decision.to));
    if (need > group.desiredCapacity) {
      await setDesiredCapacity(names.autoScalingGroup, need, deps.clients.autoScaling);
      cluster = `; group ${names.autoScalingGroup}: ${group.desiredCapacity} -> ${need} instances for ${decision.to} tasks and a rolling deploy`;
    }
  }
  if (decision.changed)
    await setServiceDesiredCount(names.cluster, names.service, decision.to, deps.clients.ecs);
  else logger.info('service not scaled', { service: names.service, reason: decision.reason });
  return finish(request, stage, {
    ...decision,
    reason: `service ${names.service}: ${decision.reason}${cluster}`,
  });
}

/**
 * Scale Cluster Out: the group's desired capacity plus one (or the operator's count when it
 * is not lower), within stackpilot.yml's and the group's bounds. An operator count below the
 * current capacity is left to the drain loop (`next: drain-next`), one instance at a time.
 */
export async function scaleClusterOut(request: ScalingRequest, deps: ScalingDeps): Promise<StepResult> {
  const stage = stageOf(deps.config, request);
  const name = stageNames(request.app, request.stage).autoScalingGroup;
  const group = await describeGroup(name, deps.clients.autoScaling);
  const bounds = intersectBounds(stage.stageConfig.instances, { min: group.minSize, max: group.maxSize });
  if (request.desiredCount !== undefined && request.desiredCount < group.desiredCapacity) {
    return {
      changed: false,
      from: group.desiredCapacity,
      to: group.desiredCapacity,
      atBound: false,
      next: 'drain-next',
      cooldownSeconds: 0,
      reason: `group ${name}: ${group.desiredCapacity} -> ${request.desiredCount} instances, draining one at a time`,
    };
  }
  if (request.trigger === 'placement-failure') {
    const registered = (
      await listContainerInstances(stageNames(request.app, request.stage).cluster, deps.clients.ecs)
    ).length;
    const coming = instancesOnTheirWay(group.desiredCapacity, registered);
    if (coming > 0)
      return finish(request, stage, {
        changed: false,
        from: group.desiredCapacity,
        to: group.desiredCapacity,
        atBound: false,
        reason: `group ${name}: ${coming} instance(s) launched and not yet registered with the cluster will take the waiting tasks; no instance added`,
      });
  }
  const decision = nextDesiredCount(group.desiredCapacity, countRequest(request, 1), bounds, 'instances');
  if (decision.changed) await setDesiredCapacity(name, decision.to, deps.clients.autoScaling);
  else logger.info('cluster not scaled', { group: name, reason: decision.reason });
  return finish(request, stage, { ...decision, reason: `group ${name}: ${decision.reason}` });
}

/**
 * Drain Instance: picks the container instance to remove (fewest tasks, never below the
 * minimum; an interrupted drain is finished first) and sets it DRAINING.
 */
export async function drainInstance(
  request: ScalingRequest,
  deps: ScalingDeps,
): Promise<Drain | { started: false; reason: string }> {
  const stage = stageOf(deps.config, request);
  const names = stageNames(request.app, request.stage);
  const group = await describeGroup(names.autoScalingGroup, deps.clients.autoScaling);
  const bounds = intersectBounds(stage.stageConfig.instances, { min: group.minSize, max: group.maxSize });
  // An operator's count is a floor too: never drain past it. Under the `reservation` policy,
  // neither past the instances the service's tasks and a rolling deploy need.
  let floor = Math.max(bounds.min, request.desiredCount ?? bounds.min);
  if (request.trigger !== 'operator' && stage.stageConfig.clusterScaling.policy === 'reservation') {
    const service = await describeServiceCount(names.cluster, names.service, deps.clients.ecs);
    floor = Math.max(floor, instancesNeeded(stage, service.desiredCount));
  }
  const instances = await listContainerInstances(names.cluster, deps.clients.ecs);
  const choice = chooseInstanceToDrain(instances, group.instances, group.desiredCapacity, floor);
  if (!choice.drain) {
    logger.info('no instance drained', { cluster: names.cluster, reason: choice.reason });
    return { started: false, reason: `cluster ${names.cluster}: ${choice.reason}` };
  }
  if (!choice.resumed)
    await setContainerInstanceState(names.cluster, choice.drain.arn, 'DRAINING', deps.clients.ecs);
  const deadline = new Date(
    deps.now().getTime() + stage.stageConfig.clusterScaling.drainTimeoutSeconds * 1000,
  );
  return {
    started: true,
    containerInstanceArn: choice.drain.arn,
    ec2InstanceId: choice.drain.ec2InstanceId,
    runningTasksCount: tasksOn(choice.drain),
    deadline: deadline.toISOString(),
    reason: `cluster ${names.cluster}: ${choice.reason}`,
  };
}

/** Check Drain: is the draining instance empty yet, or past its deadline? */
export async function checkDrain(
  request: ScalingRequest,
  drain: Drain,
  deps: ScalingDeps,
): Promise<{ status: DrainStatus; runningTasksCount: number; pendingTasksCount: number; message: string }> {
  const names = stageNames(request.app, request.stage);
  const instance = await describeContainerInstance(
    names.cluster,
    drain.containerInstanceArn,
    deps.clients.ecs,
  );
  // ECS forgets a container instance once its EC2 instance is gone: nothing runs there any more.
  if (!instance)
    return {
      status: 'EMPTY',
      runningTasksCount: 0,
      pendingTasksCount: 0,
      message: `${drain.ec2InstanceId} is gone`,
    };
  const status = drainStatus(instance, new Date(drain.deadline), deps.now());
  const who = `container instance ${drain.containerInstanceArn} (${drain.ec2InstanceId}) of ${request.app}/${request.stage}`;
  const message =
    status === 'TIMED_OUT'
      ? `${who} still runs ${instance.runningTasksCount} task(s) (${instance.pendingTasksCount} pending) after the drain timeout ended at ${drain.deadline}; scale-in abandoned and the instance set back to ACTIVE`
      : status === 'EMPTY'
        ? `${who} runs no task`
        : `${who} still runs ${instance.runningTasksCount} task(s)`;
  return {
    status,
    runningTasksCount: instance.runningTasksCount,
    pendingTasksCount: instance.pendingTasksCount,
    message,
  };
}

/**
 * Terminate Instance: checks once more that the instance runs no task, removes its
 * scale-in protection, and terminates it with the group's desired capacity decremented.
 * Idempotent: an instance already gone from the group counts as terminated.
 */
export async function terminateInstance(
  request: ScalingRequest,
  drain: Drain,
  deps: ScalingDeps,
): Promise<StepResult> {
  const stage = stageOf(deps.config, request);
  const names = stageNames(request.app, request.stage);
  const instance = await describeContainerInstance(
    names.cluster,
    drain.containerInstanceArn,
    deps.clients.ecs,
  );
  if (instance && !canTerminate(instance))
    throw new InstanceNotEmpty(
      `container instance ${drain.containerInstanceArn} (${drain.ec2InstanceId}) of ${request.app}/${request.stage} is ${instance.status} with ${instance.runningTasksCount} running and ${instance.pendingTasksCount} pending task(s): not terminated`,
    );
  const group = await describeGroup(names.autoScalingGroup, deps.clients.autoScaling);
  const bounds = intersectBounds(stage.stageConfig.instances, { min: group.minSize, max: group.maxSize });
  const member = group.instances.find((i) => i.instanceId === drain.ec2InstanceId);
  if (!member || member.lifecycleState.startsWith('Terminat')) {
    const done = {
      changed: true,
      from: group.desiredCapacity + 1,
      to: group.desiredCapacity,
      atBound: group.desiredCapacity <= bounds.min,
    };
    return finish(request, stage, { ...done, reason: `${drain.ec2InstanceId} was already terminated` });
  }
  if (group.desiredCapacity - 1 < bounds.min)
    throw new BelowMinimum(
      `terminating ${drain.ec2InstanceId} would leave group ${names.autoScalingGroup} at ${group.desiredCapacity - 1} instances, below its minimum of ${bounds.min}`,
    );
  if (member.protectedFromScaleIn)
    await setInstanceProtection(names.autoScalingGroup, drain.ec2InstanceId, false, deps.clients.autoScaling);
  await terminateInstanceInGroup(drain.ec2InstanceId, deps.clients.autoScaling);
  const to = group.desiredCapacity - 1;
  return finish(request, stage, {
    changed: true,
    from: group.desiredCapacity,
    to,
    atBound: to <= bounds.min,
    reason: `group ${names.autoScalingGroup}: ${drain.ec2InstanceId} terminated, ${group.desiredCapacity} -> ${to} instances`,
  });
}

/** Restore Instance: a drain that is abandoned puts the instance back to ACTIVE. */
export async function restoreInstance(
  request: ScalingRequest,
  drain: Drain,
  deps: ScalingDeps,
): Promise<{ restored: boolean; reason: string }> {
  const names = stageNames(request.app, request.stage);
  const instance = await describeContainerInstance(
    names.cluster,
    drain.containerInstanceArn,
    deps.clients.ecs,
  );
  if (!instance) return { restored: false, reason: `${drain.ec2InstanceId} is no longer registered` };
  if (instance.status !== 'ACTIVE')
    await setContainerInstanceState(names.cluster, drain.containerInstanceArn, 'ACTIVE', deps.clients.ecs);
  return { restored: true, reason: `${drain.ec2InstanceId} is ACTIVE again` };
}

/** What Read Alarm State found (`$.AlarmResult`); `request` is the next iteration's request on a switch. */
export interface AlarmStateResult {
  readonly alarmName: string;
  readonly state: string;
  readonly oppositeAlarmName: string;
  readonly oppositeState: string;
  readonly next: 'repeat' | 'switch' | 'stop';
  readonly reason: string;
  readonly request: ScalingRequest;
}

/**
 * Read Alarm State: after the cooldown, read the loop's alarm and the target's opposite
 * alarm in one call: repeat, switch direction, or stop.
 */
export async function readAlarmState(
  request: ScalingRequest,
  deps: Pick<ScalingDeps, 'clients'>,
): Promise<AlarmStateResult> {
  const names = stageNames(request.app, request.stage);
  const direction = request.direction ?? 'out';
  const opposite = direction === 'out' ? 'in' : 'out';
  const alarmName = request.alarmName ?? names.alarm(request.target, direction);
  const oppositeAlarmName = names.alarm(request.target, opposite);
  const states = await describeAlarmStates([alarmName, oppositeAlarmName], deps.clients.cloudWatch);
  const switches = request.switches ?? 0;
  const decision = afterCooldown(
    { alarmName, state: states.get(alarmName) },
    { alarmName: oppositeAlarmName, state: states.get(oppositeAlarmName) },
    switches,
  );
  const next: ScalingRequest =
    decision.next === 'switch'
      ? {
          ...request,
          direction: opposite,
          alarmName: oppositeAlarmName,
          switches: switches + 1,
          reason: `alarm ${oppositeAlarmName} is in ALARM: scale the ${request.target} ${opposite}`,
        }
      : request;
  return {
    alarmName,
    state: states.get(alarmName) ?? 'MISSING',
    oppositeAlarmName,
    oppositeState: states.get(oppositeAlarmName) ?? 'MISSING',
    ...decision,
    request: next,
  };
}

/** The change a loop made, as `$.ScaleResult` holds it (absent when no step changed anything). */
export const capacityChangeSchema = z.object({
  changed: z.boolean(),
  from: z.number().int().nonnegative(),
  to: z.number().int().nonnegative(),
});

/** What Re-arm Alarms did (`$.RearmResult`). */
export interface RearmResult {
  readonly rearmed: readonly { readonly alarmName: string; readonly reason: string }[];
  readonly reason: string;
}

/**
 * Re-arm Alarms: once a loop that changed capacity has released its lease, set the alarms
 * that are stuck in ALARM and should be judged afresh back to OK (see {@link alarmsToRearm}),
 * so that CloudWatch sends a new transition at their next period if their condition holds.
 * A retry reads the states again: an alarm it already set to OK is left alone.
 */
export async function rearmAlarms(
  request: ScalingRequest,
  change: z.output<typeof capacityChangeSchema> | undefined,
  deps: Pick<ScalingDeps, 'clients'>,
): Promise<RearmResult> {
  if (!change?.changed) return { rearmed: [], reason: 'the loop changed no capacity: no alarm to re-arm' };
  const names = stageNames(request.app, request.stage);
  const states = await describeAlarmStates(rearmCandidates(names, request.target), deps.clients.cloudWatch);
  const rearm = alarmsToRearm(names, request.target, change, states);
  for (const alarm of rearm)
    await setAlarmState(alarm.alarmName, 'OK', alarm.reason, deps.clients.cloudWatch);
  if (rearm.length > 0) logger.info('alarms re-armed', { alarms: rearm.map((a) => a.alarmName) });
  return {
    rearmed: rearm,
    reason:
      rearm.length > 0
        ? `re-armed ${rearm.map((a) => a.alarmName).join(', ')}`
        : 'no alarm to re-arm: none of the candidates is in ALARM',
  };
}

const caughtSchema = z.object({ Error: z.string(), Cause: z.string().optional() });

/** A failed execution's state as Release Lease After Failure gets it: each step's Catch writes its own path. */
export const failedScalingSchema = z.object({
  InterpretResult: z
    .object({ app: z.string().min(1), stage: z.string().min(1), target: z.enum(['service', 'cluster']) })
    .optional(),
  LeaseResult: z.object({ acquired: z.boolean() }).optional(),
  DrainResult: z.object({ containerInstanceArn: z.string(), ec2InstanceId: z.string() }).partial().optional(),
  DrainCheckResult: z.object({ message: z.string() }).optional(),
  InterpretError: caughtSchema.optional(),
  LeaseError: caughtSchema.optional(),
  ScaleServiceError: caughtSchema.optional(),
  ScaleClusterOutError: caughtSchema.optional(),
  AlarmReadError: caughtSchema.optional(),
  DrainError: caughtSchema.optional(),
  DrainCheckError: caughtSchema.optional(),
  TerminateError: caughtSchema.optional(),
  RestoreError: caughtSchema.optional(),
  RestoreAfterError: caughtSchema.optional(),
});
export type FailedScaling = z.output<typeof failedScalingSchema>;

const leaseFields = {
  app: z.string().min(1),
  stage: z.string().min(1),
  target: z.enum(['service', 'cluster']),
  owner: z.string().min(1),
};
export const acquireLeaseInputSchema = z.object({
  ...leaseFields,
  eventKey: z.string().min(1),
  leaseSeconds: z.number().int().positive(),
});
export type AcquireLeaseInput = z.output<typeof acquireLeaseInputSchema>;
export const releaseLeaseInputSchema = z.object(leaseFields);
export type ReleaseLeaseInput = z.output<typeof releaseLeaseInputSchema>;

/** Acquire Lease: records the event (idempotency) and takes the (stage, target) lease (one loop at a time). */
export async function acquireLease(
  input: AcquireLeaseInput,
  deps: Pick<ScalingDeps, 'clients' | 'now'>,
): Promise<AcquireResult> {
  return acquireScalingLease({ ...input, bucket: guardBucket() }, deps.now, deps.clients.s3);
}

/** Release Lease: gives back the (stage, target) lease when the loop ends. */
export async function releaseLease(
  input: ReleaseLeaseInput,
  deps: Pick<ScalingDeps, 'clients'>,
): Promise<{ released: boolean; reason: string }> {
  return releaseScalingLease({ ...input, bucket: guardBucket() }, deps.clients.s3);
}

export const releaseAfterFailureInputSchema = z.object({
  owner: z.string().min(1),
  failed: failedScalingSchema,
});
export type ReleaseAfterFailureInput = z.output<typeof releaseAfterFailureInputSchema>;

/** The restores, whose failure leaves the drained instance DRAINING, then the steps, by their Catch's path. */
const RESTORE_STEPS = [
  ['RestoreAfterError', 'Restore Instance After Error'],
  ['RestoreError', 'Restore Instance'],
] as const;
const FAILED_STEPS = [
  ['InterpretError', 'Interpret Event'],
  ['LeaseError', 'Acquire Lease'],
  ['ScaleServiceError', 'Scale Service'],
  ['ScaleClusterOutError', 'Scale Cluster Out'],
  ['AlarmReadError', 'Read Alarm State'],
  ['DrainError', 'Drain Instance'],
  ['DrainCheckError', 'Check Drain'],
  ['TerminateError', 'Terminate Instance'],
] as const;

/**
 * What a failed scaling tells: a restore that failed leaves its instance DRAINING
 * (`InstanceLeftDraining`, with the command that sets it ACTIVE); otherwise the failed step's
 * error, Cause `<step> failed: <message>`; otherwise the drain timed out (`DrainTimeout`, Check
 * Drain's message).
 */
export function explainScalingFailure(failed: FailedScaling): CaughtError {
  for (const [path, step] of RESTORE_STEPS) {
    const caught = failed[path];
    if (!caught) continue;
    const { app = '', stage = '' } = failed.InterpretResult ?? {};
    const { containerInstanceArn: arn, ec2InstanceId } = failed.DrainResult ?? {};
    const { cluster } = stageNames(app, stage);
    return {
      Error: 'InstanceLeftDraining',
      Cause: `${explainCaught(step, caught).Cause}; container instance ${arn} (${ec2InstanceId}) is still DRAINING in cluster ${cluster}: set it ACTIVE with \`aws ecs update-container-instances-state --cluster ${cluster} --container-instances ${arn} --status ACTIVE\``,
    };
  }
  for (const [path, step] of FAILED_STEPS) {
    const caught = failed[path];
    if (caught) return explainCaught(step, caught);
  }
  return { Error: 'DrainTimeout', Cause: failed.DrainCheckResult?.message ?? 'the drain timed out' };
}

/**
 * Release Lease After Failure, on every failure path: the failure's Error and Cause (see
 * {@link explainScalingFailure}), and the (stage, target) lease given back when this execution
 * took it, so the next event for the target may try again. A lease that cannot be given back
 * never hides the failure: it expires, and the next loop takes it over.
 */
export async function releaseAfterFailure(
  { owner, failed }: ReleaseAfterFailureInput,
  deps: Pick<ScalingDeps, 'clients'>,
): Promise<CaughtError & { released: boolean; reason: string }> {
  const failure = explainScalingFailure(failed);
  const lease = failed.InterpretResult;
  if (!lease || failed.LeaseResult?.acquired !== true)
    return { ...failure, released: false, reason: 'no lease taken' };
  try {
    const bucket = guardBucket();
    return { ...failure, ...(await releaseScalingLease({ ...lease, owner, bucket }, deps.clients.s3)) };
  } catch (error) {
    logger.error('could not release the lease', { ...lease, error });
    return {
      ...failure,
      released: false,
      reason: `the lease could not be released: ${(error as Error).message}`,
    };
  }
}
