import { parseInput } from '#shared/errors.ts';
import { instrumentTask } from '#shared/powertools.ts';
import { recordRelease, recordReleaseInputSchema, releaseDeps } from '#shared/release/steps.ts';

/** Record Release / Record Failed Release: the revision's tag, the released image, the history record. */
export const handler = instrumentTask(async (event: unknown) => {
  const input = parseInput(recordReleaseInputSchema, event, 'Record Release input');
  return recordRelease(input, releaseDeps());
});
