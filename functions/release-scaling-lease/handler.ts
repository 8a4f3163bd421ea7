import { parseInput } from '#shared/errors.ts';
import { instrumentTask } from '#shared/powertools.ts';
import {
  releaseAfterFailure,
  releaseAfterFailureInputSchema,
  releaseLease,
  releaseLeaseInputSchema,
  scalingDeps,
} from '#shared/scaling/steps.ts';

const afterFailure = (event: unknown) => typeof event === 'object' && event !== null && 'failed' in event;

/** Release Lease: gives back the (stage, target) lease when the loop ends; after a failure, also tells it. */
export const handler = instrumentTask(async (event: unknown) => {
  if (afterFailure(event)) {
    const input = parseInput(releaseAfterFailureInputSchema, event, 'Release Lease After Failure input');
    return releaseAfterFailure(input, scalingDeps());
  }
  const input = parseInput(releaseLeaseInputSchema, event, 'Release Lease input');
  return releaseLease(input, scalingDeps());
});
