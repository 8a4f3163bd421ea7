import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { defaultHealthCheckCommand } from '../../shared/health.ts';
import { PLACEHOLDER_HEALTH_CHECK_LABEL } from '../../shared/release/placeholder.ts';
import { oneStageConfig, synthStage } from './stage-stack.ts';

const ifReleased = (then: unknown, otherwise: unknown) => ({ 'Fn::If': ['HasRelease', then, otherwise] });

// A cold synth imports aws-cdk-lib: over a minute on a busy machine.
describe('container health check', { timeout: 300_000 }, () => {
  it('checks an HTTP app on its health check path by default, in the standard tier too', () => {
    const { template, nagFindings } = synthStage(
      oneStageConfig({ containerPort: 8080, healthCheckPath: '/health' }),
    );
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [
        Match.objectLike({
          Name: 'app',
          HealthCheck: {
            Command: defaultHealthCheckCommand(8080, '/health'),
            Interval: 10,
            Timeout: 5,
            Retries: 3,
            StartPeriod: 30,
          },
        }),
      ],
    });
    expect(nagFindings).toEqual([]);
  });

  it('runs a configured command once released, and the default check on the placeholder, which carries the command for the first release', () => {
    const command = ['CMD', '/app/healthcheck'];
    const { template } = synthStage(
      oneStageConfig({
        healthCheck: { command, intervalSeconds: 20, timeoutSeconds: 4, retries: 5, startPeriodSeconds: 60 },
      }),
    );
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [
        Match.objectLike({
          HealthCheck: {
            Command: ifReleased(command, defaultHealthCheckCommand(80, '/')),
            Interval: 20,
            Timeout: 4,
            Retries: 5,
            StartPeriod: 60,
          },
          DockerLabels: ifReleased(
            { Ref: 'AWS::NoValue' },
            { 'stackpilot.placeholder': 'true', [PLACEHOLDER_HEALTH_CHECK_LABEL]: JSON.stringify(command) },
          ),
        }),
      ],
    });
  });

  it('has no container health check when disabled', () => {
    const { template } = synthStage(oneStageConfig({ healthCheck: { enabled: false } }));
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [Match.objectLike({ HealthCheck: Match.absent() })],
    });
  });
});

describe('bake window: the front door 5xx-rate alarm as an ECS deployment alarm', {
  timeout: 300_000,
}, () => {
  it('standard: alarms on the HTTP API 5xx share of requests over 3 one-minute periods and rolls the service back', () => {
    const { template, nagFindings } = synthStage(oneStageConfig());
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'stackpilot.web.dev.5xx-rate',
      Threshold: 5,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      TreatMissingData: 'notBreaching',
      Metrics: Match.arrayWith([
        Match.objectLike({
          Expression: 'IF((FILL(requests, 0)) >= 10, 100 * FILL(errors5xx, 0) / (FILL(requests, 0)), 0)',
          ReturnData: true,
        }),
        Match.objectLike({
          Id: 'errors5xx',
          MetricStat: Match.objectLike({
            Metric: Match.objectLike({ Namespace: 'AWS/ApiGateway', MetricName: '5xx' }),
            Period: 60,
            Stat: 'Sum',
          }),
        }),
      ]),
    });
    template.hasResourceProperties('AWS::ECS::Service', {
      DeploymentConfiguration: Match.objectLike({
        Alarms: { AlarmNames: ['stackpilot.web.dev.5xx-rate'], Enable: true, Rollback: true },
      }),
    });
    const service = Object.values(template.findResources('AWS::ECS::Service'))[0];
    const alarmId = Object.keys(
      template.findResources('AWS::CloudWatch::Alarm', {
        Properties: { AlarmName: 'stackpilot.web.dev.5xx-rate' },
      }),
    )[0];
    expect(service?.DependsOn).toContain(alarmId);
    expect(nagFindings).toEqual([]);
  });

  it('hyperscale: counts the targets and the load balancer 5xx, with the window configured', () => {
    const { template } = synthStage(
      oneStageConfig({}, { scale: 'hyperscale', deployment: { bakeMinutes: 10, errorRatePercent: 2 } }),
    );
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'stackpilot.web.dev.5xx-rate',
      Threshold: 2,
      EvaluationPeriods: 10,
      Metrics: Match.arrayWith([
        Match.objectLike({
          Expression:
            'IF((FILL(requests, 0) + FILL(elb5xx, 0)) >= 10, 100 * (FILL(target5xx, 0) + FILL(elb5xx, 0)) / (FILL(requests, 0) + FILL(elb5xx, 0)), 0)',
        }),
        Match.objectLike({
          Id: 'target5xx',
          MetricStat: Match.objectLike({
            Metric: Match.objectLike({
              Namespace: 'AWS/ApplicationELB',
              MetricName: 'HTTPCode_Target_5XX_Count',
            }),
          }),
        }),
      ]),
    });
  });

  it('bakeMinutes 0 turns the deployment alarm off (the alarm stays, for the operator)', () => {
    const { template } = synthStage(oneStageConfig({}, { deployment: { bakeMinutes: 0 } }));
    template.hasResourceProperties('AWS::ECS::Service', {
      // CDK writes the alarms off explicitly, so a later deploy also turns them off on a live service.
      DeploymentConfiguration: Match.objectLike({
        Alarms: { AlarmNames: [], Enable: false, Rollback: false },
      }),
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'stackpilot.web.dev.5xx-rate' });
  });
});
