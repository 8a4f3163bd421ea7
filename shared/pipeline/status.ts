/**
 * What a CodePipeline execution status means for the `deploy` state machine: keep
 * waiting, done, or done and failed with which `Error` name.
 */

/** The statuses of `GetPipelineExecution` (`PipelineExecutionStatus` of the SDK). */
export type PipelineStatus =
  | 'InProgress'
  | 'Stopping'
  | 'Succeeded'
  | 'Failed'
  | 'Stopped'
  | 'Superseded'
  | 'Cancelled';

/** `Error` names of a deploy that ended in the pipeline. */
export type PipelineOutcomeError =
  | 'PipelineFailed'
  | 'PipelineStopped'
  | 'PipelineSuperseded'
  | 'PipelineCancelled'
  | 'PipelineTimedOut';

export interface StatusMeaning {
  /** The execution will not change any more. */
  readonly done: boolean;
  /** Done without releasing the commit: the deploy fails with {@link error}. */
  readonly failed: boolean;
  readonly error: PipelineOutcomeError | null;
}

const RUNNING: StatusMeaning = { done: false, failed: false, error: null };

/**
 * Maps a pipeline execution status. A superseded, stopped or cancelled execution did
 * not release the pushed commit, so the deploy of that commit fails too (with its own
 * error name, so an alarm on `PipelineFailed` does not fire for a newer push).
 * Unknown statuses (a future API value) are treated as still running: the wait limit
 * ends them.
 */
export function interpretStatus(status: string | undefined): StatusMeaning {
  switch (status) {
    case 'Succeeded':
      return { done: true, failed: false, error: null };
    case 'Failed':
      return { done: true, failed: true, error: 'PipelineFailed' };
    case 'Stopped':
      return { done: true, failed: true, error: 'PipelineStopped' };
    case 'Superseded':
      return { done: true, failed: true, error: 'PipelineSuperseded' };
    case 'Cancelled':
      return { done: true, failed: true, error: 'PipelineCancelled' };
    default:
      return RUNNING;
  }
}
