import { executionStatusChangeSchema } from '#events/step-functions-execution.ts';
import { putReleaseFailed } from '#shared/alerts/event-bus.ts';
import { releaseFailedDetail } from '#shared/alerts/release.ts';
import { instrument, logger } from '#shared/powertools.ts';

/**
 * Target of the rule on the `release` state machine's failed, timed-out and aborted executions:
 * reads the stage from the execution's input and puts a "stackpilot Release Failed" event, which
 * the stage's rule sends to the stage's alert topic. An event that names no stage is logged and
 * dropped; a refused PutEvents throws, so Lambda's asynchronous retries try again.
 */
export const handler = instrument(async (event: unknown) => {
  const parsed = executionStatusChangeSchema.safeParse(event);
  if (!parsed.success) {
    logger.warn('not a release status change', { issues: parsed.error.issues.slice(0, 3) });
    return { routed: false };
  }
  const detail = releaseFailedDetail(parsed.data);
  if ('skipped' in detail) {
    logger.warn('no release alert', { reason: detail.skipped });
    return { routed: false };
  }
  await putReleaseFailed(detail);
  logger.info('release alert routed', { app: detail.app, stage: detail.stage, status: detail.status });
  return { routed: true, app: detail.app, stage: detail.stage };
});
