/**
 * Errors of the pipeline steps of the `deploy` state machine. Their names are the
 * `Error` the ASL catches, their messages the `Cause` an operator reads.
 */

/** The stage's pipeline does not exist (the app stage is not deployed, or not yet). Not retried. */
export class PipelineNotFound extends Error {
  override readonly name = 'PipelineNotFound';
}

/** CodePipeline refused to start the execution (an undeclared variable, a bad source revision...). Not retried. */
export class PipelineStartRejected extends Error {
  override readonly name = 'PipelineStartRejected';
}

/** The pipeline execution the state machine is waiting for does not exist. Not retried. */
export class PipelineExecutionNotFound extends Error {
  override readonly name = 'PipelineExecutionNotFound';
}
