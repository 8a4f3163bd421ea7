import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../shared/config.ts';
import { synthApp } from './support.ts';

describe('control plane: commit statuses and release alerts', () => {
  let template: Template;
  let nagFindings: string[];
  beforeAll(() => {
    const synth = synthApp(
      parseConfig({
        apps: {
          web: {
            repository: {
              provider: 'github',
              url: 'https://github.com/acme/web.git',
              tokenSecret: 'acme/clone',
            },
            commitStatus: { tokenSecret: 'acme/status' },
            stages: { dev: { branch: 'main' } },
          },
          api: {
            repository: {
              provider: 'gitlab',
              url: 'https://gitlab.com/acme/api.git',
              tokenSecret: 'acme/gitlab',
            },
            stages: { dev: { branch: 'main' } },
          },
          docs: {
            repository: {
              provider: 'github',
              url: 'https://github.com/acme/docs.git',
              tokenSecret: 'acme/docs',
            },
            commitStatus: { enabled: false },
            stages: { dev: { branch: 'main' } },
          },
        },
      }),
    );
    template = Template.fromStack(synth.controlPlane);
    nagFindings = synth.nagFindings;
  });

  const ruleOf = (description: string) => {
    const rules = template.findResources('AWS::Events::Rule', {
      Properties: { Description: Match.stringLikeRegexp(description) },
    });
    expect(Object.keys(rules)).toHaveLength(1);
    return Object.values(rules)[0] as { Properties: { EventPattern: unknown; Targets: { Arn: unknown }[] } };
  };
  const logicalId = (type: string, props: object) => {
    const [id] = Object.keys(template.findResources(type, { Properties: Match.objectLike(props) }));
    expect(id).toBeDefined();
    return id as string;
  };

  it('sends every status change of the deploy state machine to report-commit-status', () => {
    const rule = ruleOf('deploy execution sets the pushed commit status');
    const deploy = logicalId('AWS::StepFunctions::StateMachine', { StateMachineName: 'stackpilot-deploy' });
    expect(rule.Properties.EventPattern).toEqual({
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: {
        stateMachineArn: [{ Ref: deploy }],
        status: ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'],
      },
    });
    const fn = logicalId('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('sets the commit status'),
    });
    expect(rule.Properties.Targets.map((t) => t.Arn)).toEqual([{ 'Fn::GetAtt': [fn, 'Arn'] }]);
  });

  it('lets report-commit-status read exactly the status token of each app that reports (and nothing else)', () => {
    const role = logicalId('AWS::IAM::Role', { Description: Match.stringLikeRegexp('ReportCommitStatus') });
    const policies = Object.values(
      template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: role }] } }),
    ) as {
      Properties: { PolicyDocument: { Statement: { Sid?: string; Action: unknown; Resource: unknown }[] } };
    }[];
    const statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement);
    const secrets = statements.find((s) => s.Sid === 'ReadCommitStatusTokens');
    expect(secrets?.Action).toBe('secretsmanager:GetSecretValue');
    const text = JSON.stringify(secrets?.Resource);
    expect(text).toContain(':secret:acme/status-??????');
    expect(text).toContain(':secret:acme/gitlab-??????');
    expect(text).not.toContain('acme/clone');
    expect(text).not.toContain('acme/docs');
    expect(statements.map((s) => s.Sid).sort()).toEqual([
      'ReadCommitStatusTokens',
      'WriteOwnLogs',
      undefined,
    ]);
  });

  it('counts the statuses that could not be set in a metric', () => {
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      FilterPattern: '{ $.metric = "CommitStatusFailed" }',
      MetricTransformations: [
        { MetricNamespace: 'stackpilot', MetricName: 'CommitStatusFailed', MetricValue: '1' },
      ],
    });
  });

  it('routes failed, timed-out and stopped releases, and may put events on the default bus only', () => {
    const rule = ruleOf('release that failed');
    const release = logicalId('AWS::StepFunctions::StateMachine', { StateMachineName: 'stackpilot-release' });
    expect(rule.Properties.EventPattern).toEqual({
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: { stateMachineArn: [{ Ref: release }], status: ['FAILED', 'TIMED_OUT', 'ABORTED'] },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'PutAlertEvents',
            Action: 'events:PutEvents',
            Resource: {
              'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp(':event-bus/default$')])],
            },
          }),
        ]),
      },
    });
  });

  it('passes cdk-nag', () => {
    expect(nagFindings).toEqual([]);
  });
});
