/**
 * "Register Task Definition" of the `release` state machine: copies the revision the
 * service runs, swaps the app container's image and registers the copy. Registers nothing
 * when the service already runs the image (a re-run of the same release).
 */
import * as z from 'zod';
import { InvalidInput, parseInput } from '#shared/errors.ts';
import { instrumentTask, logger } from '#shared/powertools.ts';
import { describeTaskDefinition, registerTaskDefinition } from '#shared/release/ecs.ts';
import { preparedReleaseSchema, type Target } from '#shared/release/model.ts';
import { deriveTaskDefinition } from '#shared/release/task-definition.ts';
import { releaseTags } from '#shared/release/tracker.ts';

const eventSchema = z.object({ release: preparedReleaseSchema });

/** Register Task Definition: the revision to deploy (`changed: false` when the service already runs the image). */
export async function registerReleaseRevision(event: unknown): Promise<Target> {
  const { release } = parseInput(eventSchema, event, 'Register Task Definition input');
  if (!release.image)
    throw new InvalidInput(`the ${release.action} of ${release.app}/${release.stage} names no image`);
  const { taskDefinition, tags } = await describeTaskDefinition(release.current.taskDefinitionArn);
  const derived = deriveTaskDefinition(taskDefinition, tags, release.image, releaseTags(release));
  if (!derived.input) {
    logger.info('the service already runs this image; nothing to register', {
      taskDefinitionArn: release.current.taskDefinitionArn,
      container: derived.container.name,
    });
    return {
      taskDefinitionArn: release.current.taskDefinitionArn,
      revision: release.current.revision,
      image: release.image,
      changed: false,
    };
  }
  const registered = await registerTaskDefinition(derived.input);
  logger.info('revision registered', {
    taskDefinitionArn: registered.taskDefinitionArn,
    container: derived.container.name,
    from: derived.container.image,
    to: release.image,
  });
  return {
    taskDefinitionArn: registered.taskDefinitionArn as string,
    revision: registered.revision as number,
    image: release.image,
    changed: true,
  };
}

export const handler = instrumentTask((event: unknown) => registerReleaseRevision(event));
