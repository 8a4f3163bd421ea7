import { parseInput } from '#shared/errors.ts';
import { instrumentTask } from '#shared/powertools.ts';
import { prepareRelease, prepareReleaseInputSchema, releaseDeps } from '#shared/release/steps.ts';

/** Prepare Release: the parsed input, the service's current and last good revisions, a rollback's target, the lease. */
export const handler = instrumentTask(async (event: unknown) => {
  const input = parseInput(prepareReleaseInputSchema, event, 'Prepare Release input');
  return prepareRelease(input, releaseDeps());
});
