import { executionStatusChangeSchema } from '#events/step-functions-execution.ts';
import { instrument, logger } from '#shared/powertools.ts';
import { releaseDeps, routeReleaseAlert } from '#shared/release/steps.ts';

/**
 * Target of the rule on the `release` state machine's failed, timed-out and aborted executions:
 * routes a "stackpilot Release Failed" event to the stage's alert topic. An event that is not a
 * status change is logged and dropped.
 */
export const handler = instrument(async (event: unknown) => {
  const parsed = executionStatusChangeSchema.safeParse(event);
  if (!parsed.success) {
    logger.warn('not a release status change', { issues: parsed.error.issues.slice(0, 3) });
    return { routed: false };
  }
  return routeReleaseAlert(parsed.data, releaseDeps());
});
