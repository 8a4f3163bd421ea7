import { Duration, Fn, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { buildFailedPattern } from '#events/codebuild.ts';
import { taskExitedPattern } from '#events/ecs-task.ts';
import { releaseFailedPattern } from '#events/release-alert.ts';
import { type StageRef, stageAlertEmails } from '#shared/config.ts';
import { PREFIX, stageNames, stageResourceName } from '#shared/naming.ts';
import { toEventPattern } from './scale-workflow.ts';

export interface StageAlertsProps {
  /** The stage, with its app: the alert e-mails come from its `alerts`. */
  readonly stage: StageRef;
  /** The stage's ECS cluster ARN: its tasks that crash alert. */
  readonly clusterArn: string;
  /** The stage's 5xx-rate alarm (front door): its ALARM state alerts. */
  readonly errorRateAlarm: cloudwatch.Alarm;
  /** The hyperscale tier's target group and load balancer: unhealthy targets alert. */
  readonly targetGroup?: elbv2.ApplicationTargetGroup;
  readonly loadBalancer?: elbv2.ApplicationLoadBalancer;
}

/** `stackpilot.<app>.<stage>.unhealthy-targets`: dotted, like the 5xx-rate alarm, so the scaling rule ignores it. */
export function unhealthyTargetsAlarmName(app: string, stage: string): string {
  return `${PREFIX}.${app}.${stage}.unhealthy-targets`;
}

/**
 * The stage's alert topic `stackpilot-<app>-<stage>-alerts` (SNS, encrypted with a key of its
 * own, HTTPS only) with the e-mail subscriptions of `stackpilot.yml`, and what publishes to it:
 *
 * - a build of the stage's CodeBuild project that failed, faulted or timed out (EventBridge);
 * - a release of the stage that failed (and rolled back), timed out or was stopped: the
 *   "stackpilot Release Failed" event the control plane puts (EventBridge), with the Cause;
 * - the front door's 5xx-rate alarm, and in the hyperscale tier an unhealthy-targets alarm
 *   (CloudWatch alarm actions);
 * - a task of the stage's cluster whose app container exited with a non-zero code (EventBridge).
 *
 * EventBridge messages go through an input transformer: the mail reads as a sentence.
 */
export class StageAlerts extends Construct {
  readonly topic: sns.Topic;
  readonly key: kms.Key;
  readonly buildFailedRule: events.Rule;
  readonly releaseFailedRule: events.Rule;
  readonly taskExitedRule: events.Rule;
  readonly unhealthyTargets?: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: StageAlertsProps) {
    super(scope, id);
    const { app, stage } = props.stage;
    const name = stageResourceName(app, stage);
    const what = `stackpilot ${app}/${stage}`;

    this.key = new kms.Key(this, 'Key', {
      description: `${what}: encrypts the alert topic`,
      enableKeyRotation: true,
    });
    // EventBridge and CloudWatch publish to the encrypted topic with this key (SNS asks them for a data key).
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'PublishersUseTheKey',
        principals: [
          new iam.ServicePrincipal('events.amazonaws.com'),
          new iam.ServicePrincipal('cloudwatch.amazonaws.com'),
        ],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    this.topic = new sns.Topic(this, 'Topic', {
      topicName: `${name}-alerts`,
      displayName: `${what} alerts`,
      masterKey: this.key,
      enforceSSL: true,
    });
    for (const email of stageAlertEmails(props.stage)) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(email));
    }

    const toTopic = (message: string) =>
      new targets.SnsTopic(this.topic, { message: events.RuleTargetInput.fromText(message) });
    const field = (path: string) => events.EventField.fromPath(path);

    this.buildFailedRule = new events.Rule(this, 'BuildFailedRule', {
      description: `${what}: a failed build alerts the stage`,
      eventPattern: toEventPattern(buildFailedPattern(stageNames(app, stage).pipeline)),
      targets: [
        toTopic(
          `${what}: the build failed (${field('$.detail.build-status')}), so the push was not released. Build log: ${field('$.detail.additional-information.logs.deep-link')}`,
        ),
      ],
    });
    this.releaseFailedRule = new events.Rule(this, 'ReleaseFailedRule', {
      description: `${what}: a failed release alerts the stage`,
      eventPattern: toEventPattern(releaseFailedPattern(app, stage)),
      targets: [
        toTopic(
          `${what}: the ${field('$.detail.action')} ${field('$.detail.status')}: ${field('$.detail.error')}: ${field('$.detail.cause')} Execution: ${field('$.detail.consoleUrl')}`,
        ),
      ],
    });
    this.taskExitedRule = new events.Rule(this, 'TaskExitedRule', {
      description: `${what}: a task whose app exited with a non-zero code alerts the stage`,
      eventPattern: toEventPattern(taskExitedPattern(props.clusterArn)),
      targets: [
        toTopic(
          `${what}: a task stopped: ${field('$.detail.stoppedReason')} (non-zero exit). Task ${field('$.detail.taskArn')} of ${field('$.detail.taskDefinitionArn')}`,
        ),
      ],
    });

    const action = new cwActions.SnsAction(this.topic);
    props.errorRateAlarm.addAlarmAction(action);
    if (props.targetGroup && props.loadBalancer) {
      this.unhealthyTargets = new cloudwatch.Alarm(this, 'UnhealthyTargets', {
        alarmName: unhealthyTargetsAlarmName(app, stage),
        alarmDescription: `${what}: the load balancer has found a target unhealthy for 3 minutes`,
        // The dimensions from the load balancer's full name and the target group's ARN
        // (`…:targetgroup/<name>/<id>`), not from the listener's ARN as the CDK's helper does.
        metric: new cloudwatch.Metric({
          namespace: 'AWS/ApplicationELB',
          metricName: 'UnHealthyHostCount',
          dimensionsMap: {
            LoadBalancer: props.loadBalancer.loadBalancerFullName,
            TargetGroup: Fn.select(5, Fn.split(':', props.targetGroup.targetGroupArn)),
          },
          statistic: cloudwatch.Stats.MAXIMUM,
          period: Duration.minutes(1),
        }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 3,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      this.unhealthyTargets.addAlarmAction(action);
    }
  }
}
