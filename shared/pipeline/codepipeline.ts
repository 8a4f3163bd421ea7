/**
 * CodePipeline adapter of the `deploy` state machine: start a stage's pipeline, read an
 * execution's status, list its action executions. AWS errors that the state machine acts
 * on become the named errors of `shared/pipeline/errors.ts`; throttling and 5xx stay as
 * they are for `instrumentTask` to turn into `TransientError`.
 */
import {
  type ActionExecutionDetail,
  type CodePipelineClient,
  GetPipelineExecutionCommand,
  ListActionExecutionsCommand,
  StartPipelineExecutionCommand,
  type StartPipelineExecutionInput,
} from '@aws-sdk/client-codepipeline';
import { TransientError } from '../errors.ts';
import { PipelineExecutionNotFound, PipelineNotFound, PipelineStartRejected } from './errors.ts';
import type { ActionAttempt } from './failure.ts';

/** Pages of action executions read at most: a pipeline has a handful of actions per attempt. */
const MAX_ACTION_PAGES = 5;

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : '';
}

/** Starts the execution; returns its id. */
export async function startPipelineExecution(
  request: StartPipelineExecutionInput & { name: string },
  client: CodePipelineClient,
): Promise<string> {
  try {
    const { pipelineExecutionId } = await client.send(new StartPipelineExecutionCommand(request));
    if (!pipelineExecutionId) throw new TransientError(`pipeline ${request.name} returned no execution id`);
    return pipelineExecutionId;
  } catch (error) {
    switch (errorName(error)) {
      case 'PipelineNotFoundException':
        throw new PipelineNotFound(
          `pipeline ${request.name} does not exist: deploy the app stage (npx cdk deploy --all) first`,
          { cause: error },
        );
      case 'ValidationException':
        throw new PipelineStartRejected(
          `pipeline ${request.name} refused to start: ${(error as Error).message}`,
          { cause: error },
        );
      // Too many executions at once, or a concurrent update of the pipeline: both pass.
      case 'ConcurrentPipelineExecutionsLimitExceededException':
      case 'ConflictException':
        throw new TransientError(`pipeline ${request.name}: ${(error as Error).message}`, { cause: error });
      default:
        throw error;
    }
  }
}

export interface ExecutionStatus {
  readonly status: string | undefined;
  readonly statusSummary: string | undefined;
}

/** The status of one execution. */
export async function getPipelineExecution(
  pipelineName: string,
  pipelineExecutionId: string,
  client: CodePipelineClient,
): Promise<ExecutionStatus> {
  try {
    const { pipelineExecution } = await client.send(
      new GetPipelineExecutionCommand({ pipelineName, pipelineExecutionId }),
    );
    return { status: pipelineExecution?.status, statusSummary: pipelineExecution?.statusSummary };
  } catch (error) {
    switch (errorName(error)) {
      case 'PipelineNotFoundException':
        throw new PipelineNotFound(`pipeline ${pipelineName} does not exist any more`, { cause: error });
      case 'PipelineExecutionNotFoundException':
        throw new PipelineExecutionNotFound(
          `pipeline ${pipelineName} has no execution ${pipelineExecutionId}`,
          { cause: error },
        );
      default:
        throw error;
    }
  }
}

/** Maps the SDK's action execution to what the failure description needs. */
export function toActionAttempt(detail: ActionExecutionDetail): ActionAttempt {
  const result = detail.output?.executionResult;
  return {
    stage: detail.stageName ?? 'unknown stage',
    action: detail.actionName ?? 'unknown action',
    status: detail.status ?? 'Unknown',
    ...(detail.lastUpdateTime ? { lastUpdateTime: detail.lastUpdateTime } : {}),
    ...(result?.errorDetails?.message ? { errorMessage: result.errorDetails.message } : {}),
    ...(result?.externalExecutionSummary ? { summary: result.externalExecutionSummary } : {}),
    ...(result?.externalExecutionUrl ? { url: result.externalExecutionUrl } : {}),
  };
}

/** The action executions of one pipeline execution (every attempt of every stage). */
export async function listActionExecutions(
  pipelineName: string,
  pipelineExecutionId: string,
  client: CodePipelineClient,
): Promise<ActionAttempt[]> {
  const attempts: ActionAttempt[] = [];
  let nextToken: string | undefined;
  for (let page = 0; page < MAX_ACTION_PAGES; page++) {
    const output = await client.send(
      new ListActionExecutionsCommand({ pipelineName, filter: { pipelineExecutionId }, nextToken }),
    );
    attempts.push(...(output.actionExecutionDetails ?? []).map(toActionAttempt));
    nextToken = output.nextToken;
    if (!nextToken) break;
  }
  return attempts;
}
