/**
 * The decision of one "Check Pipeline" step: from what CodePipeline says about an
 * execution, whether the deploy keeps waiting (and how long), succeeds, or fails with
 * which `Error` and `Cause`.
 */
import { boundedPollDelaySeconds, DEFAULT_POLL_SCHEDULE, type PollSchedule } from './backoff.ts';
import { type ActionAttempt, actionReason, describeOutcome, failedAction } from './failure.ts';
import { interpretStatus } from './status.ts';

/** The result of "Check Pipeline", at `$.CheckPipelineResult` of the `deploy` state machine. */
export interface PipelineCheck {
  readonly pipelineName: string;
  readonly pipelineExecutionId: string;
  /** CodePipeline's status of the execution. */
  readonly status: string;
  /** The execution will not change any more (or the deploy stopped waiting for it). */
  readonly done: boolean;
  /** Done without releasing the commit. */
  readonly failed: boolean;
  /** `Error` of the failed deploy (`PipelineFailed`, `PipelineSuperseded`, ...), null otherwise. */
  readonly error: string | null;
  /** Stage and action that failed, and their reason, when CodePipeline names them. */
  readonly stage: string | null;
  readonly action: string | null;
  readonly reason: string | null;
  /** `Cause` of the failed deploy: one sentence naming the pipeline, execution, commit, stage and reason. */
  readonly cause: string | null;
  readonly elapsedSeconds: number;
  /** Seconds the state machine waits before the next check (meaningful while not done). */
  readonly nextWaitSeconds: number;
}

export interface CheckFacts {
  readonly pipelineName: string;
  readonly pipelineExecutionId: string;
  readonly commit: string;
  readonly status: string | undefined;
  readonly statusSummary?: string;
  /** The action executions, listed only when the execution failed. */
  readonly actions?: readonly ActionAttempt[];
  readonly elapsedSeconds: number;
  /** Past this the deploy stops waiting and fails with `PipelineTimedOut`. */
  readonly limitSeconds: number;
  readonly schedule?: PollSchedule;
}

/** The fields of a check that did not fail (still running, or succeeded). */
export const NOT_FAILED = {
  failed: false,
  error: null,
  stage: null,
  action: null,
  reason: null,
  cause: null,
} as const;

/** Decides what the state machine does after one look at the execution. */
export function assessCheck(facts: CheckFacts): PipelineCheck {
  const status = facts.status ?? 'Unknown';
  const meaning = interpretStatus(facts.status);
  const elapsedSeconds = Math.max(0, Math.round(facts.elapsedSeconds));
  const base = {
    pipelineName: facts.pipelineName,
    pipelineExecutionId: facts.pipelineExecutionId,
    status,
    elapsedSeconds,
    nextWaitSeconds: boundedPollDelaySeconds(
      elapsedSeconds,
      facts.limitSeconds,
      facts.schedule ?? DEFAULT_POLL_SCHEDULE,
    ),
  };
  const common = {
    pipelineName: facts.pipelineName,
    pipelineExecutionId: facts.pipelineExecutionId,
    commit: facts.commit,
    status,
    ...(facts.statusSummary ? { statusSummary: facts.statusSummary } : {}),
  };
  if (meaning.done && !meaning.failed) {
    return { ...base, done: true, ...NOT_FAILED };
  }
  if (meaning.done && meaning.error) {
    const failed = meaning.error === 'PipelineFailed' ? failedAction(facts.actions ?? []) : undefined;
    return {
      ...base,
      done: true,
      failed: true,
      error: meaning.error,
      stage: failed?.stage ?? null,
      action: failed?.action ?? null,
      reason: failed ? actionReason(failed) : (facts.statusSummary ?? null),
      cause: describeOutcome({ ...common, error: meaning.error, ...(failed ? { failed } : {}) }),
    };
  }
  if (elapsedSeconds >= facts.limitSeconds) {
    return {
      ...base,
      done: true,
      failed: true,
      error: 'PipelineTimedOut',
      stage: null,
      action: null,
      reason: `still ${status} after ${Math.floor(elapsedSeconds / 60)} minutes`,
      cause: describeOutcome({
        ...common,
        error: 'PipelineTimedOut',
        waitedMinutes: Math.floor(elapsedSeconds / 60),
      }),
    };
  }
  return { ...base, done: false, ...NOT_FAILED };
}
