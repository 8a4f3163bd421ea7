import * as z from 'zod';
import { parseInput } from '#shared/errors.ts';
import { instrumentTask } from '#shared/powertools.ts';
import { scalingRequestSchema } from '#shared/scaling/interpret.ts';
import { readAlarmState, scalingDeps } from '#shared/scaling/steps.ts';

const inputSchema = z.object({ request: scalingRequestSchema });

/** Read Alarm State: after the cooldown, repeat the step while the alarm is still in ALARM. */
export const handler = instrumentTask(async (event: unknown) => {
  const { request } = parseInput(inputSchema, event, 'Read Alarm State input');
  return readAlarmState(request, scalingDeps());
});
