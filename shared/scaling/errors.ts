/**
 * Errors of the `scale` state machine's steps. Each `name` is matched by the ASL's Catch
 * clauses; each message is one sentence for the operator reading the failed execution.
 */

/** The stage's ECS service, cluster or Auto Scaling group does not exist (or is not active). */
export class ScalingTargetNotFound extends Error {
  override readonly name = 'ScalingTargetNotFound';
}

/** A container instance about to be terminated still runs tasks: it is never terminated. */
export class InstanceNotEmpty extends Error {
  override readonly name = 'InstanceNotEmpty';
}

/** Terminating the instance would leave the group below its minimum (the group changed meanwhile). */
export class BelowMinimum extends Error {
  override readonly name = 'BelowMinimum';
}

/** ECS refused to change a container instance's state (its `failures` name the reason). */
export class ContainerInstanceUpdateFailed extends Error {
  override readonly name = 'ContainerInstanceUpdateFailed';
}
