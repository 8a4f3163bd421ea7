import { waitRequestSchema } from '#shared/callbacks/model.ts';
import { awaitEvent, callbackDeps } from '#shared/callbacks/steps.ts';
import { parseInput } from '#shared/errors.ts';
import { instrumentTask } from '#shared/powertools.ts';

/**
 * "Wait For Pipeline", "Wait For Deployment" and "Wait For Rollback" (`.waitForTaskToken`): the
 * token stored where the relay finds it; resumed at once when the event came first.
 */
export const handler = instrumentTask(async (event: unknown) => {
  const request = parseInput(waitRequestSchema, event, 'Wait input');
  return awaitEvent(request, callbackDeps());
});
