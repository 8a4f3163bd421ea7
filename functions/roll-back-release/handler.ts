import { parseInput } from '#shared/errors.ts';
import { instrumentTask } from '#shared/powertools.ts';
import { releaseDeps, rollBackInputSchema, rollBackRelease } from '#shared/release/steps.ts';

/** Roll Back: the tracker of the rollback deployment (started here, or the circuit breaker's). */
export const handler = instrumentTask(async (event: unknown) => {
  const input = parseInput(rollBackInputSchema, event, 'Roll Back input');
  return rollBackRelease(input, releaseDeps());
});
