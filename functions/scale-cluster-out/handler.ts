import * as z from 'zod';
import { parseInput } from '#shared/errors.ts';
import { instrumentTask } from '#shared/powertools.ts';
import { scalingRequestSchema } from '#shared/scaling/interpret.ts';
import { scaleClusterOut, scalingDeps } from '#shared/scaling/steps.ts';

const inputSchema = z.object({ request: scalingRequestSchema });

/** Scale Cluster Out: the Auto Scaling group's desired capacity plus one (or the operator's count), within bounds. */
export const handler = instrumentTask(async (event: unknown) => {
  const { request } = parseInput(inputSchema, event, 'Scale Cluster Out input');
  return scaleClusterOut(request, scalingDeps());
});
