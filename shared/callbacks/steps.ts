/**
 * The two sides of a task-token wait: "Wait For Pipeline", "Wait For Deployment" and "Wait For
 * Rollback" (`.waitForTaskToken`) store the execution's token under the pipeline execution id
 * or the ECS deployment id; the relay (target of the rule on "CodePipeline Pipeline Execution
 * State Change" and "ECS Deployment State Change", patterns in `events/task-events.ts`) records
 * the event's outcome there and resumes the execution waiting, if any. Whichever comes second
 * resumes the execution. Each step takes its input and `{clients, now, bucket}`.
 */
import { taskEventSchema } from '#events/task-events.ts';
import { type Clients, s3Client, sfnClient } from '../aws/clients.ts';
import { logger } from '../powertools.ts';
import { outcomeOf, resumeFor, type WaitRequest } from './model.ts';
import { callbackBucket, deleteOutcome, getOutcome, getWait, putOutcome, putWait } from './store.ts';
import { resumeTask } from './task-tokens.ts';

/** What the steps use: S3 (the callback store), Step Functions (SendTask*), the clock and the bucket. */
export interface CallbackDeps {
  readonly clients: Pick<Clients, 's3' | 'sfn'>;
  readonly now: () => Date;
  /** The callback bucket (`CALLBACK_BUCKET`). */
  readonly bucket: string;
}

/**
 * The deployed functions' dependencies: the shared clients (the named ones, not the `clients`
 * record, so the bundle carries only the SDK clients it calls), the clock, `CALLBACK_BUCKET`.
 */
export function callbackDeps(): CallbackDeps {
  return { clients: { s3: s3Client, sfn: sfnClient }, now: () => new Date(), bucket: callbackBucket() };
}

export interface AwaitResult {
  readonly kind: string;
  readonly id: string;
  /** True when the event had come first and this call resumed the execution. */
  readonly resumedAtOnce: boolean;
}

/** The wait: stores the token; resumes at once when the outcome is already recorded. */
export async function awaitEvent(request: WaitRequest, deps: CallbackDeps): Promise<AwaitResult> {
  const { bucket } = deps;
  const { s3, sfn } = deps.clients;
  const storedAt = deps.now().toISOString();
  // The token first, the outcome second: a relay that records its outcome in between reads the token.
  await putWait(bucket, { ...request, storedAt }, s3);
  const outcome = await getOutcome(bucket, request.kind, request.id, s3);
  if (!outcome) {
    logger.info('waiting for the event', { kind: request.kind, id: request.id });
    return { kind: request.kind, id: request.id, resumedAtOnce: false };
  }
  const resumed = await resumeTask(request.token, resumeFor(request, outcome), sfn);
  if (resumed === 'resumed') await deleteOutcome(bucket, request.kind, request.id, s3);
  logger.info('the event came first', { kind: request.kind, id: request.id, state: outcome.state, resumed });
  return { kind: request.kind, id: request.id, resumedAtOnce: resumed === 'resumed' };
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

/**
 * The relay: records one event's outcome, then resumes the execution waiting on it (SendTaskSuccess,
 * or SendTaskFailure so that one check says why). Takes the event as EventBridge delivers it: one
 * that is not one of the two (or ends nothing) is logged and dropped, not thrown.
 */
export async function relayTaskEvent(event: unknown, deps: CallbackDeps): Promise<RelayResult> {
  const parsed = taskEventSchema.safeParse(event);
  if (!parsed.success) {
    // Retrying cannot fix a malformed event: EventBridge's retries would only repeat this.
    logger.warn('not a pipeline execution or deployment event', { issues: parsed.error.issues });
    return { relayed: false, reason: 'not a pipeline execution or deployment state change' };
  }
  const outcome = outcomeOf(parsed.data);
  if (!outcome) return { relayed: false, reason: 'the event ends no wait' };
  const { bucket } = deps;
  const { s3, sfn } = deps.clients;
  // The outcome first, the token second: a wait that stores its token in between reads the outcome.
  await putOutcome(bucket, outcome, s3);
  const wait = await getWait(bucket, outcome.kind, outcome.id, s3);
  let result: 'resumed' | 'recorded' = 'recorded';
  if (wait && (await resumeTask(wait.token, resumeFor(wait, outcome), sfn)) === 'resumed') {
    result = 'resumed';
    await deleteOutcome(bucket, outcome.kind, outcome.id, s3);
  }
  logger.info('event relayed', { kind: outcome.kind, id: outcome.id, state: outcome.state, result });
  return { relayed: true, kind: outcome.kind, id: outcome.id, state: outcome.state, result };
}
