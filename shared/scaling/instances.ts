/**
 * Which container instance a cluster scale-in drains, and when a drained instance may be
 * terminated. Pure: the handlers pass what ECS and Auto Scaling reported.
 */

/** A container instance as ECS reports it (the fields the decisions read). */
export interface ContainerInstanceView {
  readonly arn: string;
  readonly ec2InstanceId: string;
  /** `ACTIVE`, `DRAINING`, `REGISTERING`, ... */
  readonly status: string;
  readonly runningTasksCount: number;
  readonly pendingTasksCount: number;
  /** What the instance offers to tasks (`registeredResources`); undefined when ECS did not say. */
  readonly registered?: Resources;
  /** What its tasks leave free (`remainingResources`); undefined when ECS did not say. */
  readonly remaining?: Resources;
}

/** CPU units and MiB of memory, as ECS counts them in `registeredResources`/`remainingResources`. */
export interface Resources {
  readonly cpu: number;
  readonly memory: number;
}

/** An instance of the Auto Scaling group (the fields the decisions read). */
export interface GroupInstanceView {
  readonly instanceId: string;
  /** `InService`, `Pending`, `Terminating`, ... */
  readonly lifecycleState: string;
}

export type DrainChoice =
  | { readonly drain: ContainerInstanceView; readonly resumed: boolean; readonly reason: string }
  | { readonly drain?: undefined; readonly reason: string };

/** Tasks an instance runs or is about to run. */
export function tasksOn(instance: ContainerInstanceView): number {
  return instance.runningTasksCount + instance.pendingTasksCount;
}

/**
 * The instance to drain for one scale-in step, or why there is none.
 * - never below `min`: the group's desired capacity must stay at or above it after the step;
 * - an instance already DRAINING (a scale-in that was interrupted) is finished first;
 * - otherwise the ACTIVE instance with the fewest tasks (ties: the smallest instance id, so
 *   the choice is repeatable), among those the group has InService.
 */
export function chooseInstanceToDrain(
  containerInstances: readonly ContainerInstanceView[],
  groupInstances: readonly GroupInstanceView[],
  desiredCapacity: number,
  min: number,
): DrainChoice {
  if (desiredCapacity - 1 < min)
    return { reason: `already at the minimum of ${min} instance${min === 1 ? '' : 's'}` };
  const inService = new Set(
    groupInstances.filter((i) => i.lifecycleState === 'InService').map((i) => i.instanceId),
  );
  const members = containerInstances.filter((c) => inService.has(c.ec2InstanceId));
  const byFewestTasks = (a: ContainerInstanceView, b: ContainerInstanceView) =>
    tasksOn(a) - tasksOn(b) || a.ec2InstanceId.localeCompare(b.ec2InstanceId);
  const draining = members.filter((c) => c.status === 'DRAINING').sort(byFewestTasks)[0];
  if (draining)
    return { drain: draining, resumed: true, reason: `finishing the drain of ${draining.ec2InstanceId}` };
  const active = members.filter((c) => c.status === 'ACTIVE').sort(byFewestTasks);
  const chosen = active[0];
  if (!chosen) return { reason: 'no ACTIVE container instance of the group to drain' };
  const room = roomElsewhere(chosen, active.slice(1));
  if (!room.fits) return { reason: room.reason };
  return {
    drain: chosen,
    resumed: false,
    reason: `draining ${chosen.ec2InstanceId}, which runs ${tasksOn(chosen)} task(s), the fewest`,
  };
}

/**
 * Whether the tasks of `instance` fit on `others` (the other ACTIVE instances) once it is
 * drained: ECS would otherwise stop them with nowhere to start them again, the service
 * would run short and the drain would time out. An instance with no task always fits.
 *
 * The tasks' reservation is what the instance has in use (registered minus remaining),
 * shared evenly among its tasks: a stackpilot cluster runs one service, whose tasks all
 * reserve the same CPU and memory. Each other instance takes as many whole tasks as both
 * its remaining CPU and its remaining memory allow (a task never spans instances). An
 * instance whose resources ECS did not report is not drained (nothing proves there is room).
 */
export function roomElsewhere(
  instance: ContainerInstanceView,
  others: readonly ContainerInstanceView[],
): { fits: boolean; reason: string } {
  const tasks = tasksOn(instance);
  if (tasks === 0) return { fits: true, reason: `${instance.ec2InstanceId} runs no task` };
  const noRoom = (why: string) => ({
    fits: false,
    reason: `no room on the other instances for the ${tasks} task${tasks === 1 ? '' : 's'} of ${instance.ec2InstanceId} (${why}): not drained`,
  });
  if (!instance.registered || !instance.remaining)
    return noRoom(`ECS reported no resources for ${instance.ec2InstanceId}`);
  const perTask = {
    cpu: Math.max(0, instance.registered.cpu - instance.remaining.cpu) / tasks,
    memory: Math.max(0, instance.registered.memory - instance.remaining.memory) / tasks,
  };
  const fitting = (free: number, need: number) =>
    need > 0 ? Math.floor(Math.max(0, free) / need + 1e-9) : Number.POSITIVE_INFINITY;
  let slots = 0;
  for (const other of others) {
    if (other.status !== 'ACTIVE' || !other.remaining) continue;
    slots += Math.min(
      fitting(other.remaining.cpu, perTask.cpu),
      fitting(other.remaining.memory, perTask.memory),
    );
  }
  if (slots >= tasks)
    return {
      fits: true,
      reason: `the other instances have room for the ${tasks} task(s) of ${instance.ec2InstanceId}`,
    };
  const each = `${Math.round(perTask.cpu)} CPU units and ${Math.round(perTask.memory)} MiB each`;
  return noRoom(`${slots} free slot${slots === 1 ? '' : 's'} for tasks of ${each}`);
}

/** True only for a DRAINING instance that runs and expects no task: the one state it may be terminated in. */
export function canTerminate(instance: ContainerInstanceView): boolean {
  return instance.status === 'DRAINING' && tasksOn(instance) === 0;
}

export type DrainStatus = 'EMPTY' | 'DRAINING' | 'TIMED_OUT';

/** Where a drain stands at `now`: empty, still going, or past its deadline with tasks left. */
export function drainStatus(instance: ContainerInstanceView, deadline: Date, now: Date): DrainStatus {
  if (canTerminate(instance)) return 'EMPTY';
  return now.getTime() >= deadline.getTime() ? 'TIMED_OUT' : 'DRAINING';
}
