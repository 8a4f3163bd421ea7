import * as z from 'zod';
import { parseInput } from '#shared/errors.ts';
import { instrumentTask } from '#shared/powertools.ts';
import { scalingRequestSchema } from '#shared/scaling/interpret.ts';
import { scaleService, scalingDeps } from '#shared/scaling/steps.ts';

const inputSchema = z.object({ request: scalingRequestSchema });

/** Scale Service: the ECS service's desired count one step up or down (or to the operator's count), within bounds. */
export const handler = instrumentTask(async (event: unknown) => {
  const { request } = parseInput(inputSchema, event, 'Scale Service input');
  return scaleService(request, scalingDeps());
});
