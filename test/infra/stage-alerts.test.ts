import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { oneStageConfig, synthStage } from './stage-stack.ts';

/** The one resource of a type whose properties match, with its logical id. */
function only(template: Template, type: string, props: object = {}): [string, Record<string, unknown>] {
  const found = Object.entries(template.findResources(type, { Properties: Match.objectLike(props) }));
  expect(found, `${type} ${JSON.stringify(props)}`).toHaveLength(1);
  const [id, resource] = found[0] as [string, { Properties: Record<string, unknown> }];
  return [id, resource.Properties];
}

describe('stage alerts and dashboard, standard tier', () => {
  let template: Template;
  let nagFindings: string[];
  beforeAll(() => {
    ({ template, nagFindings } = synthStage(
      oneStageConfig(
        { alerts: { emails: ['dev@example.com', 'lead@example.com'] } },
        { alerts: { emails: ['oncall@example.com'] } },
      ),
    ));
  });

  it('has one alert topic, encrypted with a rotated key of its own, with the stage e-mails subscribed', () => {
    const [keyId] = only(template, 'AWS::KMS::Key', { EnableKeyRotation: true });
    only(template, 'AWS::SNS::Topic', {
      TopicName: 'stackpilot-web-dev-alerts',
      KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
    });
    const emails = Object.values(template.findResources('AWS::SNS::Subscription')).map(
      (r) => (r as { Properties: { Protocol: string; Endpoint: string } }).Properties,
    );
    expect(emails.map((e) => [e.Protocol, e.Endpoint])).toEqual([['email', 'oncall@example.com']]);
  });

  it('lets EventBridge and CloudWatch use the key, and refuses publishing without TLS', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'PublishersUseTheKey',
            Principal: { Service: ['events.amazonaws.com', 'cloudwatch.amazonaws.com'] },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Effect: 'Allow',
            Action: 'sns:Publish',
            Principal: { Service: 'events.amazonaws.com' },
          }),
        ]),
      },
    });
  });

  it("alerts on the stage's failed builds, failed releases and crashed tasks, with exactly these patterns", () => {
    const [topicId] = only(template, 'AWS::SNS::Topic');
    const patterns = Object.values(template.findResources('AWS::Events::Rule')).map(
      (r) => (r as { Properties: { EventPattern: unknown; Targets: { Arn: unknown }[] } }).Properties,
    );
    for (const rule of patterns) expect(rule.Targets.map((t) => t.Arn)).toEqual([{ Ref: topicId }]);
    expect(patterns.map((p) => p.EventPattern)).toEqual([
      {
        source: ['aws.codebuild'],
        'detail-type': ['CodeBuild Build State Change'],
        detail: {
          'build-status': ['FAILED', 'FAULT', 'TIMED_OUT'],
          'project-name': ['stackpilot-web-dev'],
        },
      },
      {
        source: ['stackpilot'],
        'detail-type': ['stackpilot Release Failed'],
        detail: { app: ['web'], stage: ['dev'] },
      },
      {
        source: ['aws.ecs'],
        'detail-type': ['ECS Task State Change'],
        detail: {
          clusterArn: [{ 'Fn::GetAtt': [expect.stringMatching(/^StageCluster/), 'Arn'] }],
          lastStatus: ['STOPPED'],
          stopCode: ['EssentialContainerExited'],
          containers: { exitCode: [{ numeric: ['>', 0] }] },
        },
      },
    ]);
  });

  it('writes the release alert as a sentence with the Cause', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      Targets: [
        Match.objectLike({
          InputTransformer: {
            InputPathsMap: Match.objectLike({ 'detail-cause': '$.detail.cause' }),
            InputTemplate: Match.stringLikeRegexp(
              'stackpilot web/dev: the <detail-action> <detail-status>: <detail-error>: <detail-cause>',
            ),
          },
        }),
      ],
    });
  });

  it("sends the front door's 5xx-rate alarm to the topic", () => {
    const [topicId] = only(template, 'AWS::SNS::Topic');
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'stackpilot.web.dev.5xx-rate',
      AlarmActions: [{ Ref: topicId }],
    });
  });

  it('has a dashboard, and collects the group metrics it graphs', () => {
    const [, dashboard] = only(template, 'AWS::CloudWatch::Dashboard', {
      DashboardName: 'stackpilot-web-dev',
    });
    const body = JSON.stringify(dashboard.DashboardBody).replaceAll('\\"', '"');
    for (const metric of [
      '"AWS/ApiGateway","Count"',
      '"5xx"',
      'Latency',
      'CPUUtilization',
      'GroupInServiceInstances',
    ])
      expect(body).toContain(metric);
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      MetricsCollection: [
        { Granularity: '1Minute', Metrics: ['GroupInServiceInstances', 'GroupDesiredCapacity'] },
      ],
    });
  });

  it('passes cdk-nag', () => {
    expect(nagFindings).toEqual([]);
  });
});

describe('stage alerts, hyperscale tier', () => {
  let template: Template;
  let nagFindings: string[];
  beforeAll(() => {
    ({ template, nagFindings } = synthStage(oneStageConfig({}, { scale: 'hyperscale' })));
  });

  it('alarms on unhealthy targets for 3 minutes, to the topic, and subscribes nobody without e-mails', () => {
    const [topicId] = only(template, 'AWS::SNS::Topic');
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'stackpilot.web.dev.unhealthy-targets',
      MetricName: 'UnHealthyHostCount',
      Namespace: 'AWS/ApplicationELB',
      Threshold: 1,
      EvaluationPeriods: 3,
      AlarmActions: [{ Ref: topicId }],
    });
    template.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it('graphs the load balancer', () => {
    const [, dashboard] = only(template, 'AWS::CloudWatch::Dashboard');
    expect(JSON.stringify(dashboard.DashboardBody)).toContain('TargetResponseTime');
  });

  it('passes cdk-nag', () => {
    expect(nagFindings).toEqual([]);
  });
});
