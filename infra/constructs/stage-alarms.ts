import { Duration } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { Construct } from 'constructs';
import type { StageConfig } from '#shared/config.ts';
import { errorRateAlarmShape, MIN_REQUESTS_PER_MINUTE } from '#shared/health.ts';
import { type ScaleDirection, type ScaleTarget, stageNames } from '#shared/naming.ts';

export interface StageAlarmsProps {
  readonly app: string;
  readonly stage: string;
  readonly stageConfig: StageConfig;
  /** The standard tier's front door: its 5xx rate is the API's. */
  readonly httpApi?: apigwv2.IHttpApi;
  /** The hyperscale tier's front door: its 5xx rate counts the targets' and the load balancer's own. */
  readonly loadBalancer?: elbv2.ApplicationLoadBalancer;
}

/**
 * The four scaling alarms of a stage, named `stackpilot-<app>-<stage>-<service|cluster>-cpu-<high|low>`
 * (`stageNames().alarm`), so the scale state machine maps an alarm to (app, stage, target,
 * direction) from its name alone. They have no actions: the control plane's EventBridge rule
 * on "CloudWatch Alarm State Change" reacts to them.
 *
 * Service CPU is the service's average CPUUtilization (AWS/ECS, by cluster and service).
 * The cluster alarms watch, by `clusterScaling.policy`, the higher of the cluster's
 * CPUReservation and MemoryReservation (`reservation`, the default; the names keep `cpu` so
 * that alarms and rules stay stable) or its average CPUUtilization (`cpu-utilization`).
 */
export class StageAlarms extends Construct {
  readonly alarms: Record<`${ScaleTarget}-${ScaleDirection}`, cloudwatch.Alarm>;
  /** 5xx responses of the front door, as a share of its requests: the release's bake alarm. */
  readonly errorRate: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: StageAlarmsProps) {
    super(scope, id);
    const { app, stage, stageConfig } = props;
    const names = stageNames(app, stage);
    const service = stageConfig.serviceScaling;
    const cluster = stageConfig.clusterScaling;

    const metric = (target: ScaleTarget, periodSeconds: number, metricName = 'CPUUtilization') =>
      new cloudwatch.Metric({
        namespace: 'AWS/ECS',
        metricName,
        dimensionsMap:
          target === 'service'
            ? { ClusterName: names.cluster, ServiceName: names.service }
            : { ClusterName: names.cluster },
        statistic: cloudwatch.Stats.AVERAGE,
        period: Duration.seconds(periodSeconds),
      });

    // The cluster's `reservation` policy: what the tasks reserve, CPU or memory, whichever
    // binds first (a t3.micro runs out of memory long before CPU).
    const reservation = () =>
      new cloudwatch.MathExpression({
        expression: 'MAX([cpu, memory])',
        label: 'reservation',
        usingMetrics: {
          cpu: metric('cluster', cluster.periodSeconds, 'CPUReservation'),
          memory: metric('cluster', cluster.periodSeconds, 'MemoryReservation'),
        },
        period: Duration.seconds(cluster.periodSeconds),
      });

    const alarm = (constructId: string, target: ScaleTarget, direction: ScaleDirection) => {
      const byReservation = target === 'cluster' && cluster.policy === 'reservation';
      const settings = target === 'service' ? service : cluster;
      const threshold = byReservation
        ? direction === 'out'
          ? cluster.reservationHigh
          : cluster.reservationLow
        : direction === 'out'
          ? settings.cpuHigh
          : settings.cpuLow;
      const what = byReservation ? 'reservation (max of CPU and memory)' : 'CPU';
      return new cloudwatch.Alarm(this, constructId, {
        alarmName: names.alarm(target, direction),
        alarmDescription: `stackpilot ${app}/${stage}: ${target} ${what} ${direction === 'out' ? 'above' : 'below'} ${threshold}% (scales ${direction})`,
        metric: byReservation ? reservation() : metric(target, settings.periodSeconds),
        threshold,
        evaluationPeriods: settings.evaluationPeriods,
        comparisonOperator:
          direction === 'out'
            ? cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
            : cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        // No tasks, no data: neither a reason to add capacity nor to remove it.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    };

    this.alarms = {
      'service-out': alarm('ServiceCpuHigh', 'service', 'out'),
      'service-in': alarm('ServiceCpuLow', 'service', 'in'),
      'cluster-out': alarm('ClusterCpuHigh', 'cluster', 'out'),
      'cluster-in': alarm('ClusterCpuLow', 'cluster', 'in'),
    };
    this.errorRate = this.errorRateAlarm(props);
  }

  private errorRateAlarm(props: StageAlarmsProps): cloudwatch.Alarm {
    const { app, stage, stageConfig } = props;
    const { bakeMinutes, errorRatePercent } = stageConfig.deployment;
    const shape = errorRateAlarmShape(bakeMinutes);
    const period = Duration.seconds(shape.periodSeconds);
    const sum = (namespace: string, metricName: string, dimensionsMap: Record<string, string>) =>
      new cloudwatch.Metric({
        namespace,
        metricName,
        dimensionsMap,
        statistic: cloudwatch.Stats.SUM,
        period,
      });
    let errors: string;
    let usingMetrics: Record<string, cloudwatch.IMetric>;
    if (props.httpApi) {
      const api = { ApiId: props.httpApi.apiId };
      usingMetrics = {
        errors5xx: sum('AWS/ApiGateway', '5xx', api),
        requests: sum('AWS/ApiGateway', 'Count', api),
      };
      errors = 'FILL(errors5xx, 0)';
    } else if (props.loadBalancer) {
      const lb = { LoadBalancer: props.loadBalancer.loadBalancerFullName };
      usingMetrics = {
        target5xx: sum('AWS/ApplicationELB', 'HTTPCode_Target_5XX_Count', lb),
        // 502/503/504 of the load balancer itself (no healthy target, a target that hung up).
        elb5xx: sum('AWS/ApplicationELB', 'HTTPCode_ELB_5XX_Count', lb),
        requests: sum('AWS/ApplicationELB', 'RequestCount', lb),
      };
      errors = '(FILL(target5xx, 0) + FILL(elb5xx, 0))';
    } else {
      throw new Error(
        `stage ${app}/${stage}: the 5xx-rate alarm needs the front door (an HTTP API or a load balancer)`,
      );
    }
    const requests = props.loadBalancer ? 'FILL(requests, 0) + FILL(elb5xx, 0)' : 'FILL(requests, 0)';
    return new cloudwatch.Alarm(this, 'ErrorRate', {
      alarmName: stageNames(app, stage).errorRateAlarm,
      alarmDescription: `stackpilot ${app}/${stage}: over ${errorRatePercent}% of the front door's responses are 5xx in ${shape.datapointsToAlarm} of ${shape.evaluationPeriods} minutes; during a release's bake window ECS rolls the release back`,
      metric: new cloudwatch.MathExpression({
        // A quiet minute never breaches: a few requests are no evidence.
        expression: `IF((${requests}) >= ${MIN_REQUESTS_PER_MINUTE}, 100 * ${errors} / (${requests}), 0)`,
        usingMetrics,
        period,
        label: '5xx rate (%)',
      }),
      threshold: errorRatePercent,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: shape.evaluationPeriods,
      datapointsToAlarm: shape.datapointsToAlarm,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }
}
