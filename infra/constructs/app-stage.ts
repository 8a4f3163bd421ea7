import { CfnOutput, Stack } from 'aws-cdk-lib';
import type * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as servicediscovery from 'aws-cdk-lib/aws-servicediscovery';
import { Construct } from 'constructs';
import type { StageRef } from '#shared/config.ts';
import { APP_CONTAINER_NAME, stageNames } from '#shared/naming.ts';
import { StageAlarms } from './stage-alarms.ts';
import { StageAlerts } from './stage-alerts.ts';
import { StageCluster } from './stage-cluster.ts';
import { StageDashboard } from './stage-dashboard.ts';
import { type ApiThrottle, StageFrontDoor } from './stage-front-door.ts';
import { StageNetwork } from './stage-network.ts';
import { StagePipeline } from './stage-pipeline.ts';

export interface AppStageProps {
  /** The stage and its app, from the validated `stackpilot.yml`. */
  readonly stage: StageRef;
  /** The control plane's versioned bucket of source zips. */
  readonly sourceBucket: s3.IBucket;
  /** The app's ECR repository (shared by its stages). */
  readonly repository: ecr.IRepository;
  /**
   * The app's repository of preview images, in the stage that runs its previews (`previews.stage`).
   * @default - no previews in this stage
   */
  readonly previewRepository?: ecr.IRepository;
  /** @default DEFAULT_API_THROTTLE (standard tier only) */
  readonly throttle?: ApiThrottle;
}

/**
 * Everything one app stage runs on: network, ECS cluster on EC2 and its service, the front
 * door of its scale tier (and the parameter that tells the `preview` state machine about it),
 * the pipeline from source zip to release (and, in the stage that runs the app's previews, the
 * preview pipeline), and the scaling alarms.
 * Resources carry the deterministic names of `shared/naming.ts`, which the control plane's
 * functions use to find them.
 */
export class AppStage extends Construct {
  readonly network: StageNetwork;
  readonly cluster: StageCluster;
  readonly frontDoor: StageFrontDoor;
  readonly pipeline: StagePipeline;
  readonly alarms: StageAlarms;
  readonly alerts: StageAlerts;
  readonly dashboard: StageDashboard;

  constructor(scope: Construct, id: string, props: AppStageProps) {
    super(scope, id);
    const { app, stage, appConfig, stageConfig } = props.stage;

    this.network = new StageNetwork(this, 'Network');
    const vpc = this.network.vpc;

    // The standard tier's API Gateway discovers tasks in Cloud Map (a private DNS namespace: SRV records).
    const namespace =
      stageConfig.scale === 'standard'
        ? new servicediscovery.PrivateDnsNamespace(this, 'Namespace', {
            name: `${stage}.${app}.stackpilot.internal`,
            vpc,
            description: `stackpilot ${app}/${stage}: tasks of the service`,
          })
        : undefined;

    this.cluster = new StageCluster(this, 'Cluster', {
      app,
      stage,
      appConfig,
      stageConfig,
      vpc,
      repository: props.repository,
      ...(props.previewRepository && { previewRepository: props.previewRepository }),
      cloudMapNamespace: namespace,
    });
    this.frontDoor = new StageFrontDoor(this, 'FrontDoor', {
      app,
      stage,
      appConfig,
      stageConfig,
      vpc,
      service: this.cluster.service,
      instanceSecurityGroup: this.cluster.instanceSecurityGroup,
      throttle: props.throttle,
    });
    this.pipeline = new StagePipeline(this, 'Pipeline', {
      app,
      stage,
      appConfig,
      sourceBucket: props.sourceBucket,
      repository: props.repository,
      ...(props.previewRepository && { previewRepository: props.previewRepository }),
    });
    this.alarms = new StageAlarms(this, 'Alarms', {
      app,
      stage,
      stageConfig,
      httpApi: this.frontDoor.httpApi,
      loadBalancer: this.frontDoor.loadBalancer,
    });
    if (stageConfig.deployment.bakeMinutes > 0) {
      // ECS watches the alarm during each rollout and for a bake time it derives from the alarm's
      // periods, and rolls the service back when it fires; the release then fails naming it.
      // The literal name (not the alarm's Ref): the same in the template, the console and the release's Cause.
      this.cluster.service.enableDeploymentAlarms([stageNames(app, stage).errorRateAlarm], {
        behavior: ecs.AlarmBehavior.ROLLBACK_ON_ALARM,
      });
      // ECS checks that the alarm exists when the service is created or updated.
      this.cluster.service.node.addDependency(this.alarms.errorRate);
    }

    this.alerts = new StageAlerts(this, 'Alerts', {
      stage: props.stage,
      clusterArn: this.cluster.cluster.clusterArn,
      errorRateAlarm: this.alarms.errorRate,
      targetGroup: this.frontDoor.targetGroup,
      loadBalancer: this.frontDoor.loadBalancer,
    });
    this.dashboard = new StageDashboard(this, 'Dashboard', {
      app,
      stage,
      httpApi: this.frontDoor.httpApi,
      loadBalancer: this.frontDoor.loadBalancer,
      autoScalingGroup: this.cluster.autoScalingGroup,
      scalingAlarms: Object.values(this.alarms.alarms),
      alertAlarms: [
        this.alarms.errorRate,
        ...(this.alerts.unhealthyTargets ? [this.alerts.unhealthyTargets] : []),
      ],
    });

    this.outputs(props);
  }

  private outputs(props: AppStageProps): void {
    const region = Stack.of(this).region;
    // The deterministic names (not tokens): they read the same in the template and the console.
    const { cluster, service, pipeline } = stageNames(props.stage.app, props.stage.stage);
    new CfnOutput(this, 'ServiceUrl', { value: this.frontDoor.url, description: 'URL of the app' });
    if (this.frontDoor.domainTarget) {
      new CfnOutput(this, 'DomainTarget', {
        value: this.frontDoor.domainTarget,
        description: props.stage.stageConfig.domain?.hostedZoneId
          ? 'Where the custom domain points (stackpilot wrote the alias record)'
          : 'Point the custom domain here: an alias (Route 53) or a CNAME record',
      });
    }
    new CfnOutput(this, 'AlertTopicArn', {
      value: this.alerts.topic.topicArn,
      description: 'SNS topic of the stage alerts',
    });
    new CfnOutput(this, 'DashboardName', { value: this.dashboard.dashboard.dashboardName });
    new CfnOutput(this, 'ClusterName', { value: cluster });
    new CfnOutput(this, 'ServiceName', { value: service });
    new CfnOutput(this, 'PipelineName', { value: pipeline });
    new CfnOutput(this, 'EcrRepositoryUri', { value: props.repository.repositoryUri });
    new CfnOutput(this, 'LogGroupName', { value: this.cluster.logGroup.logGroupName });
    new CfnOutput(this, 'ListTasksCommand', {
      description: 'Lists the running tasks; the last part of a task ARN is the task id of ExecCommand',
      value: `aws ecs list-tasks --region ${region} --cluster ${cluster} --service-name ${service} --desired-status RUNNING --query taskArns --output text`,
    });
    new CfnOutput(this, 'ExecCommand', {
      description: 'Opens a shell in a running task (replace <task-id>; see ListTasksCommand)',
      value: `aws ecs execute-command --region ${region} --cluster ${cluster} --task <task-id> --container ${APP_CONTAINER_NAME} --interactive --command /bin/sh`,
    });
  }
}
