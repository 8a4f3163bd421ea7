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
  const chosen = members.filter((c) => c.status === 'ACTIVE').sort(byFewestTasks)[0];
  if (!chosen) return { reason: 'no ACTIVE container instance of the group to drain' };
  return {
    drain: chosen,
    resumed: false,
    reason: `draining ${chosen.ec2InstanceId}, which runs ${tasksOn(chosen)} task(s), the fewest`,
  };
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
