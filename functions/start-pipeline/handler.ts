/**
 * "Start Pipeline" of the `deploy` state machine: starts the stage's CodePipeline on the
 * source zip version "Package Source" uploaded, with the commit as a pipeline variable.
 * Idempotent across Step Functions retries (the request token comes from the execution).
 */

import * as z from 'zod';
import { parseInput } from '#shared/errors.ts';
import { startPipelineExecution } from '#shared/pipeline/codepipeline.ts';
import { startRequest } from '#shared/pipeline/start.ts';
import { instrumentTask, logger } from '#shared/powertools.ts';

export const startPipelineInputSchema = z
  .object({
    app: z.string().min(1),
    stage: z.string().min(1),
    commit: z.string().min(1),
    deliveryId: z.string().min(1),
    /** S3 version id of the source zip ("Package Source" result). */
    versionId: z.string().min(1),
    /** The whole "Package Source" result: `preview` says the zip is a pull request's, for the preview pipeline. */
    source: z
      .object({
        preview: z
          .object({ number: z.number().int().min(1), branch: z.string().min(1).optional() })
          .optional(),
      })
      .optional(),
    /** `$$.Execution.Id`: the idempotency token is derived from it. */
    executionId: z.string().min(1),
  })
  .strict();

export type StartPipelineInput = z.output<typeof startPipelineInputSchema>;

/** `$.StartPipelineResult`: what "Check Pipeline" needs to find the execution. */
export interface StartPipelineResult {
  readonly pipelineName: string;
  readonly pipelineExecutionId: string;
  /** When the execution was started (ISO 8601): the poll schedule and the wait limit count from it. */
  readonly startedAt: string;
}

export async function startPipeline(event: unknown): Promise<StartPipelineResult> {
  const input = parseInput(startPipelineInputSchema, event, 'Start Pipeline input');
  const request = startRequest({ ...input, preview: input.source?.preview });
  const pipelineExecutionId = await startPipelineExecution(request);
  logger.info('pipeline started', {
    pipeline: request.name,
    pipelineExecutionId,
    commit: input.commit,
    versionId: input.versionId,
  });
  return { pipelineName: request.name, pipelineExecutionId, startedAt: new Date().toISOString() };
}

export const handler = instrumentTask(startPipeline);
