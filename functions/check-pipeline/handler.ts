import { parseInput } from '#shared/errors.ts';
import { checkPipeline, checkPipelineInputSchema, pipelineDeps } from '#shared/pipeline/steps.ts';
import { instrumentTask } from '#shared/powertools.ts';

/** Read once at cold start: a bad `PIPELINE_TIMEOUT_MINUTES` fails the function's init, naming it. */
const deps = pipelineDeps();

/** Check Pipeline: one look at the execution (done, failed with the stage and reason, or wait). */
export const handler = instrumentTask(async (event: unknown) => {
  const input = parseInput(checkPipelineInputSchema, event, 'Check Pipeline input');
  return checkPipeline(input, deps);
});
