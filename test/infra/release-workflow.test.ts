import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { placeholdersOf } from '../../sandbox/state-machines.ts';
import { synthApp } from './support.ts';

type Statement = { Sid?: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

describe('release workflow', () => {
  let template: Template;
  let nagFindings: string[];
  let statements: Map<string, Statement[]>;
  beforeAll(() => {
    const synth = synthApp();
    template = Template.fromStack(synth.controlPlane);
    nagFindings = synth.nagFindings;
    // Policy statements of each function, by the function's folder.
    statements = new Map();
    const functions = template.findResources('AWS::Lambda::Function');
    const policies = template.findResources('AWS::IAM::Policy');
    for (const fn of Object.values(functions)) {
      const service = fn.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME as string;
      const role = fn.Properties.Role?.['Fn::GetAtt']?.[0] as string;
      const policy = Object.values(policies).find((p) =>
        p.Properties.Roles?.some((r: { Ref: string }) => r.Ref === role),
      );
      statements.set(service, policy?.Properties.PolicyDocument.Statement ?? []);
    }
  }, 180_000);

  const of = (folder: string) => statements.get(`stackpilot-${folder}`) ?? [];
  const sid = (folder: string, name: string) => of(folder).find((s) => s.Sid === name);
  const actions = (folder: string) => of(folder).flatMap((s) => [s.Action].flat());
  const render = (value: unknown) => JSON.stringify(value);

  it('creates stackpilot-release from the ASL file with every placeholder filled, logged and traced', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: 'stackpilot-release',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL' }),
      DefinitionSubstitutions: Object.fromEntries(
        placeholdersOf('release').map((p) => [p, Match.objectLike({ 'Fn::GetAtt': Match.anyValue() })]),
      ),
    });
  });

  it("creates each stage's released-image parameter once, never overwrites it, and lets only Record Release write it", () => {
    const parameters = Object.values(template.findResources('Custom::AWS')).map(
      (r) => r.Properties as Record<string, unknown>,
    );
    const creates = parameters.map((p) => JSON.parse(p.Create as string));
    expect(creates.map((c) => c.parameters.Name).sort()).toEqual([
      '/stackpilot/starter/dev/released-image',
      '/stackpilot/starter/prod/released-image',
    ]);
    for (const [index, create] of creates.entries()) {
      expect(create).toMatchObject({
        service: 'SSM',
        action: 'putParameter',
        parameters: { Value: 'none', Type: 'String', Overwrite: false },
        ignoreErrorCodesMatching: 'ParameterAlreadyExists',
      });
      expect(parameters[index]?.Update).toBeUndefined();
    }
    const record = sid('record-release', 'RecordReleasedImages');
    expect(record?.Action).toBe('ssm:PutParameter');
    expect(render(record?.Resource)).toContain(':parameter/stackpilot/starter/dev/released-image');
    expect(render(record?.Resource)).toContain(':parameter/stackpilot/starter/prod/released-image');
    for (const folder of [
      'prepare-release',
      'register-task-definition',
      'update-service',
      'check-deployment',
    ])
      expect(actions(folder)).not.toContain('ssm:PutParameter');
  });

  it('lets the state machine invoke exactly its seven functions and the await function', () => {
    const machines = template.findResources('AWS::StepFunctions::StateMachine', {
      Properties: { StateMachineName: 'stackpilot-release' },
    });
    const role = Object.values(machines)[0]?.Properties.RoleArn['Fn::GetAtt'][0];
    const policy = Object.values(template.findResources('AWS::IAM::Policy')).find((p) =>
      p.Properties.Roles.some((r: { Ref: string }) => r.Ref === role),
    );
    const invoke = policy?.Properties.PolicyDocument.Statement.find(
      (s: Statement) => s.Sid === 'InvokeReleaseTasks',
    );
    expect(invoke.Action).toBe('lambda:InvokeFunction');
    expect(invoke.Resource).toHaveLength(8);
  });

  it("scopes service describes and updates to the stages' services", () => {
    for (const [folder, name, action] of [
      ['prepare-release', 'DescribeStageServices', 'ecs:DescribeServices'],
      ['check-deployment', 'DescribeStageServices', 'ecs:DescribeServices'],
      ['update-service', 'UpdateStageServices', 'ecs:UpdateService'],
      ['roll-back-release', 'UpdateStageServices', 'ecs:UpdateService'],
    ] as const) {
      const statement = sid(folder, name);
      expect(statement?.Action).toBe(action);
      const resources = render(statement?.Resource);
      expect(resources).toContain(':service/stackpilot-starter-dev/stackpilot-starter-dev');
      expect(resources).toContain(':service/stackpilot-starter-prod/stackpilot-starter-prod');
      expect(resources).not.toContain('"*"');
    }
  });

  it('registers task definitions with * (no resource-level permission) and passes only the stage task and execution roles to ECS tasks', () => {
    expect(sid('register-task-definition', 'RegisterTaskDefinitions')).toMatchObject({
      Action: 'ecs:RegisterTaskDefinition',
      Resource: '*',
    });
    const pass = sid('register-task-definition', 'PassStageTaskRoles');
    expect(pass?.Action).toBe('iam:PassRole');
    expect(pass?.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } });
    const roles = render(pass?.Resource);
    for (const role of [
      'stackpilot-starter-dev-task',
      'stackpilot-starter-dev-execution',
      'stackpilot-starter-prod-task',
      'stackpilot-starter-prod-execution',
    ])
      expect(roles).toContain(`:role/${role}`);
    expect(pass?.Resource).toHaveLength(4);
  });

  it('tags only the stage task-definition families', () => {
    const tag = sid('record-release', 'TagStageTaskDefinitions');
    expect(tag?.Action).toBe('ecs:TagResource');
    expect(render(tag?.Resource)).toContain(':task-definition/stackpilot-starter-dev:*');
  });

  it('reads failure reasons from the stage clusters only', () => {
    expect(sid('check-deployment', 'ListStageTasks')?.Condition).toEqual({
      ArnEquals: { 'ecs:cluster': expect.arrayContaining([expect.anything()]) },
    });
    expect(render(sid('check-deployment', 'DescribeStageTasks')?.Resource)).toContain(
      ':task/stackpilot-starter-dev/*',
    );
  });

  it('gives each function only the actions of its step', () => {
    const ecsActions = (folder: string) =>
      actions(folder).filter((a) => a.startsWith('ecs:') || a.startsWith('iam:'));
    expect(ecsActions('update-service')).toEqual(['ecs:UpdateService']);
    expect(ecsActions('roll-back-release')).toEqual(['ecs:UpdateService']);
    expect(ecsActions('record-release')).toEqual(['ecs:TagResource']);
    expect(actions('check-deployment')).not.toContain('ecs:UpdateService');
    expect(actions('prepare-release')).not.toContain('ecs:UpdateService');
    // Prepare Release writes only the stage lease (release-leases/), never the history.
    const writes = (folder: string) =>
      of(folder)
        .filter((st) => [st.Action].flat().includes('s3:PutObject'))
        .map((st) => JSON.stringify(st.Resource));
    expect(writes('prepare-release').join()).toContain('/release-leases/*');
    expect(writes('prepare-release').join()).not.toContain('/releases/*');
    expect(actions('prepare-release')).toContain('states:DescribeExecution');
  });

  it('writes the history only under releases/ of the source bucket, and says where it is', () => {
    const write = sid('record-release', 'WriteReleaseHistory');
    expect(write?.Action).toBe('s3:PutObject');
    expect(render(write?.Resource)).toContain('/releases/*');
    expect(sid('prepare-release', 'ListReleaseHistory')?.Condition).toEqual({
      StringLike: { 's3:prefix': ['releases/*'] },
    });
    template.hasOutput('ReleaseHistory', { Value: Match.anyValue() });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ RELEASE_HISTORY_BUCKET: Match.anyValue() }) },
    });
  });

  it('passes cdk-nag AwsSolutions with every acknowledgement justified in code', () => {
    expect(nagFindings).toEqual([]);
  });
});
