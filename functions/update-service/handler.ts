/**
 * "Update Service" of the `release` state machine: points the service at the target
 * revision and returns the tracker of the deployment ECS started. When the service
 * already runs the target (a re-run while the first run's deployment still rolls), it
 * watches that deployment instead of starting another.
 */
import * as z from 'zod';
import { parseInput } from '#shared/errors.ts';
import { instrumentTask, logger } from '#shared/powertools.ts';
import { updateServiceTaskDefinition } from '#shared/release/ecs.ts';
import { preparedReleaseSchema, type Tracker, targetSchema } from '#shared/release/model.ts';
import { startTracker } from '#shared/release/tracker.ts';

const eventSchema = z.object({ release: preparedReleaseSchema, target: targetSchema });

export interface UpdateOptions {
  /** Clock, in milliseconds (tests move it). */
  readonly now?: () => number;
}

/** Update Service: the tracker of the deployment to watch. */
export async function updateService(event: unknown, options: UpdateOptions = {}): Promise<Tracker> {
  const { release, target } = parseInput(eventSchema, event, 'Update Service input');
  const now = (options.now ?? Date.now)();
  const fields = {
    kind: 'release' as const,
    taskDefinitionArn: target.taskDefinitionArn,
    revision: target.revision,
  };
  if (!target.changed) {
    logger.info('the service already runs the target revision; watching its deployment', {
      deploymentId: release.current.deploymentId,
    });
    return startTracker(
      { ...fields, deploymentId: release.current.deploymentId },
      release.timeoutMinutes,
      now,
    );
  }
  const service = await updateServiceTaskDefinition(
    release.cluster,
    release.service,
    target.taskDefinitionArn,
  );
  const deployment = service.deployments?.find(
    (d) => d.status === 'PRIMARY' && d.taskDefinition === target.taskDefinitionArn,
  );
  if (!deployment?.id) {
    throw new Error(
      `ECS started no deployment of ${target.taskDefinitionArn} on service ${release.service} of cluster ${release.cluster}`,
    );
  }
  logger.info('deployment started', {
    deploymentId: deployment.id,
    taskDefinitionArn: target.taskDefinitionArn,
  });
  return startTracker({ ...fields, deploymentId: deployment.id }, release.timeoutMinutes, now);
}

export const handler = instrumentTask((event: unknown) => updateService(event));
