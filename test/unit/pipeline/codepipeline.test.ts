import {
  CodePipelineClient,
  ConcurrentPipelineExecutionsLimitExceededException,
  GetPipelineExecutionCommand,
  ListActionExecutionsCommand,
  PipelineExecutionNotFoundException,
  PipelineNotFoundException,
  StartPipelineExecutionCommand,
  ValidationException,
} from '@aws-sdk/client-codepipeline';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  getPipelineExecution,
  listActionExecutions,
  startPipelineExecution,
} from '../../../shared/pipeline/codepipeline.ts';

const codePipeline = mockClient(CodePipelineClient);
const client = new CodePipelineClient({});
afterEach(() => codePipeline.reset());

const request = {
  name: 'stackpilot-starter-dev',
  clientRequestToken: 'a'.repeat(64),
  sourceRevisions: [
    { actionName: 'Source', revisionType: 'S3_OBJECT_VERSION_ID' as const, revisionValue: 'v1' },
  ],
};

describe('startPipelineExecution', () => {
  it('starts the pipeline with the request as given and returns the execution id', async () => {
    codePipeline.on(StartPipelineExecutionCommand).resolves({ pipelineExecutionId: 'exec-1' });
    await expect(startPipelineExecution(request, client)).resolves.toBe('exec-1');
    expect(codePipeline).toHaveReceivedCommandWith(StartPipelineExecutionCommand, request);
  });

  it('names a missing pipeline PipelineNotFound and says what to do', async () => {
    codePipeline
      .on(StartPipelineExecutionCommand)
      .rejects(new PipelineNotFoundException({ message: 'nope', $metadata: {} }));
    await expect(startPipelineExecution(request, client)).rejects.toMatchObject({
      name: 'PipelineNotFound',
      message:
        'pipeline stackpilot-starter-dev does not exist: deploy the app stage (npx cdk deploy --all) first',
    });
  });

  it('names a refused start PipelineStartRejected with CodePipeline’s reason', async () => {
    codePipeline
      .on(StartPipelineExecutionCommand)
      .rejects(
        new ValidationException({ message: 'Variable COMMIT is not defined in the pipeline', $metadata: {} }),
      );
    await expect(startPipelineExecution(request, client)).rejects.toMatchObject({
      name: 'PipelineStartRejected',
      message:
        'pipeline stackpilot-starter-dev refused to start: Variable COMMIT is not defined in the pipeline',
    });
  });

  it('treats too many concurrent executions as transient', async () => {
    codePipeline
      .on(StartPipelineExecutionCommand)
      .rejects(new ConcurrentPipelineExecutionsLimitExceededException({ message: 'limit', $metadata: {} }));
    await expect(startPipelineExecution(request, client)).rejects.toMatchObject({ name: 'TransientError' });
  });

  it('lets throttling through untouched for the task wrapper to classify', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    codePipeline.on(StartPipelineExecutionCommand).rejects(throttled);
    await expect(startPipelineExecution(request, client)).rejects.toMatchObject({
      name: 'ThrottlingException',
    });
  });
});

describe('getPipelineExecution', () => {
  it('returns the status and its summary', async () => {
    codePipeline
      .on(GetPipelineExecutionCommand, { pipelineName: 'p', pipelineExecutionId: 'e' })
      .resolves({ pipelineExecution: { status: 'Stopped', statusSummary: 'stopped by ops' } });
    await expect(getPipelineExecution('p', 'e', client)).resolves.toEqual({
      status: 'Stopped',
      statusSummary: 'stopped by ops',
    });
  });

  it('names an unknown execution PipelineExecutionNotFound', async () => {
    codePipeline
      .on(GetPipelineExecutionCommand)
      .rejects(new PipelineExecutionNotFoundException({ message: 'nope', $metadata: {} }));
    await expect(getPipelineExecution('p', 'e', client)).rejects.toMatchObject({
      name: 'PipelineExecutionNotFound',
      message: 'pipeline p has no execution e',
    });
  });
});

describe('listActionExecutions', () => {
  it('reads every page of the execution’s actions and keeps what explains a failure', async () => {
    codePipeline
      .on(ListActionExecutionsCommand, { nextToken: undefined })
      .resolves({
        actionExecutionDetails: [{ stageName: 'Source', actionName: 'Source', status: 'Succeeded' }],
        nextToken: 'page-2',
      })
      .on(ListActionExecutionsCommand, { nextToken: 'page-2' })
      .resolves({
        actionExecutionDetails: [
          {
            stageName: 'Build',
            actionName: 'Build',
            status: 'Failed',
            lastUpdateTime: new Date('2026-11-21T10:00:00Z'),
            output: {
              executionResult: {
                externalExecutionSummary: 'Build terminated with state: FAILED',
                externalExecutionUrl: 'https://example.com/build',
                errorDetails: { code: 'JobFailed', message: 'exit status 1' },
              },
            },
          },
        ],
      });

    await expect(listActionExecutions('p', 'e', client)).resolves.toEqual([
      { stage: 'Source', action: 'Source', status: 'Succeeded' },
      {
        stage: 'Build',
        action: 'Build',
        status: 'Failed',
        lastUpdateTime: new Date('2026-11-21T10:00:00Z'),
        errorMessage: 'exit status 1',
        summary: 'Build terminated with state: FAILED',
        url: 'https://example.com/build',
      },
    ]);
    expect(codePipeline).toHaveReceivedCommandWith(ListActionExecutionsCommand, {
      pipelineName: 'p',
      filter: { pipelineExecutionId: 'e' },
    });
  });

  it('stops after a bounded number of pages', async () => {
    codePipeline.on(ListActionExecutionsCommand).resolves({ actionExecutionDetails: [], nextToken: 'more' });
    await listActionExecutions('p', 'e', client);
    expect(codePipeline).toHaveReceivedCommandTimes(ListActionExecutionsCommand, 5);
  });
});
