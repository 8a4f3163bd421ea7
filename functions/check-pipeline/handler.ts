import { parseInput } from '#shared/errors.ts';
import {
  checkPipeline,
  checkPipelineInputSchema,
  explainDeployFailure,
  failedDeploySchema,
  pipelineDeps,
} from '#shared/pipeline/steps.ts';
import { instrumentTask } from '#shared/powertools.ts';

/** Read once at cold start: a bad `PIPELINE_TIMEOUT_MINUTES` fails the function's init, naming it. */
const deps = pipelineDeps();

/**
 * Check Pipeline: one look at the execution (done, failed with the stage and reason, or wait).
 * Explain Failure (`{failed}`): the error of the step that failed, its Cause naming the step.
 */
export const handler = instrumentTask(async (event: unknown) => {
  if (typeof event === 'object' && event !== null && 'failed' in event)
    return explainDeployFailure(parseInput(failedDeploySchema, event.failed, 'Explain Failure input'));
  const input = parseInput(checkPipelineInputSchema, event, 'Check Pipeline input');
  return checkPipeline(input, deps);
});
