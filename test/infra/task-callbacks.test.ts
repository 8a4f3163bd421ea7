import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { deploymentEndPattern, pipelineExecutionEndPattern } from '../../events/task-events.ts';
import { synthApp } from './support.ts';

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

describe('task callbacks (control-plane stack)', () => {
  let template: Template;
  let nagFindings: string[];
  let functions: Resources;
  beforeAll(() => {
    const synth = synthApp();
    template = Template.fromStack(synth.controlPlane);
    nagFindings = synth.nagFindings;
    functions = template.findResources('AWS::Lambda::Function') as Resources;
  });

  /** Logical id of the function whose bundle is `functions/<folder>`. */
  const functionId = (folder: string) => {
    const found = Object.entries(functions).find(
      ([, fn]) =>
        (fn.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables
          ?.POWERTOOLS_SERVICE_NAME === `stackpilot-${folder}`,
    );
    if (!found) throw new Error(`no function of functions/${folder}`);
    return found[0];
  };

  it('routes the pipeline and deployment end events to the relay with the patterns of events/', () => {
    const relay = functionId('relay-task-event');
    for (const pattern of [pipelineExecutionEndPattern, deploymentEndPattern]) {
      template.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: JSON.parse(JSON.stringify(pattern)),
        State: 'ENABLED',
        Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [relay, 'Arn'] }, RetryPolicy: Match.anyValue() })],
      });
    }
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [relay, 'Arn'] },
    });
  });

  it('lets the relay and the wait send task results to the deploy and release state machines only', () => {
    const policies = template.findResources('AWS::IAM::Policy') as Resources;
    const statementsOf = (folder: string) => {
      const fn = functions[functionId(folder)];
      if (!fn) throw new Error(`no function of functions/${folder}`);
      const role = (fn.Properties.Role as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0];
      return Object.values(policies)
        .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === role))
        .flatMap((p) => (p.Properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement);
    };
    for (const folder of ['relay-task-event', 'await-event']) {
      const statements = statementsOf(folder);
      const send = statements.find((s) => s.Sid === 'ResumeWaitingExecutions');
      expect([send?.Action].flat().sort()).toEqual([
        'states:SendTaskFailure',
        'states:SendTaskHeartbeat',
        'states:SendTaskSuccess',
      ]);
      const resources = JSON.stringify(send?.Resource);
      expect(resources).toContain(':stateMachine:stackpilot-deploy');
      expect(resources).toContain(':stateMachine:stackpilot-release');
      expect(send?.Resource).toHaveLength(2);
      // Nothing else of Step Functions, and S3 only under callbacks/.
      const actions = statements.flatMap((s) => [s.Action].flat() as string[]);
      expect(actions.filter((a) => a.startsWith('states:')).sort()).toEqual([
        'states:SendTaskFailure',
        'states:SendTaskHeartbeat',
        'states:SendTaskSuccess',
      ]);
      const keep = statements.find((s) => s.Sid === 'KeepCallbacks');
      expect(JSON.stringify(keep?.Resource)).toContain('/callbacks/*');
    }
  });

  it('gives both state machines the await function as the Task of their token waits', () => {
    const awaitId = functionId('await-event');
    for (const name of ['stackpilot-deploy', 'stackpilot-release']) {
      template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
        StateMachineName: name,
        DefinitionSubstitutions: Match.objectLike({
          AwaitEventFunctionArn: { 'Fn::GetAtt': [awaitId, 'Arn'] },
        }),
      });
    }
  });

  it('passes cdk-nag AwsSolutions', () => {
    expect(nagFindings).toEqual([]);
  });
});
