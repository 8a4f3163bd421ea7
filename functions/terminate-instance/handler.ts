import * as z from 'zod';
import { parseInput } from '#shared/errors.ts';
import { instrumentTask } from '#shared/powertools.ts';
import { scalingRequestSchema } from '#shared/scaling/interpret.ts';
import { drainSchema, scalingDeps, terminateInstance } from '#shared/scaling/steps.ts';

const inputSchema = z.object({ request: scalingRequestSchema, drain: drainSchema });

/** Terminate Instance: terminates the drained, empty instance and decrements the group's desired capacity. */
export const handler = instrumentTask(async (event: unknown) => {
  const { request, drain } = parseInput(inputSchema, event, 'Terminate Instance input');
  return terminateInstance(request, drain, scalingDeps());
});
