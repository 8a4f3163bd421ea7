/**
 * The pipeline steps of the `deploy` state machine: "Start Pipeline" starts the stage's
 * CodePipeline on the source zip version "Package Source" uploaded (idempotent across Step
 * Functions retries: the request token comes from the execution), and "Check Pipeline" takes
 * one look at the execution. Each takes its input and `{clients, now, limitSeconds}`.
 */
import * as z from 'zod';
import { type Clients, codePipelineClient } from '../aws/clients.ts';
import { type CaughtError, explainCaught } from '../errors.ts';
import { logger } from '../powertools.ts';
import { assessCheck, type PipelineCheck } from './check.ts';
import { getPipelineExecution, listActionExecutions, startPipelineExecution } from './codepipeline.ts';
import { startRequest } from './start.ts';

/** What the steps use: CodePipeline, the clock, and how long a deploy waits for its pipeline. */
export interface PipelineDeps {
  readonly clients: Pick<Clients, 'codePipeline'>;
  readonly now: () => Date;
  /** Seconds after which Check Pipeline fails with `PipelineTimedOut`. */
  readonly limitSeconds: number;
}

/** How long a deploy waits for its pipeline before failing with `PipelineTimedOut`. */
export const DEFAULT_PIPELINE_TIMEOUT_MINUTES = 60;

/** `PIPELINE_TIMEOUT_MINUTES` in seconds; a bad value fails with a message naming the variable. */
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

/**
 * The deployed functions' dependencies: the shared client (the named one, not the `clients`
 * record, so the bundle carries only the SDK client it calls), the clock, `PIPELINE_TIMEOUT_MINUTES`.
 */
export function pipelineDeps(): PipelineDeps {
  return {
    clients: { codePipeline: codePipelineClient },
    now: () => new Date(),
    limitSeconds: pipelineTimeoutSeconds(),
  };
}

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

/** Start Pipeline: the stage's (or the preview) pipeline, pinned to the zip version, the commit as a variable. */
export async function startPipeline(
  input: StartPipelineInput,
  deps: PipelineDeps,
): Promise<StartPipelineResult> {
  const request = startRequest({ ...input, preview: input.source?.preview });
  const pipelineExecutionId = await startPipelineExecution(request, deps.clients.codePipeline);
  logger.info('pipeline started', {
    pipeline: request.name,
    pipelineExecutionId,
    commit: input.commit,
    versionId: input.versionId,
  });
  return { pipelineName: request.name, pipelineExecutionId, startedAt: deps.now().toISOString() };
}

export const checkPipelineInputSchema = z
  .object({
    pipelineName: z.string().min(1),
    pipelineExecutionId: z.string().min(1),
    startedAt: z.iso.datetime({ offset: true }),
    commit: z.string().min(1),
  })
  .strict();

export type CheckPipelineInput = z.output<typeof checkPipelineInputSchema>;

/**
 * Check Pipeline: one look at the execution. Whether it is done, failed (with the failed stage,
 * action and reason), and how long to wait before the next look.
 */
export async function checkPipeline(input: CheckPipelineInput, deps: PipelineDeps): Promise<PipelineCheck> {
  const { pipelineName, pipelineExecutionId } = input;
  const client = deps.clients.codePipeline;
  const { status, statusSummary } = await getPipelineExecution(pipelineName, pipelineExecutionId, client);
  // Only a failure needs the actions: they name the stage and the reason.
  const actions =
    status === 'Failed' ? await listActionExecutions(pipelineName, pipelineExecutionId, client) : undefined;
  const check = assessCheck({
    pipelineName,
    pipelineExecutionId,
    commit: input.commit,
    status,
    ...(statusSummary ? { statusSummary } : {}),
    ...(actions ? { actions } : {}),
    elapsedSeconds: (deps.now().getTime() - Date.parse(input.startedAt)) / 1000,
    limitSeconds: deps.limitSeconds,
  });
  logger.info('pipeline checked', { ...check });
  return check;
}

/** Explain Failure's input: the deploy's state when a step failed, `error` as its Catch put it. */
export const failedDeploySchema = z.object({
  error: z.object({ Error: z.string(), Cause: z.string().optional() }),
  PackageSourceResult: z.unknown().optional(),
  StartPipelineResult: z.unknown().optional(),
});
export type FailedDeploy = z.output<typeof failedDeploySchema>;

/**
 * Explain Failure: the caught error with Cause `<step> failed: <message>`, the step being the
 * first whose result the deploy does not have (Check Pipeline once the pipeline started).
 */
export function explainDeployFailure(failed: FailedDeploy): CaughtError {
  const step =
    failed.PackageSourceResult === undefined
      ? 'Package Source'
      : failed.StartPipelineResult === undefined
        ? 'Start Pipeline'
        : 'Check Pipeline';
  return explainCaught(step, failed.error);
}
