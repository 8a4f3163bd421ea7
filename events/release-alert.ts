/**
 * "stackpilot Release Failed": the event stackpilot puts on the default bus when a release
 * ends without success (sample: `events/samples/stackpilot-release-failed.json`). The
 * `release` state machine is shared by every stage, and EventBridge cannot look into the
 * execution's input (a JSON string), so the `route-release-alert` function reads app and stage
 * from it and puts this event; each stage's rule matches its own app and stage and sends the
 * alert to the stage's topic.
 */
import * as z from 'zod';

export const ALERT_SOURCE = 'stackpilot';
export const RELEASE_FAILED = 'stackpilot Release Failed';

export const releaseFailedDetailSchema = z
  .object({
    app: z.string().min(1),
    stage: z.string().min(1),
    /** `FAILED`, `TIMED_OUT` or `ABORTED`. */
    status: z.string().min(1),
    /** `release`, `redeploy` or `rollback` (an operator's). */
    action: z.string().min(1),
    /** The commit the release rolled out, when it had one. */
    commit: z.string().optional(),
    error: z.string(),
    cause: z.string(),
    executionArn: z.string().min(1),
    consoleUrl: z.url(),
  })
  .strict();

export type ReleaseFailedDetail = z.output<typeof releaseFailedDetailSchema>;

/** EventBridge pattern (JSON form) of one stage's failed releases. */
export function releaseFailedPattern(app: string, stage: string) {
  return {
    source: [ALERT_SOURCE],
    'detail-type': [RELEASE_FAILED],
    detail: { app: [app], stage: [stage] },
  };
}
