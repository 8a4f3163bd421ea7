import { parseInput } from '#shared/errors.ts';
import { instrumentTask } from '#shared/powertools.ts';
import { acquireLease, acquireLeaseInputSchema, scalingDeps } from '#shared/scaling/steps.ts';

/** Acquire Lease: records the event (idempotency) and takes the (stage, target) lease (one loop at a time). */
export const handler = instrumentTask(async (event: unknown) => {
  const input = parseInput(acquireLeaseInputSchema, event, 'Acquire Lease input');
  return acquireLease(input, scalingDeps());
});
