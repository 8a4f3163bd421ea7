/**
 * Which action of a pipeline execution failed, and the sentence that tells the operator
 * why a deploy ended without releasing its commit.
 */
import type { PipelineOutcomeError } from './status.ts';

/** One action execution of a pipeline execution (the part of `ListActionExecutions` that matters here). */
export interface ActionAttempt {
  readonly stage: string;
  readonly action: string;
  /** `InProgress` | `Abandoned` | `Succeeded` | `Failed`. */
  readonly status: string;
  readonly lastUpdateTime?: Date;
  /** `errorDetails.message`: why the action failed. */
  readonly errorMessage?: string;
  /** `externalExecutionSummary`: e.g. the CodeBuild phase that failed. */
  readonly summary?: string;
  /** `externalExecutionUrl`: the build's logs, the state machine execution... */
  readonly url?: string;
}

/** The failed action to blame: the most recently updated one (a retried stage fails more than once). */
export function failedAction(attempts: readonly ActionAttempt[]): ActionAttempt | undefined {
  let blamed: ActionAttempt | undefined;
  for (const attempt of attempts) {
    if (attempt.status !== 'Failed') continue;
    if (!blamed || (attempt.lastUpdateTime?.getTime() ?? 0) >= (blamed.lastUpdateTime?.getTime() ?? 0)) {
      blamed = attempt;
    }
  }
  return blamed;
}

/** The reason an action gives for its failure, in one line. */
export function actionReason(attempt: ActionAttempt): string {
  const parts = [attempt.errorMessage, attempt.summary]
    .map((p) => p?.replace(/\s+/g, ' ').trim())
    .filter((p): p is string => Boolean(p));
  // CodeBuild often repeats the same text in both fields.
  const unique = [...new Set(parts)];
  return unique.length > 0 ? unique.join('; ') : 'the action gave no reason';
}

export interface OutcomeFacts {
  readonly pipelineName: string;
  readonly pipelineExecutionId: string;
  readonly commit: string;
  readonly error: PipelineOutcomeError;
  /** The execution's status when the deploy gave up (for a time-out). */
  readonly status: string;
  /** `statusSummary` of the execution (e.g. "Superseded by pipeline execution ID ..."). */
  readonly statusSummary?: string;
  readonly failed?: ActionAttempt;
  /** Minutes waited, for a time-out. */
  readonly waitedMinutes?: number;
}

/** The `Cause` of a deploy that ended in the pipeline: what happened, where, to which commit, and why. */
export function describeOutcome(facts: OutcomeFacts): string {
  const execution = `pipeline ${facts.pipelineName} execution ${facts.pipelineExecutionId}`;
  const summary = facts.statusSummary?.trim() ? `: ${facts.statusSummary.trim()}` : '';
  switch (facts.error) {
    case 'PipelineFailed': {
      const action = facts.failed;
      if (!action) {
        return `${execution} failed for commit ${facts.commit}${summary || ': CodePipeline gave no reason'}`;
      }
      const link = action.url ? ` (details: ${action.url})` : '';
      return `${execution} failed in stage ${action.stage}, action ${action.action}, for commit ${facts.commit}: ${actionReason(action)}${link}`;
    }
    case 'PipelineStopped':
      return `${execution} was stopped before it released commit ${facts.commit}${summary}`;
    case 'PipelineSuperseded':
      return `${execution} was superseded by a newer execution before it released commit ${facts.commit}${summary}`;
    case 'PipelineCancelled':
      return `${execution} was cancelled before it released commit ${facts.commit}${summary}`;
    case 'PipelineTimedOut':
      return `gave up waiting for ${execution} after ${facts.waitedMinutes ?? '?'} minutes (status ${facts.status}); commit ${facts.commit} may still be released: watch the pipeline`;
  }
}
