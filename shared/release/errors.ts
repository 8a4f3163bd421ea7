/**
 * Errors of the release workflow. Each `name` is an Error the `release` state machine
 * matches or fails with (docs/releases.md); each message is one sentence for the
 * operator, naming the app, stage and revision.
 */

/** No ECS service `stackpilot-<app>-<stage>` (the stage is not deployed yet, or was deleted). */
export class ServiceNotFound extends Error {
  override readonly name = 'ServiceNotFound';
}

/** The service's task definition has no container named `app` (someone replaced it outside stackpilot). */
export class ContainerNotFound extends Error {
  override readonly name = 'ContainerNotFound';
}

/** A rollback names a revision that does not exist or was deregistered. */
export class RevisionNotFound extends Error {
  override readonly name = 'RevisionNotFound';
}

/** A rollback without `toRevision`, and no earlier successful release is recorded. */
export class NoPreviousRelease extends Error {
  override readonly name = 'NoPreviousRelease';
}

/** Ways a deployment fails, as the execution reports them (its `Error`). */
export const DEPLOYMENT_ERRORS = [
  'TaskFailedToStart',
  'HealthCheckFailed',
  'ErrorRateAlarm',
  'DeploymentTimedOut',
  'DeploymentFailed',
  'RollbackFailed',
] as const;
export type DeploymentError = (typeof DEPLOYMENT_ERRORS)[number];
