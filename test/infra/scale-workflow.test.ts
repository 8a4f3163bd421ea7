/**
 * The scale workflow synthesized in a stack of its own, with cdk-nag's AwsSolutions checks,
 * so that its template and findings are its own (the whole app's synth is the
 * control-plane test's).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { alarmStateChangePattern } from '../../events/cloudwatch-alarm.ts';
import { taskPlacementFailurePattern } from '../../events/ecs-service-action.ts';
import { ScaleWorkflow } from '../../infra/constructs/scale-workflow.ts';
import { placeholdersOf } from '../../sandbox/state-machines.ts';
import { loadConfigFile } from '../../shared/config-file.ts';

function synthScaleWorkflow() {
  const app = new App({
    outdir: mkdtempSync(join(tmpdir(), 'stackpilot-scale-synth-')),
    // No stack is bundled: these tests read the template, not the function code.
    context: { 'aws:cdk:bundling-stacks': [] },
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stack = new Stack(app, 'ScaleTest');
  new ScaleWorkflow(stack, 'Scale', { config: loadConfigFile('stackpilot.yml') });
  app.synth();
  const report = new AwsSolutionsChecks(app).validateScope(app);
  const nagFindings = report.violations.map(
    (v) => `${v.ruleName}: ${v.description} (${v.violatingResources.map((r) => r.constructPath).join(', ')})`,
  );
  return { stack, nagFindings };
}

type Statement = { Sid?: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

describe('scale workflow', () => {
  let template: Template;
  let nagFindings: string[];
  let statements: Map<string, Statement[]>;
  beforeAll(() => {
    const synth = synthScaleWorkflow();
    template = Template.fromStack(synth.stack);
    nagFindings = synth.nagFindings;
    // Policy statements of each scale function, by the function's folder.
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
  }, 120_000);

  const sid = (service: string, name: string) =>
    statements.get(`stackpilot-${service}`)?.find((s) => s.Sid === name);
  const render = (value: unknown) => JSON.stringify(value);

  it('creates the state machine named stackpilot-scale from the ASL file, with every placeholder filled, logged and traced', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: 'stackpilot-scale',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL' }),
      DefinitionSubstitutions: Match.objectLike(
        Object.fromEntries(placeholdersOf('scale').map((p) => [p, Match.anyValue()])),
      ),
    });
  });

  it('starts the state machine from the alarm and placement-failure patterns of events/, without execution names', () => {
    const rules = Object.values(template.findResources('AWS::Events::Rule'));
    const patterns = rules.map((r) => r.Properties.EventPattern);
    expect(patterns).toContainEqual(alarmStateChangePattern);
    expect(patterns).toContainEqual(taskPlacementFailurePattern);
    for (const rule of rules.filter((r) =>
      [alarmStateChangePattern, taskPlacementFailurePattern].some(
        (p) => render(p) === render(r.Properties.EventPattern),
      ),
    )) {
      const target = rule.Properties.Targets[0];
      expect(render(target.Arn)).toContain('ScaleStateMachine');
      expect(target.Input).toBeUndefined();
      expect(target.RetryPolicy).toEqual({ MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 7200 });
    }
  });

  it("lets Scale Service describe and update only the stages' services", () => {
    const statement = sid('scale-service', 'ScaleStageServices');
    expect(statement?.Action).toEqual(['ecs:DescribeServices', 'ecs:UpdateService']);
    expect(render(statement?.Resource)).toContain(':service/stackpilot-starter-dev/stackpilot-starter-dev');
    expect(render(statement?.Resource)).toContain(':service/stackpilot-starter-prod/stackpilot-starter-prod');
    expect(render(statement?.Resource)).not.toContain('service/*');
  });

  it("lets the cluster steps change only the stages' groups and container instances", () => {
    expect(sid('scale-cluster-out', 'SetStageGroupCapacity')?.Action).toBe('autoscaling:SetDesiredCapacity');
    expect(render(sid('scale-cluster-out', 'SetStageGroupCapacity')?.Resource)).toContain(
      ':autoScalingGroup:*:autoScalingGroupName/stackpilot-starter-dev',
    );
    const terminate = sid('terminate-instance', 'TerminateStageGroupInstances');
    expect(terminate?.Action).toEqual([
      'autoscaling:SetInstanceProtection',
      'autoscaling:TerminateInstanceInAutoScalingGroup',
    ]);
    expect(render(terminate?.Resource)).toContain('autoScalingGroupName/stackpilot-starter-prod');
    const drain = sid('drain-instance', 'DrainStageContainerInstances');
    expect(drain?.Action).toBe('ecs:UpdateContainerInstancesState');
    expect(render(drain?.Resource)).toContain(':container-instance/stackpilot-starter-dev/*');
    expect(render(sid('drain-instance', 'ListStageContainerInstances')?.Resource)).toContain(
      ':cluster/stackpilot-starter-dev',
    );
    // Checking a drain changes nothing.
    expect(statements.get('stackpilot-check-drain')?.flatMap((s) => s.Action)).not.toContain(
      'ecs:UpdateContainerInstancesState',
    );
  });

  it("lets Read Alarm State describe only the stages' scaling alarms", () => {
    const statement = sid('read-alarm-state', 'ReadStageAlarms');
    expect(statement?.Action).toBe('cloudwatch:DescribeAlarms');
    expect(render(statement?.Resource)).toContain(':alarm:stackpilot-starter-dev-cluster-cpu-low');
    expect(statement?.Resource as unknown[]).toHaveLength(8);
  });

  it("lets Re-arm Alarms set the state of the stages' scaling alarms only, and no other function set any", () => {
    const statement = sid('rearm-scaling-alarms', 'RearmStageAlarms');
    expect(statement?.Action).toEqual(['cloudwatch:DescribeAlarms', 'cloudwatch:SetAlarmState']);
    // Each alarm by its full name (stackpilot-<app>-<stage>-<target>-cpu-<high|low>): no wildcard.
    expect(render(statement?.Resource)).toContain(':alarm:stackpilot-starter-dev-cluster-cpu-low');
    expect(render(statement?.Resource)).toContain(':alarm:stackpilot-starter-prod-service-cpu-high');
    expect(render(statement?.Resource)).not.toContain('*');
    expect(statement?.Resource as unknown[]).toHaveLength(8);
    const setters = [...statements].filter(([, list]) =>
      list.some((s) => [s.Action].flat().includes('cloudwatch:SetAlarmState')),
    );
    expect(setters.map(([service]) => service)).toEqual(['stackpilot-rearm-scaling-alarms']);
  });

  it('keeps the guard in a private, encrypted bucket that only the lease functions touch', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: Match.objectLike({ BlockPublicAcls: true }),
      LifecycleConfiguration: {
        Rules: Match.arrayWith([Match.objectLike({ Prefix: 'scaling/events/', ExpirationInDays: 7 })]),
      },
    });
    expect(sid('acquire-scaling-lease', 'WriteGuardObjects')?.Action).toEqual([
      's3:GetObject',
      's3:PutObject',
      's3:DeleteObject',
    ]);
    expect(sid('release-scaling-lease', 'ListGuardObjects')?.Condition).toEqual({
      StringLike: { 's3:prefix': ['scaling/*'] },
    });
    expect(sid('scale-service', 'WriteGuardObjects')).toBeUndefined();
  });

  it('gives the interpret step no AWS permission beyond logs and tracing', () => {
    const actions = statements.get('stackpilot-interpret-scaling-event')?.flatMap((s) => s.Action) ?? [];
    expect([...new Set(actions)].sort()).toEqual([
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ]);
  });

  it('passes cdk-nag AwsSolutions', () => {
    expect(nagFindings).toEqual([]);
  });
});
