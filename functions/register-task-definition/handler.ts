import { parseInput } from '#shared/errors.ts';
import { instrumentTask } from '#shared/powertools.ts';
import { registerReleaseRevision, releaseDeps, releaseStepInputSchema } from '#shared/release/steps.ts';

/** Register Task Definition: the revision to deploy (`changed: false` when the service already runs the image). */
export const handler = instrumentTask(async (event: unknown) => {
  const input = parseInput(releaseStepInputSchema, event, 'Register Task Definition input');
  return registerReleaseRevision(input, releaseDeps());
});
