/**
 * What the steps of the `release` state machine hand each other (zod schemas, so each
 * handler checks what it reads), and the sentences an execution ends with.
 */
import * as z from 'zod';
import { DEPLOYMENT_ERRORS } from './errors.ts';

const revisionRef = z.object({
  taskDefinitionArn: z.string().min(1),
  revision: z.number().int().positive(),
});

/** Output of Prepare Release (`$.PrepareResult`). */
export const preparedReleaseSchema = z.object({
  app: z.string(),
  stage: z.string(),
  action: z.enum(['release', 'redeploy', 'promote', 'rollback']),
  image: z.string().optional(),
  commit: z.string().optional(),
  /** Promotions: the stage whose released image this is. */
  promotedFrom: z.string().optional(),
  cluster: z.string(),
  service: z.string(),
  /** The PRIMARY deployment when the release started. */
  current: revisionRef.extend({
    deploymentId: z.string(),
    rolloutState: z.string(),
    image: z.string().optional(),
  }),
  /** The last revision known good (what a failed release returns to). */
  previous: revisionRef,
  /** Rollbacks only: the revision to return to. */
  rollbackTarget: revisionRef.extend({ image: z.string().optional(), changed: z.boolean() }).optional(),
  timeoutMinutes: z.number().int().positive(),
  execution: z.string(),
  startedAt: z.string(),
  /** The execution's ARN: what holds the stage lease. */
  executionArn: z.string().optional(),
  /** One release per stage: go (holds the stage), wait (another one changes it), superseded. */
  lease: z
    .object({
      decision: z.enum(['go', 'wait', 'superseded']),
      reason: z.string(),
      /** The newer release (superseded) or the holder (wait). */
      by: z.string().optional(),
    })
    .optional(),
});
export type PreparedRelease = z.output<typeof preparedReleaseSchema>;

/** The revision to deploy (`$.Target`): registered by this release, or a rollback's target. */
export const targetSchema = revisionRef.extend({
  image: z.string().optional(),
  /** False when the service already runs this revision: nothing to register or update. */
  changed: z.boolean(),
});
export type Target = z.output<typeof targetSchema>;

const failureSchema = z.object({
  error: z.enum(DEPLOYMENT_ERRORS),
  reason: z.string(),
  /** The deployment that already replaced the failed one (circuit-breaker rollback): no second rollback. */
  replacedBy: z
    .object({
      deploymentId: z.string(),
      taskDefinitionArn: z.string(),
      revision: z.number().int(),
      byCircuitBreaker: z.boolean(),
    })
    .optional(),
});
export type Failure = z.output<typeof failureSchema>;

/**
 * One watched deployment (`$.Deployment`, `$.Rollback`): Update Service or Roll Back
 * starts it, Check Deployment updates it until it is no longer IN_PROGRESS.
 */
export const trackerSchema = z.object({
  kind: z.enum(['release', 'rollback']),
  deploymentId: z.string(),
  taskDefinitionArn: z.string(),
  revision: z.number().int().positive(),
  startedAt: z.string(),
  deadline: z.string(),
  polls: z.number().int().nonnegative(),
  /** Seconds the next Wait state waits. */
  waitSeconds: z.number().int().positive(),
  state: z.enum(['IN_PROGRESS', 'COMPLETED', 'FAILED']),
  progress: z.string().optional(),
  failure: failureSchema.optional(),
  /** Rollback trackers: what failed, to explain the execution's end. */
  rollbackOf: z
    .object({ description: z.string(), error: z.enum(DEPLOYMENT_ERRORS), reason: z.string() })
    .optional(),
  /** Rollback trackers: who moved the service back (stackpilot only watches the other two). */
  rolledBackBy: z.enum(['stackpilot', 'circuit-breaker', 'another-update']).optional(),
  /** Terminal rollback trackers: the Error and Cause the execution fails with. */
  outcome: z.object({ error: z.enum(DEPLOYMENT_ERRORS), cause: z.string() }).optional(),
});
export type Tracker = z.output<typeof trackerSchema>;

/** "release of starter/dev image …:abc (revision 13)", "rollback of starter/dev to revision 11". */
export function describeRelease(release: PreparedRelease, revision: number): string {
  const where = `${release.app}/${release.stage}`;
  if (release.action === 'rollback') return `rollback of ${where} to revision ${revision}`;
  const commit = release.commit ? ` (commit ${release.commit.slice(0, 12)})` : '';
  return `${release.action} of ${where} image ${release.image}${commit} as revision ${revision}`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * The Error and Cause of a release whose rollback ended: the original failure and which
 * revision runs now, or `RollbackFailed` when the rollback did not complete either.
 */
export function finalOutcome(rollback: Tracker): { error: Failure['error']; cause: string } {
  const of = rollback.rollbackOf ?? {
    description: 'release',
    error: 'DeploymentFailed' as const,
    reason: 'unknown',
  };
  const who = {
    stackpilot: 'stackpilot rolled the service back',
    'circuit-breaker': 'The ECS circuit breaker rolled the service back',
    'another-update': 'Another update of the service took over, moving it',
  }[rollback.rolledBackBy ?? 'stackpilot'];
  if (rollback.state === 'COMPLETED') {
    return {
      error: of.error,
      cause: `${capitalize(of.description)} failed: ${of.reason}. ${who} to revision ${rollback.revision}; revision ${rollback.revision} is running.`,
    };
  }
  return {
    error: 'RollbackFailed',
    cause: `${capitalize(of.description)} failed: ${of.reason}. ${who} to revision ${rollback.revision}, and that did not complete either: ${rollback.failure?.reason ?? 'unknown'}. Check the service now.`,
  };
}
