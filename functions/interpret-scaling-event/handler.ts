import { runtimeConfig } from '#shared/config.ts';
import { parseInput } from '#shared/errors.ts';
import { instrumentTask, logger } from '#shared/powertools.ts';
import { interpretInputSchema, interpretScalingEvent } from '#shared/scaling/interpret.ts';

/**
 * Interpret Event, the first step of the `scale` state machine: maps an alarm event, an ECS
 * placement failure or an operator input to a scaling request, or to a skip with its reason.
 */
export const handler = instrumentTask(async (event: unknown) => {
  const input = parseInput(interpretInputSchema, event, 'Interpret Event input');
  const result = interpretScalingEvent(input.event, runtimeConfig(), input.executionName);
  logger.info(result.skip ? 'nothing to scale' : 'scaling requested', { result });
  return result;
});
