/**
 * Task-token waits, pure: what a wait stores, what an ending event says, and how the waiting
 * execution is resumed. A wait is keyed by what the event names: the pipeline execution id,
 * or the ECS deployment id. The wait stores its token with a `context` (the fields the
 * execution needs back); the relay records the event's outcome. Whichever of the two comes
 * second resumes the execution, so an event that arrives before its token is not lost.
 */
import * as z from 'zod';
import {
  DEPLOYMENT_END_EVENTS,
  PIPELINE_END_STATES,
  PIPELINE_EXECUTION_STATE_CHANGE,
  type TaskEvent,
} from '#events/task-events.ts';
import { NOT_FAILED } from '../pipeline/check.ts';

export const WAIT_KINDS = ['pipeline', 'deployment'] as const;
export type WaitKind = (typeof WAIT_KINDS)[number];

/** The Payload of a `.waitForTaskToken` wait: the token, what it waits for, what to hand back. */
export const waitRequestSchema = z.object({
  token: z.string().min(1).max(1024),
  kind: z.enum(WAIT_KINDS),
  /** The pipeline execution id, or the ECS deployment id. */
  id: z.string().min(1).max(512),
  /** For a pipeline: pipelineName, pipelineExecutionId, startedAt, commit. For a deployment: its tracker. */
  context: z.record(z.string(), z.unknown()),
});
export type WaitRequest = z.output<typeof waitRequestSchema>;

/** What a stored token looks like (the wait request and when it was stored). */
export const storedWaitSchema = waitRequestSchema.extend({ storedAt: z.string() });
export type StoredWait = z.output<typeof storedWaitSchema>;

/** What an ending event said, as the relay records it. */
export const outcomeSchema = z.object({
  kind: z.enum(WAIT_KINDS),
  id: z.string().min(1),
  succeeded: z.boolean(),
  /** The pipeline state (`SUCCEEDED`, `FAILED`...) or the deployment event name. */
  state: z.string(),
  reason: z.string().optional(),
  /** The event's time. */
  time: z.string(),
});
export type Outcome = z.output<typeof outcomeSchema>;

/** Errors a wait ends with when the event says the wait is over without success; the Catch runs one check. */
export const PIPELINE_NOT_SUCCEEDED = 'PipelineNotSucceeded';
export const DEPLOYMENT_NOT_COMPLETED = 'DeploymentNotCompleted';

/** The outcome of an ending event, or undefined for an event that ends nothing (a STARTED pipeline). */
export function outcomeOf(event: TaskEvent): Outcome | undefined {
  if (event['detail-type'] === PIPELINE_EXECUTION_STATE_CHANGE) {
    const { detail } = event as Extract<TaskEvent, { 'detail-type': typeof PIPELINE_EXECUTION_STATE_CHANGE }>;
    if (!(PIPELINE_END_STATES as readonly string[]).includes(detail.state)) return undefined;
    return {
      kind: 'pipeline',
      id: detail['execution-id'],
      succeeded: detail.state === 'SUCCEEDED',
      state: detail.state,
      time: event.time,
    };
  }
  const { detail } = event as Extract<TaskEvent, { source: 'aws.ecs' }>;
  if (!(DEPLOYMENT_END_EVENTS as readonly string[]).includes(detail.eventName)) return undefined;
  return {
    kind: 'deployment',
    id: detail.deploymentId,
    succeeded: detail.eventName === 'SERVICE_DEPLOYMENT_COMPLETED',
    state: detail.eventName,
    ...(detail.reason ? { reason: detail.reason } : {}),
    time: event.time,
  };
}

/** How the waiting execution is resumed: SendTaskSuccess with `output`, or SendTaskFailure. */
export type Resume =
  | { readonly action: 'success'; readonly output: Record<string, unknown> }
  | { readonly action: 'failure'; readonly error: string; readonly cause: string };

/**
 * The resume of a wait by an outcome. A pipeline that succeeded resumes with the shape of a
 * Check Pipeline result (done, not failed); a deployment that completed resumes with its
 * tracker, COMPLETED. Anything else fails the wait with a named error whose Catch runs one
 * check, which says why (the failed action, the stopped tasks) as polling did.
 */
export function resumeFor(wait: Pick<WaitRequest, 'kind' | 'id' | 'context'>, outcome: Outcome): Resume {
  if (wait.kind === 'pipeline') {
    if (!outcome.succeeded) {
      return {
        action: 'failure',
        error: PIPELINE_NOT_SUCCEEDED,
        cause: `pipeline execution ${wait.id} ended ${outcome.state} at ${outcome.time}`,
      };
    }
    const startedAt = Date.parse(String(wait.context.startedAt ?? ''));
    const ended = Date.parse(outcome.time);
    const elapsedSeconds =
      Number.isFinite(startedAt) && Number.isFinite(ended) ? Math.max(0, (ended - startedAt) / 1000) : 0;
    return {
      action: 'success',
      output: {
        pipelineName: wait.context.pipelineName,
        pipelineExecutionId: wait.context.pipelineExecutionId ?? wait.id,
        status: 'Succeeded',
        done: true,
        ...NOT_FAILED,
        elapsedSeconds,
        nextWaitSeconds: 0,
      },
    };
  }
  if (!outcome.succeeded) {
    return {
      action: 'failure',
      error: DEPLOYMENT_NOT_COMPLETED,
      cause: `deployment ${wait.id} ended ${outcome.state}${outcome.reason ? `: ${outcome.reason}` : ''}`,
    };
  }
  return { action: 'success', output: { ...wait.context, state: 'COMPLETED' } };
}

/** `callbacks/<kind>/<id>/`: where a wait's token and its outcome are kept (ids such as `ecs-svc/123` encoded). */
export function callbackPrefix(kind: WaitKind, id: string): string {
  return `callbacks/${kind}/${encodeURIComponent(id)}/`;
}
