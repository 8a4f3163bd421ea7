import { parseInput } from '#shared/errors.ts';
import { pipelineDeps, startPipeline, startPipelineInputSchema } from '#shared/pipeline/steps.ts';
import { instrumentTask } from '#shared/powertools.ts';

/** Start Pipeline: the stage's pipeline on the uploaded zip version; idempotent across retries. */
export const handler = instrumentTask(async (event: unknown) => {
  const input = parseInput(startPipelineInputSchema, event, 'Start Pipeline input');
  return startPipeline(input, pipelineDeps());
});
