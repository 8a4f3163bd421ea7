import * as z from 'zod';
import { parseInput } from '#shared/errors.ts';
import { instrumentTask } from '#shared/powertools.ts';
import { scalingRequestSchema } from '#shared/scaling/interpret.ts';
import { checkDrain, drainSchema, scalingDeps } from '#shared/scaling/steps.ts';

const inputSchema = z.object({ request: scalingRequestSchema, drain: drainSchema });

/** Check Drain: EMPTY, DRAINING or TIMED_OUT for the instance being drained. */
export const handler = instrumentTask(async (event: unknown) => {
  const { request, drain } = parseInput(inputSchema, event, 'Check Drain input');
  return checkDrain(request, drain, scalingDeps());
});
