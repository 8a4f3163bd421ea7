import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import type { StageConfig } from '../../shared/config.ts';
import { type ScaleDirection, type ScaleTarget, stageNames } from '../../shared/naming.ts';

export interface StageAlarmsProps {
  readonly app: string;
  readonly stage: string;
  readonly stageConfig: StageConfig;
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
  }
}
