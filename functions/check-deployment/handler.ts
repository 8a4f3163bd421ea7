import { parseInput } from '#shared/errors.ts';
import { instrumentTask } from '#shared/powertools.ts';
import { checkDeployment, checkDeploymentInputSchema, releaseDeps } from '#shared/release/steps.ts';

/** Check Deployment / Check Rollback: the tracker after one more look at the deployment. */
export const handler = instrumentTask(async (event: unknown) => {
  const input = parseInput(checkDeploymentInputSchema, event, 'Check Deployment input');
  return checkDeployment(input, releaseDeps());
});
