import { Duration } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import type * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { Construct } from 'constructs';
import { stageNames, stageResourceName } from '#shared/naming.ts';

export interface StageDashboardProps {
  readonly app: string;
  readonly stage: string;
  /** The standard tier's front door. */
  readonly httpApi?: apigwv2.IHttpApi;
  /** The hyperscale tier's front door. */
  readonly loadBalancer?: elbv2.ApplicationLoadBalancer;
  /** The cluster's instances: their in-service and desired counts are graphed. */
  readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  /** The scaling alarms (their transitions are the scaling actions) and the alert alarms. */
  readonly scalingAlarms: readonly cloudwatch.IAlarm[];
  readonly alertAlarms: readonly cloudwatch.IAlarm[];
}

const MINUTE = Duration.minutes(1);

/**
 * The stage's CloudWatch dashboard `stackpilot-<app>-<stage>`: requests, 5xx responses and latency
 * at the front door (API Gateway or the load balancer), the service's CPU and memory, its running
 * tasks, the cluster's instances (in service and desired), and the scaling and alert alarms,
 * whose state changes are the scaling actions.
 *
 * Running tasks are the per-minute sample count of the service's CPUUtilization (ECS reports
 * one sample per task), so Container Insights, billed per task, is not needed. The instance
 * counts are the Auto Scaling group's metrics, which this construct turns on (free at 1-minute
 * granularity).
 */
export class StageDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: StageDashboardProps) {
    super(scope, id);
    const { app, stage } = props;
    const names = stageNames(app, stage);
    const metric = (
      namespace: string,
      metricName: string,
      dimensionsMap: Record<string, string>,
      statistic: string,
      label: string,
    ) => new cloudwatch.Metric({ namespace, metricName, dimensionsMap, statistic, period: MINUTE, label });

    let traffic: cloudwatch.IMetric[];
    let errors: cloudwatch.IMetric[];
    let latency: cloudwatch.IMetric[];
    if (props.httpApi) {
      const api = { ApiId: props.httpApi.apiId };
      traffic = [metric('AWS/ApiGateway', 'Count', api, 'Sum', 'requests')];
      errors = [
        metric('AWS/ApiGateway', '5xx', api, 'Sum', '5xx'),
        metric('AWS/ApiGateway', '4xx', api, 'Sum', '4xx'),
      ];
      latency = [
        metric('AWS/ApiGateway', 'Latency', api, 'p50', 'p50'),
        metric('AWS/ApiGateway', 'Latency', api, 'p95', 'p95'),
      ];
    } else if (props.loadBalancer) {
      const lb = { LoadBalancer: props.loadBalancer.loadBalancerFullName };
      traffic = [metric('AWS/ApplicationELB', 'RequestCount', lb, 'Sum', 'requests')];
      errors = [
        metric('AWS/ApplicationELB', 'HTTPCode_Target_5XX_Count', lb, 'Sum', '5xx (app)'),
        metric('AWS/ApplicationELB', 'HTTPCode_ELB_5XX_Count', lb, 'Sum', '5xx (load balancer)'),
      ];
      latency = [
        metric('AWS/ApplicationELB', 'TargetResponseTime', lb, 'p50', 'p50'),
        metric('AWS/ApplicationELB', 'TargetResponseTime', lb, 'p95', 'p95'),
      ];
    } else {
      throw new Error(
        `stage ${app}/${stage}: the dashboard needs the front door (an HTTP API or a load balancer)`,
      );
    }
    const service = { ClusterName: names.cluster, ServiceName: names.service };
    const group = { AutoScalingGroupName: names.autoScalingGroup };

    // Group metrics are off by default; they cost nothing at 1-minute granularity.
    const cfnGroup = props.autoScalingGroup.node.defaultChild as autoscaling.CfnAutoScalingGroup;
    cfnGroup.metricsCollection = [
      { granularity: '1Minute', metrics: ['GroupInServiceInstances', 'GroupDesiredCapacity'] },
    ];

    const graph = (title: string, left: cloudwatch.IMetric[], unit?: string) =>
      new cloudwatch.GraphWidget({ title, left, width: 8, height: 6, leftYAxis: { min: 0, label: unit } });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: stageResourceName(app, stage),
      defaultInterval: Duration.hours(3),
      widgets: [
        [
          new cloudwatch.TextWidget({
            markdown: `# stackpilot ${app}/${stage}\nFront door: ${props.httpApi ? 'API Gateway HTTP API' : 'Application Load Balancer'}. Alerts go to the topic \`${stageResourceName(app, stage)}-alerts\`.`,
            width: 24,
            height: 2,
          }),
        ],
        [
          graph('Requests (per minute)', traffic),
          graph('Errors (per minute)', errors),
          graph('Latency (ms, s for the load balancer)', latency),
        ],
        [
          graph(
            'Service CPU and memory (%)',
            [
              metric('AWS/ECS', 'CPUUtilization', service, 'Average', 'CPU'),
              metric('AWS/ECS', 'MemoryUtilization', service, 'Average', 'memory'),
            ],
            '%',
          ),
          graph('Running tasks', [metric('AWS/ECS', 'CPUUtilization', service, 'SampleCount', 'tasks')]),
          graph('Cluster instances', [
            metric('AWS/AutoScaling', 'GroupInServiceInstances', group, 'Maximum', 'in service'),
            metric('AWS/AutoScaling', 'GroupDesiredCapacity', group, 'Maximum', 'desired'),
          ]),
        ],
        [
          new cloudwatch.AlarmStatusWidget({
            title: 'Scaling and alerts (a scaling alarm in ALARM is a scaling action)',
            alarms: [...props.scalingAlarms, ...props.alertAlarms],
            width: 24,
            height: 4,
          }),
        ],
      ],
    });
    // cfn-lint 1.51's schema has no Tags on a dashboard: stack tags stay off it (a dashboard costs nothing to find).
    (this.dashboard.node.defaultChild as cloudwatch.CfnDashboard).addPropertyDeletionOverride('Tags');
  }
}
