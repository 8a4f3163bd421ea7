/**
 * What the deploy reports on the pushed commit, from the deploy execution's status changes:
 * pure decisions, no I/O. The deploy's pipeline ends with the release (its last action starts
 * the `release` state machine and waits for it), so the deploy's end is the release's end:
 *
 * | deploy execution | commit status |
 * | --- | --- |
 * | RUNNING (packaging starts) | pending: "<stage>: deploying <commit>" |
 * | SUCCEEDED | success: "<stage>: <commit> is live" |
 * | FAILED | failure: "<stage>: <Error>: <Cause>" |
 * | TIMED_OUT, ABORTED | error: "<stage>: the deploy timed out / was stopped" |
 */
import { deployInputSchema } from '#events/deploy.ts';
import { type ExecutionStatusChange, executionConsoleUrl } from '#events/step-functions-execution.ts';

/** The outcome of the deploy as a commit status, before a provider's own words. */
export type CommitState = 'pending' | 'success' | 'failure' | 'error';

/** The `metric` field of the log line of a status that could not be set; a metric filter counts these. */
export const STATUS_FAILED_METRIC = 'CommitStatusFailed';

/** GitHub and GitLab both cap a status description; GitHub at 140 characters. */
export const MAX_DESCRIPTION = 140;

export interface CommitStatusReport {
  readonly app: string;
  readonly stage: string;
  readonly provider: 'github' | 'gitlab';
  /** The repository's HTTPS clone URL, as in the deploy input. */
  readonly repositoryUrl: string;
  readonly commit: string;
  readonly state: CommitState;
  /** At most {@link MAX_DESCRIPTION} characters. */
  readonly description: string;
  /** Names the status among the commit's others: `stackpilot/<app>/<stage>`. */
  readonly context: string;
  /** The deploy execution in the Step Functions console. */
  readonly targetUrl: string;
}

/** An event that reports nothing, and why (logged, never an error). */
export interface NoReport {
  readonly skipped: string;
}

/**
 * The commit status a deploy execution's status change reports, or why it reports none
 * (a status that is not one of the five, an input that is missing or not a deploy input).
 */
export function commitStatusFor(event: ExecutionStatusChange): CommitStatusReport | NoReport {
  const { detail } = event;
  const state = stateOf(detail.status);
  if (!state) return { skipped: `execution status ${detail.status} reports nothing` };
  if (detail.input == null) {
    return { skipped: `the event of ${detail.name} carries no input (over EventBridge's size limit?)` };
  }
  let document: unknown;
  try {
    document = JSON.parse(detail.input);
  } catch {
    return { skipped: `the input of ${detail.name} is not JSON` };
  }
  const input = deployInputSchema.safeParse(document);
  if (!input.success) return { skipped: `the input of ${detail.name} is not a deploy input` };
  const { app, stage, commit, repository } = input.data;
  return {
    app,
    stage,
    provider: repository.provider,
    repositoryUrl: repository.url,
    commit,
    state,
    description: describe(state, detail.status, stage, commit, detail.error, detail.cause),
    context: `stackpilot/${app}/${stage}`,
    targetUrl: executionConsoleUrl(detail.executionArn),
  };
}

function stateOf(status: string): CommitState | undefined {
  switch (status) {
    case 'RUNNING':
      return 'pending';
    case 'SUCCEEDED':
      return 'success';
    case 'FAILED':
      return 'failure';
    case 'TIMED_OUT':
    case 'ABORTED':
      return 'error';
    default:
      return undefined;
  }
}

function describe(
  state: CommitState,
  status: string,
  stage: string,
  commit: string,
  error: string | null | undefined,
  cause: string | null | undefined,
): string {
  const short = commit.slice(0, 7);
  switch (state) {
    case 'pending':
      return truncate(`${stage}: deploying ${short}`);
    case 'success':
      return truncate(`${stage}: ${short} is live`);
    case 'failure':
      return truncate(
        `${stage}: ${[error, readableCause(cause)].filter(Boolean).join(': ') || 'the deploy failed'}`,
      );
    default:
      return truncate(
        `${stage}: ${status === 'TIMED_OUT' ? 'the deploy timed out' : 'the deploy was stopped'}`,
      );
  }
}

/**
 * A Cause as a person reads it: a Lambda error's cause is JSON (`{"errorType", "errorMessage", …}`),
 * whose message is what matters; any other cause is used as it is, on one line.
 */
export function readableCause(cause: string | null | undefined): string {
  if (!cause) return '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return oneLine(parsed.errorMessage);
  } catch {
    // not JSON: the cause is the text
  }
  return oneLine(cause);
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Cut to {@link MAX_DESCRIPTION} characters, with an ellipsis when something was cut. */
export function truncate(text: string, max = MAX_DESCRIPTION): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}
