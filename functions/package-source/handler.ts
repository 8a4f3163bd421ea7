import { deployInputSchema } from '#events/deploy.ts';
import { parseInput } from '#shared/errors.ts';
import { instrumentTask } from '#shared/powertools.ts';
import { packageDeploySource, sourceDeps } from '#shared/source/steps.ts';

/** Package Source: the pushed commit, zipped with its `.git`, streamed to the stage's key of the source bucket. */
export const handler = instrumentTask(async (event: unknown) => {
  const input = parseInput(deployInputSchema, event, 'deploy input');
  return packageDeploySource(input, sourceDeps());
});
