/**
 * "Check Pipeline" of the `deploy` state machine: one look at the pipeline execution.
 * Returns whether it is done, failed (with the failed stage, action and reason), and how
 * long to wait before the next look.
 */

import * as z from 'zod';
import { parseInput } from '#shared/errors.ts';
import { assessCheck, type PipelineCheck } from '#shared/pipeline/check.ts';
import { getPipelineExecution, listActionExecutions } from '#shared/pipeline/codepipeline.ts';
import { instrumentTask, logger } from '#shared/powertools.ts';

/** How long a deploy waits for its pipeline before failing with `PipelineTimedOut`. */
export const DEFAULT_PIPELINE_TIMEOUT_MINUTES = 60;

/** Read once at cold start; a bad value fails every check with a message naming the variable. */
function pipelineTimeoutSeconds(raw = process.env.PIPELINE_TIMEOUT_MINUTES): number {
  if (raw === undefined || raw === '') return DEFAULT_PIPELINE_TIMEOUT_MINUTES * 60;
  const minutes = Number(raw);
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > 24 * 60) {
    throw new Error(
      `PIPELINE_TIMEOUT_MINUTES must be a whole number of minutes from 1 to 1440, not "${raw}"`,
    );
  }
  return minutes * 60;
}

const LIMIT_SECONDS = pipelineTimeoutSeconds();

export const checkPipelineInputSchema = z
  .object({
    pipelineName: z.string().min(1),
    pipelineExecutionId: z.string().min(1),
    startedAt: z.iso.datetime({ offset: true }),
    commit: z.string().min(1),
  })
  .strict();

export interface CheckOptions {
  /** Clock, in milliseconds (tests move it). */
  readonly now?: () => number;
  /** @default PIPELINE_TIMEOUT_MINUTES, else 60 minutes */
  readonly limitSeconds?: number;
}

export async function checkPipeline(event: unknown, options: CheckOptions = {}): Promise<PipelineCheck> {
  const input = parseInput(checkPipelineInputSchema, event, 'Check Pipeline input');
  const now = options.now ?? Date.now;
  const { status, statusSummary } = await getPipelineExecution(input.pipelineName, input.pipelineExecutionId);
  // Only a failure needs the actions: they name the stage and the reason.
  const actions =
    status === 'Failed'
      ? await listActionExecutions(input.pipelineName, input.pipelineExecutionId)
      : undefined;
  const check = assessCheck({
    pipelineName: input.pipelineName,
    pipelineExecutionId: input.pipelineExecutionId,
    commit: input.commit,
    status,
    ...(statusSummary ? { statusSummary } : {}),
    ...(actions ? { actions } : {}),
    elapsedSeconds: (now() - Date.parse(input.startedAt)) / 1000,
    limitSeconds: options.limitSeconds ?? LIMIT_SECONDS,
  });
  logger.info('pipeline checked', { ...check });
  return check;
}

export const handler = instrumentTask((event: unknown) => checkPipeline(event));
