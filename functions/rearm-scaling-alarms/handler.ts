import * as z from 'zod';
import { parseInput } from '#shared/errors.ts';
import { instrumentTask } from '#shared/powertools.ts';
import { scalingRequestSchema } from '#shared/scaling/interpret.ts';
import { capacityChangeSchema, rearmAlarms, scalingDeps } from '#shared/scaling/steps.ts';

const inputSchema = z.object({ request: scalingRequestSchema, change: capacityChangeSchema.optional() });

/** Re-arm Alarms: after a loop that changed capacity, alarms stuck in ALARM go back to OK so they can fire again. */
export const handler = instrumentTask(async (event: unknown) => {
  const { request, change } = parseInput(inputSchema, event, 'Re-arm Alarms input');
  return rearmAlarms(request, change, scalingDeps());
});
