import { readFileSync } from 'node:fs';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { definitionPath, StackpilotStateMachine } from '../../infra/constructs/stackpilot-state-machine.ts';

/** A function by ARN: the construct only needs the ARNs of its tasks. */
const fn = (stack: Stack, name: string) =>
  lambda.Function.fromFunctionArn(stack, name, `arn:aws:lambda:eu-west-1:111111111111:function:${name}`);

function deployTasks(stack: Stack) {
  return {
    PackageSourceFunctionArn: fn(stack, 'package-source'),
    StartPipelineFunctionArn: fn(stack, 'start-pipeline'),
    CheckPipelineFunctionArn: fn(stack, 'check-pipeline'),
    AwaitEventFunctionArn: fn(stack, 'await-event'),
  };
}

describe('StackpilotStateMachine', () => {
  it('loads the ASL file with the tasks substituted, logged in full, traced, invoking exactly its tasks', () => {
    const stack = new Stack(new App(), 'Test');
    new StackpilotStateMachine(stack, 'StateMachine', {
      kind: 'deploy',
      comment: 'test',
      tasks: deployTasks(stack),
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: 'stackpilot-deploy',
      StateMachineType: 'STANDARD',
      DefinitionString: readFileSync(definitionPath('deploy'), 'utf8'),
      DefinitionSubstitutions: {
        PackageSourceFunctionArn: 'arn:aws:lambda:eu-west-1:111111111111:function:package-source',
        StartPipelineFunctionArn: 'arn:aws:lambda:eu-west-1:111111111111:function:start-pipeline',
        CheckPipelineFunctionArn: 'arn:aws:lambda:eu-west-1:111111111111:function:check-pipeline',
        AwaitEventFunctionArn: 'arn:aws:lambda:eu-west-1:111111111111:function:await-event',
      },
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: true },
      TracingConfiguration: { Enabled: true },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: '/aws/vendedlogs/states/stackpilot-deploy',
      RetentionInDays: 30,
    });
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (p) => p.Properties.PolicyDocument.Statement as { Sid?: string; Action: unknown; Resource: unknown }[],
    );
    expect(statements.find((s) => s.Sid === 'InvokeDeployTasks')).toEqual({
      Sid: 'InvokeDeployTasks',
      Effect: 'Allow',
      Action: 'lambda:InvokeFunction',
      Resource: [
        'arn:aws:lambda:eu-west-1:111111111111:function:package-source',
        'arn:aws:lambda:eu-west-1:111111111111:function:start-pipeline',
        'arn:aws:lambda:eu-west-1:111111111111:function:check-pipeline',
        'arn:aws:lambda:eu-west-1:111111111111:function:await-event',
      ],
    });
  });

  it('fails the synth naming a placeholder of the ASL file that has no value', () => {
    const stack = new Stack(new App(), 'Test');
    const { CheckPipelineFunctionArn: _, ...tasks } = deployTasks(stack);
    expect(
      () => new StackpilotStateMachine(stack, 'StateMachine', { kind: 'deploy', comment: 'test', tasks }),
    ).toThrow('state-machines/deploy.asl.json: placeholders without a value: CheckPipelineFunctionArn');
  });

  it('fails the synth naming a task or value the ASL file has no placeholder for', () => {
    const stack = new Stack(new App(), 'Test');
    const tasks = { ...deployTasks(stack), RenamedStepFunctionArn: fn(stack, 'renamed-step') };
    expect(
      () => new StackpilotStateMachine(stack, 'StateMachine', { kind: 'deploy', comment: 'test', tasks }),
    ).toThrow('values without a placeholder: RenamedStepFunctionArn');
    const other = new Stack(new App(), 'Other');
    expect(
      () =>
        new StackpilotStateMachine(other, 'StateMachine', {
          kind: 'deploy',
          comment: 'test',
          tasks: deployTasks(other),
          substitutions: { PipelineTimeoutMinutes: '60' },
        }),
    ).toThrow('values without a placeholder: PipelineTimeoutMinutes');
  });

  it('fails the synth naming a placeholder given both as a task and as a value', () => {
    const stack = new Stack(new App(), 'Test');
    expect(
      () =>
        new StackpilotStateMachine(stack, 'StateMachine', {
          kind: 'deploy',
          comment: 'test',
          tasks: deployTasks(stack),
          substitutions: { StartPipelineFunctionArn: 'arn:aws:lambda:eu-west-1:111111111111:function:other' },
        }),
    ).toThrow('placeholders given as a task and as a value: StartPipelineFunctionArn');
  });
});
