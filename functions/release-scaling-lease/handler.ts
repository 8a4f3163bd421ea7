import * as z from 'zod';
import { s3Client } from '#shared/aws/clients.ts';
import { parseInput } from '#shared/errors.ts';
import { instrumentTask } from '#shared/powertools.ts';
import { guardBucket, releaseScalingLease } from '#shared/scaling/lease-store.ts';
import { releaseAfterFailure, releaseAfterFailureInputSchema, scalingDeps } from '#shared/scaling/steps.ts';

const inputSchema = z.object({
  app: z.string().min(1),
  stage: z.string().min(1),
  target: z.enum(['service', 'cluster']),
  owner: z.string().min(1),
});
const afterFailure = (event: unknown) => typeof event === 'object' && event !== null && 'failed' in event;

/** Release Lease: gives back the (stage, target) lease when the loop ends; after a failure, also tells it. */
export const handler = instrumentTask(async (event: unknown) => {
  if (afterFailure(event)) {
    const input = parseInput(releaseAfterFailureInputSchema, event, 'Release Lease After Failure input');
    return releaseAfterFailure(input, scalingDeps());
  }
  const input = parseInput(inputSchema, event, 'Release Lease input');
  return releaseScalingLease({ ...input, bucket: guardBucket() }, s3Client);
});
