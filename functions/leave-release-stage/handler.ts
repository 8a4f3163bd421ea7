/**
 * "Leave Stage" of the `release` state machine, on every path to "Release Failed": frees the
 * stage's release lease when this execution holds it, so the next release of the stage goes.
 * An input without an app and a stage (a release refused at once) holds nothing.
 */
import * as z from 'zod';
import { parseInput } from '#shared/errors.ts';
import { instrumentTask, logger } from '#shared/powertools.ts';
import { historyBucket } from '#shared/release/history-store.ts';
import { leaveStage } from '#shared/release/lease-store.ts';

const eventSchema = z.object({ input: z.unknown(), executionArn: z.string().min(1) });
const stageSchema = z.object({ app: z.string().min(1), stage: z.string().min(1) });

/** Leave Stage: `{ freed }`, true when this execution held the stage. */
export async function leaveReleaseStage(event: unknown): Promise<{ freed: boolean }> {
  const { input, executionArn } = parseInput(eventSchema, event, 'Leave Stage input');
  const stage = stageSchema.safeParse(input);
  if (!stage.success) return { freed: false };
  const freed = await leaveStage(historyBucket(), stage.data.app, stage.data.stage, executionArn);
  logger.info('stage left', { ...stage.data, freed });
  return { freed };
}

export const handler = instrumentTask((event: unknown) => leaveReleaseStage(event));
