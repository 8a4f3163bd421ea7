/**
 * "Wait For Pipeline", "Wait For Deployment" and "Wait For Rollback" (`.waitForTaskToken`):
 * stores the execution's task token under the pipeline execution id or the ECS deployment
 * id, where the relay finds it when the event comes. When the event came first, its outcome
 * is already recorded: the wait resumes at once.
 */

import { resumeFor, waitRequestSchema } from '#shared/callbacks/model.ts';
import { callbackBucket, deleteOutcome, getOutcome, putWait } from '#shared/callbacks/store.ts';
import { resumeTask } from '#shared/callbacks/task-tokens.ts';
import { parseInput } from '#shared/errors.ts';
import { instrumentTask, logger } from '#shared/powertools.ts';

export interface AwaitOptions {
  /** Clock, in milliseconds (tests move it). */
  readonly now?: () => number;
  /** @default CALLBACK_BUCKET */
  readonly bucket?: string;
}

export interface AwaitResult {
  readonly kind: string;
  readonly id: string;
  /** True when the event had come first and this call resumed the execution. */
  readonly resumedAtOnce: boolean;
}

/** Stores the token; resumes at once when the outcome is already recorded. */
export async function awaitEvent(event: unknown, options: AwaitOptions = {}): Promise<AwaitResult> {
  const request = parseInput(waitRequestSchema, event, 'Wait input');
  const bucket = options.bucket ?? callbackBucket();
  const storedAt = new Date((options.now ?? Date.now)()).toISOString();
  // The token first, the outcome second: a relay that records its outcome in between reads the token.
  await putWait(bucket, { ...request, storedAt });
  const outcome = await getOutcome(bucket, request.kind, request.id);
  if (!outcome) {
    logger.info('waiting for the event', { kind: request.kind, id: request.id });
    return { kind: request.kind, id: request.id, resumedAtOnce: false };
  }
  const resumed = await resumeTask(request.token, resumeFor(request, outcome));
  if (resumed === 'resumed') await deleteOutcome(bucket, request.kind, request.id);
  logger.info('the event came first', { kind: request.kind, id: request.id, state: outcome.state, resumed });
  return { kind: request.kind, id: request.id, resumedAtOnce: resumed === 'resumed' };
}

export const handler = instrumentTask((event: unknown) => awaitEvent(event));
