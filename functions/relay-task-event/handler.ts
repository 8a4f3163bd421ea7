/**
 * The relay, target of the rule on "CodePipeline Pipeline Execution State Change" and
 * "ECS Deployment State Change" (patterns in `events/task-events.ts`): records the event's
 * outcome under the pipeline execution id or deployment id, then resumes the execution
 * waiting there, if any (SendTaskSuccess, or SendTaskFailure so that one check says why).
 * An execution that stores its token later finds the outcome and resumes itself.
 */
import { taskEventSchema } from '#events/task-events.ts';
import { outcomeOf, resumeFor } from '#shared/callbacks/model.ts';
import { callbackBucket, deleteOutcome, getWait, putOutcome } from '#shared/callbacks/store.ts';
import { resumeTask } from '#shared/callbacks/task-tokens.ts';
import { instrument, logger } from '#shared/powertools.ts';

export interface RelayOptions {
  /** @default CALLBACK_BUCKET */
  readonly bucket?: string;
}

export type RelayResult =
  | { readonly relayed: false; readonly reason: string }
  | {
      readonly relayed: true;
      readonly kind: string;
      readonly id: string;
      readonly state: string;
      /** `resumed`: an execution was waiting; `recorded`: none yet (or it had already moved on). */
      readonly result: 'resumed' | 'recorded';
    };

/** Relays one event. An event that is not one of the two (or ends nothing) is logged and dropped. */
export async function relayTaskEvent(event: unknown, options: RelayOptions = {}): Promise<RelayResult> {
  const parsed = taskEventSchema.safeParse(event);
  if (!parsed.success) {
    // Retrying cannot fix a malformed event: EventBridge's retries would only repeat this.
    logger.warn('not a pipeline execution or deployment event', { issues: parsed.error.issues });
    return { relayed: false, reason: 'not a pipeline execution or deployment state change' };
  }
  const outcome = outcomeOf(parsed.data);
  if (!outcome) return { relayed: false, reason: 'the event ends no wait' };
  const bucket = options.bucket ?? callbackBucket();
  // The outcome first, the token second: a wait that stores its token in between reads the outcome.
  await putOutcome(bucket, outcome);
  const wait = await getWait(bucket, outcome.kind, outcome.id);
  let result: 'resumed' | 'recorded' = 'recorded';
  if (wait && (await resumeTask(wait.token, resumeFor(wait, outcome))) === 'resumed') {
    result = 'resumed';
    await deleteOutcome(bucket, outcome.kind, outcome.id);
  }
  logger.info('event relayed', { kind: outcome.kind, id: outcome.id, state: outcome.state, result });
  return { relayed: true, kind: outcome.kind, id: outcome.id, state: outcome.state, result };
}

export const handler = instrument((event: unknown) => relayTaskEvent(event));
