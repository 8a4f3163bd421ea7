import * as z from 'zod';
import { s3Client } from '#shared/aws/clients.ts';
import { parseInput } from '#shared/errors.ts';
import { instrumentTask } from '#shared/powertools.ts';
import { acquireScalingLease, guardBucket } from '#shared/scaling/lease-store.ts';

const inputSchema = z.object({
  app: z.string().min(1),
  stage: z.string().min(1),
  target: z.enum(['service', 'cluster']),
  eventKey: z.string().min(1),
  leaseSeconds: z.number().int().positive(),
  owner: z.string().min(1),
});

/** Acquire Lease: records the event (idempotency) and takes the (stage, target) lease (one loop at a time). */
export const handler = instrumentTask(async (event: unknown) => {
  const input = parseInput(inputSchema, event, 'Acquire Lease input');
  return acquireScalingLease({ ...input, bucket: guardBucket() }, undefined, s3Client);
});
