import * as z from 'zod';
import { parseInput } from '#shared/errors.ts';
import { instrumentTask } from '#shared/powertools.ts';
import { scalingRequestSchema } from '#shared/scaling/interpret.ts';
import { drainInstance, scalingDeps } from '#shared/scaling/steps.ts';

const inputSchema = z.object({ request: scalingRequestSchema });

/** Drain Instance: sets the container instance with the fewest tasks DRAINING, unless the cluster is at its minimum. */
export const handler = instrumentTask(async (event: unknown) => {
  const { request } = parseInput(inputSchema, event, 'Drain Instance input');
  return drainInstance(request, scalingDeps());
});
