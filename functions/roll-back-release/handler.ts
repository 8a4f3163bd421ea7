/**
 * "Roll Back" of the `release` state machine, after a deployment failed, timed out or
 * could not be watched. When the ECS circuit breaker (or another update) already moved
 * the service, it only watches that deployment: never a second rollback. Otherwise it
 * points the service back at the last good revision. Returns the rollback's tracker.
 */
import * as z from 'zod';
import { parseInput } from '#shared/errors.ts';
import { instrumentTask, logger } from '#shared/powertools.ts';
import { updateServiceTaskDefinition } from '#shared/release/ecs.ts';
import {
  describeRelease,
  type Failure,
  finalOutcome,
  preparedReleaseSchema,
  type Tracker,
  trackerSchema,
} from '#shared/release/model.ts';
import { startTracker } from '#shared/release/tracker.ts';

const eventSchema = z.object({
  PrepareResult: preparedReleaseSchema,
  Deployment: trackerSchema,
  /** Set when Check Deployment itself failed: the deployment could not be watched. */
  CheckError: z.object({ Error: z.string(), Cause: z.string().optional() }).optional(),
});

/** The readable part of a Lambda error's Cause (`{"errorMessage": …}`), or the Cause itself. */
function causeMessage(cause: string | undefined): string {
  if (!cause) return 'no cause given';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    return typeof parsed.errorMessage === 'string' ? parsed.errorMessage : cause;
  } catch {
    return cause;
  }
}

export interface RollBackOptions {
  /** Clock, in milliseconds (tests move it). */
  readonly now?: () => number;
}

/** Roll Back: the tracker of the rollback deployment (started here, or the circuit breaker's). */
export async function rollBackRelease(event: unknown, options: RollBackOptions = {}): Promise<Tracker> {
  const {
    PrepareResult: release,
    Deployment: failed,
    CheckError,
  } = parseInput(eventSchema, event, 'Roll Back input');
  const now = (options.now ?? Date.now)();
  const failure: Failure = failed.failure ?? {
    error: 'DeploymentFailed',
    reason: `deployment ${failed.deploymentId} could not be watched (${CheckError?.Error ?? 'unknown error'}: ${causeMessage(CheckError?.Cause)})`,
  };
  const rollbackOf = {
    description: describeRelease(release, failed.revision),
    error: failure.error,
    reason: failure.reason,
  };
  if (failure.replacedBy) {
    const by = failure.replacedBy;
    logger.info('the service already moved on; watching that deployment instead of rolling back again', {
      ...by,
    });
    return startTracker(
      {
        kind: 'rollback',
        deploymentId: by.deploymentId,
        taskDefinitionArn: by.taskDefinitionArn,
        revision: by.revision,
        rollbackOf,
        rolledBackBy: by.byCircuitBreaker ? 'circuit-breaker' : 'another-update',
      },
      release.timeoutMinutes,
      now,
    );
  }
  const previous = release.previous;
  if (previous.taskDefinitionArn === failed.taskDefinitionArn) {
    // Nothing better to return to: the failed revision is the last one known good.
    const ended: Tracker = {
      ...startTracker(
        {
          kind: 'rollback',
          deploymentId: failed.deploymentId,
          ...previous,
          rollbackOf,
          rolledBackBy: 'stackpilot',
        },
        release.timeoutMinutes,
        now,
      ),
      state: 'FAILED',
      failure: {
        error: 'RollbackFailed',
        reason: `revision ${previous.revision} is the only known good revision`,
      },
    };
    return { ...ended, outcome: finalOutcome(ended) };
  }
  const service = await updateServiceTaskDefinition(
    release.cluster,
    release.service,
    previous.taskDefinitionArn,
  );
  const deployment = service.deployments?.find(
    (d) => d.status === 'PRIMARY' && d.taskDefinition === previous.taskDefinitionArn,
  );
  if (!deployment?.id) {
    throw new Error(
      `ECS started no deployment of ${previous.taskDefinitionArn} on service ${release.service}`,
    );
  }
  logger.info('rolling back', { deploymentId: deployment.id, to: previous.taskDefinitionArn, failure });
  return startTracker(
    { kind: 'rollback', deploymentId: deployment.id, ...previous, rollbackOf, rolledBackBy: 'stackpilot' },
    release.timeoutMinutes,
    now,
  );
}

export const handler = instrumentTask((event: unknown) => rollBackRelease(event));
