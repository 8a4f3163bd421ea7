/**
 * Errors of the `preview` state machine: their names are what its Retry and Catch match, their
 * messages what an operator reads in the failed execution's Cause.
 */

/** The stage already runs `previews.max` previews (two pull requests can pass the webhook's count at once). */
export class PreviewLimitReached extends Error {
  override readonly name = 'PreviewLimitReached';
}

/** The stage's front door parameter is missing or unreadable: the stage stack is not deployed (or too old). */
export class FrontDoorNotPublished extends Error {
  override readonly name = 'FrontDoorNotPublished';
}

/** The preview's deployment failed (its task did not start or stay healthy). */
export class PreviewDeploymentFailed extends Error {
  override readonly name = 'PreviewDeploymentFailed';
}

/**
 * Part of the preview is still going away (tasks draining, Cloud Map instances or a target
 * group still in use): the state machine retries the removal until it is gone.
 */
export class PreviewStillDraining extends Error {
  override readonly name = 'PreviewStillDraining';
}
