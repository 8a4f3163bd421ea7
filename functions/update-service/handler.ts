import { parseInput } from '#shared/errors.ts';
import { instrumentTask } from '#shared/powertools.ts';
import { releaseDeps, updateService, updateServiceInputSchema } from '#shared/release/steps.ts';

/** Update Service: the tracker of the deployment to watch (started here, or the one already rolling). */
export const handler = instrumentTask(async (event: unknown) => {
  const input = parseInput(updateServiceInputSchema, event, 'Update Service input');
  return updateService(input, releaseDeps());
});
