import {
  CodePipelineClient,
  GetPipelineExecutionCommand,
  ListActionExecutionsCommand,
  StartPipelineExecutionCommand,
} from '@aws-sdk/client-codepipeline';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { handler as checkPipelineHandler } from '../../../functions/check-pipeline/handler.ts';
import { handler as startPipelineHandler } from '../../../functions/start-pipeline/handler.ts';
import { localLambdaContext } from '../../../sandbox/lambda-context.ts';
import {
  checkPipeline,
  type PipelineDeps,
  pipelineDeps,
  startPipeline,
} from '../../../shared/pipeline/steps.ts';

const codePipeline = mockClient(CodePipelineClient);
afterEach(() => codePipeline.reset());

/** The deployed dependencies, with the test's clock and wait limit. */
const deps = (options: Partial<PipelineDeps> = {}): PipelineDeps => ({ ...pipelineDeps(), ...options });

const startInput = {
  app: 'starter',
  stage: 'dev',
  commit: '9fceb02d0ae598e95dc970b74767f19372d61af8',
  deliveryId: 'console-1',
  versionId: 'v1',
  executionId: 'arn:aws:states:us-east-1:111122223333:execution:stackpilot-deploy:console-1',
};

describe('Start Pipeline handler', () => {
  it('returns the pipeline, the execution id and when it started', async () => {
    codePipeline.on(StartPipelineExecutionCommand).resolves({ pipelineExecutionId: 'exec-9' });
    const before = Date.now();
    const result = await startPipeline(startInput, deps());
    expect(result).toMatchObject({ pipelineName: 'stackpilot-starter-dev', pipelineExecutionId: 'exec-9' });
    expect(Date.parse(result.startedAt)).toBeGreaterThanOrEqual(before - 1000);
  });

  it('refuses an input without the source version as InvalidInput, calling nothing', async () => {
    const { versionId: _, ...withoutVersion } = startInput;
    await expect(
      startPipelineHandler(withoutVersion, localLambdaContext('start-pipeline')),
    ).rejects.toMatchObject({
      name: 'InvalidInput',
      message: 'invalid Start Pipeline input: versionId: Invalid input: expected string, received undefined',
    });
    expect(codePipeline).not.toHaveReceivedCommand(StartPipelineExecutionCommand);
  });
});

describe('Check Pipeline handler', () => {
  const startedAt = '2026-11-21T10:00:00.000Z';
  const at = (seconds: number) => () => new Date(Date.parse(startedAt) + seconds * 1000);
  const input = {
    pipelineName: 'stackpilot-starter-dev',
    pipelineExecutionId: 'exec-9',
    startedAt,
    commit: startInput.commit,
  };

  it('waits longer as the pipeline runs longer', async () => {
    codePipeline.on(GetPipelineExecutionCommand).resolves({ pipelineExecution: { status: 'InProgress' } });
    const waits = [];
    for (const elapsed of [1, 11, 26, 48, 81, 131, 206, 320, 440]) {
      waits.push((await checkPipeline(input, deps({ now: at(elapsed) }))).nextWaitSeconds);
    }
    expect(waits).toEqual([10, 15, 22, 33, 50, 75, 113, 120, 120]);
    expect(codePipeline).not.toHaveReceivedCommand(ListActionExecutionsCommand);
  });

  it('lists the actions only when the pipeline failed, to name the failed stage', async () => {
    codePipeline.on(GetPipelineExecutionCommand).resolves({ pipelineExecution: { status: 'Failed' } });
    codePipeline.on(ListActionExecutionsCommand).resolves({
      actionExecutionDetails: [
        {
          stageName: 'Release',
          actionName: 'Release',
          status: 'Failed',
          output: { executionResult: { errorDetails: { code: 'JobFailed', message: 'DeploymentFailed' } } },
        },
      ],
    });
    const result = await checkPipeline(input, deps({ now: at(300) }));
    expect(result).toMatchObject({
      done: true,
      failed: true,
      error: 'PipelineFailed',
      stage: 'Release',
      action: 'Release',
      reason: 'DeploymentFailed',
    });
  });

  it('gives up at the configured limit', async () => {
    codePipeline.on(GetPipelineExecutionCommand).resolves({ pipelineExecution: { status: 'InProgress' } });
    const result = await checkPipeline(input, deps({ now: at(1800), limitSeconds: 1800 }));
    expect(result).toMatchObject({ done: true, failed: true, error: 'PipelineTimedOut' });
  });

  it('refuses a start time that is not a timestamp as InvalidInput', async () => {
    await expect(
      checkPipelineHandler({ ...input, startedAt: 'yesterday' }, localLambdaContext('check-pipeline')),
    ).rejects.toMatchObject({
      name: 'InvalidInput',
    });
  });
});
