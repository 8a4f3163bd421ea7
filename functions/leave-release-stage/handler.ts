import { parseInput } from '#shared/errors.ts';
import { instrumentTask } from '#shared/powertools.ts';
import { leaveReleaseStage, leaveStageInputSchema, releaseDeps } from '#shared/release/steps.ts';

/** Leave Stage: `{ freed }`, true when this execution held the stage's release lease. */
export const handler = instrumentTask(async (event: unknown) => {
  const input = parseInput(leaveStageInputSchema, event, 'Leave Stage input');
  return leaveReleaseStage(input, releaseDeps());
});
