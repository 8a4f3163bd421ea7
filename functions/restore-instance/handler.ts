import * as z from 'zod';
import { parseInput } from '#shared/errors.ts';
import { instrumentTask } from '#shared/powertools.ts';
import { scalingRequestSchema } from '#shared/scaling/interpret.ts';
import { drainSchema, restoreInstance, scalingDeps } from '#shared/scaling/steps.ts';

const inputSchema = z.object({ request: scalingRequestSchema, drain: drainSchema });

/** Restore Instance: an abandoned drain sets the instance back to ACTIVE. */
export const handler = instrumentTask(async (event: unknown) => {
  const { request, drain } = parseInput(inputSchema, event, 'Restore Instance input');
  return restoreInstance(request, drain, scalingDeps());
});
