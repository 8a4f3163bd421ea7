import * as z from 'zod';
import { parseInput } from '#shared/errors.ts';
import { instrumentTask } from '#shared/powertools.ts';
import { guardBucket, releaseScalingLease } from '#shared/scaling/lease-store.ts';

const inputSchema = z.object({
  app: z.string().min(1),
  stage: z.string().min(1),
  target: z.enum(['service', 'cluster']),
  owner: z.string().min(1),
});

/** Release Lease: gives back the (stage, target) lease when the loop ends, succeeded or failed. */
export const handler = instrumentTask(async (event: unknown) => {
  const input = parseInput(inputSchema, event, 'Release Lease input');
  return releaseScalingLease({ ...input, bucket: guardBucket() });
});
