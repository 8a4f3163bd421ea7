import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { alarmStateChangePattern } from '#events/cloudwatch-alarm.ts';
import { taskPlacementFailurePattern } from '#events/ecs-service-action.ts';
import { allStages, type StackpilotConfig } from '#shared/config.ts';
import { stageNames } from '#shared/naming.ts';
import { GUARD_PREFIX } from '#shared/scaling/guard.ts';
import { GUARD_BUCKET_ENV } from '#shared/scaling/lease-store.ts';
import { acknowledge, arnPrefix, wildcardResource } from './nag.ts';
import { type StackpilotFunction, stepFunctions } from './stackpilot-function.ts';
import { definitionPath, StackpilotStateMachine, stepTasks } from './stackpilot-state-machine.ts';

/** The ASL file of the `scale` state machine. */
export const SCALE_DEFINITION_PATH = definitionPath('scale');

/** The step functions of the state machine: construct id -> (folder, ASL placeholder). */
const STEPS = {
  InterpretScalingEvent: 'interpret-scaling-event',
  AcquireScalingLease: 'acquire-scaling-lease',
  ReleaseScalingLease: 'release-scaling-lease',
  ScaleService: 'scale-service',
  ScaleClusterOut: 'scale-cluster-out',
  DrainInstance: 'drain-instance',
  CheckDrain: 'check-drain',
  TerminateInstance: 'terminate-instance',
  RestoreInstance: 'restore-instance',
  ReadAlarmState: 'read-alarm-state',
  RearmScalingAlarms: 'rearm-scaling-alarms',
} as const;
export type ScaleStep = keyof typeof STEPS;

export interface ScaleWorkflowProps {
  /** The validated `stackpilot.yml`: the stages whose services, groups and alarms the functions may touch. */
  readonly config: StackpilotConfig;
}

/**
 * An EventBridge pattern of `events/` (JSON form, shared with the sandbox's bus) as the CDK
 * takes it. Content filters (`prefix`, `wildcard`) pass through as they are.
 */
export function toEventPattern(pattern: Readonly<Record<string, unknown>>): events.EventPattern {
  const { 'detail-type': detailType, ...rest } = pattern;
  return { ...rest, ...(detailType ? { detailType } : {}) } as events.EventPattern;
}

/**
 * The scaling path: EventBridge rules on stackpilot's alarm transitions and on placement
 * failures of stackpilot services start the `scale` state machine (from
 * `state-machines/scale.asl.json`), whose eleven small functions scale the stage's ECS service
 * or Auto Scaling group. A bucket holds the guard's event markers and leases.
 *
 * Permissions name the configured stages' resources (service, cluster, group, alarms);
 * the only wildcards are the parts AWS cannot name in advance (container instance ids,
 * the group's UUID) and `DescribeAutoScalingGroups`, which has no resource-level permission.
 */
export class ScaleWorkflow extends Construct {
  readonly stateMachine: StackpilotStateMachine;
  /** Event markers (`scaling/events/…`) and (stage, target) leases (`scaling/leases/…`). */
  readonly guardBucket: s3.Bucket;
  readonly functions: Readonly<Record<ScaleStep, StackpilotFunction>>;
  /** "CloudWatch Alarm State Change" of `stackpilot-*` alarms into ALARM. */
  readonly alarmRule: events.Rule;
  /** "ECS Service Action" `SERVICE_TASK_PLACEMENT_FAILURE` of `stackpilot-*` services. */
  readonly placementFailureRule: events.Rule;

  constructor(scope: Construct, id: string, props: ScaleWorkflowProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const stages = allStages(props.config).map((s) => stageNames(s.app, s.stage));

    this.guardBucket = new s3.Bucket(this, 'GuardBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      // A marker only needs to outlive EventBridge's redeliveries (24 h); leases carry their own expiry.
      lifecycleRules: [{ prefix: `${GUARD_PREFIX}/events/`, expiration: Duration.days(7) }],
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: false,
    });
    acknowledge(
      this.guardBucket,
      'The bucket holds only small, short-lived lock objects written by the scale functions; every write is recorded in the state machine execution history and logs.',
      'AwsSolutions-S1',
    );

    const fns = stepFunctions(this, 'scale', STEPS, props.config);
    this.functions = fns;
    for (const fn of [fns.AcquireScalingLease, fns.ReleaseScalingLease])
      fn.addEnvironment(GUARD_BUCKET_ENV, this.guardBucket.bucketName);

    // --- IAM, by function: each reads or changes only what its step needs.
    const ecsArn = arnPrefix(this, 'ecs');
    const serviceArns = stages.map((n) =>
      stack.formatArn({ service: 'ecs', resource: 'service', resourceName: `${n.cluster}/${n.service}` }),
    );
    const clusterArns = stages.map((n) =>
      stack.formatArn({ service: 'ecs', resource: 'cluster', resourceName: n.cluster }),
    );
    const containerInstanceArns = stages.map((n) =>
      stack.formatArn({ service: 'ecs', resource: 'container-instance', resourceName: `${n.cluster}/*` }),
    );
    const groupArns = stages.map((n) =>
      stack.formatArn({
        service: 'autoscaling',
        resource: 'autoScalingGroup',
        resourceName: `*:autoScalingGroupName/${n.autoScalingGroup}`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      }),
    );
    const alarmArns = stages.flatMap((n) =>
      (['service', 'cluster'] as const).flatMap((target) =>
        (['out', 'in'] as const).map((direction) =>
          stack.formatArn({
            service: 'cloudwatch',
            resource: 'alarm',
            resourceName: n.alarm(target, direction),
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ),
      ),
    );
    const allow = (fn: StackpilotFunction, sid: string, actions: string[], resources: string[]) =>
      fn.addToRolePolicy(new iam.PolicyStatement({ sid, actions, resources }));

    allow(fns.ScaleService, 'ScaleStageServices', ['ecs:DescribeServices', 'ecs:UpdateService'], serviceArns);
    for (const fn of [fns.ScaleClusterOut, fns.DrainInstance, fns.TerminateInstance])
      allow(fn, 'DescribeGroups', ['autoscaling:DescribeAutoScalingGroups'], ['*']);
    allow(fns.ScaleClusterOut, 'SetStageGroupCapacity', ['autoscaling:SetDesiredCapacity'], groupArns);
    allow(fns.DrainInstance, 'ListStageContainerInstances', ['ecs:ListContainerInstances'], clusterArns);
    for (const fn of [fns.DrainInstance, fns.CheckDrain, fns.TerminateInstance, fns.RestoreInstance])
      allow(fn, 'DescribeStageContainerInstances', ['ecs:DescribeContainerInstances'], containerInstanceArns);
    for (const fn of [fns.DrainInstance, fns.RestoreInstance])
      allow(fn, 'DrainStageContainerInstances', ['ecs:UpdateContainerInstancesState'], containerInstanceArns);
    allow(
      fns.TerminateInstance,
      'TerminateStageGroupInstances',
      ['autoscaling:SetInstanceProtection', 'autoscaling:TerminateInstanceInAutoScalingGroup'],
      groupArns,
    );
    allow(fns.ReadAlarmState, 'ReadStageAlarms', ['cloudwatch:DescribeAlarms'], alarmArns);
    // Re-arming sets a stage alarm back to OK: named alarms only, never another alarm of the account.
    allow(
      fns.RearmScalingAlarms,
      'RearmStageAlarms',
      ['cloudwatch:DescribeAlarms', 'cloudwatch:SetAlarmState'],
      alarmArns,
    );
    const guardObjects = this.guardBucket.arnForObjects(`${GUARD_PREFIX}/*`);
    for (const fn of [fns.AcquireScalingLease, fns.ReleaseScalingLease]) {
      allow(fn, 'WriteGuardObjects', ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], [guardObjects]);
      // Without ListBucket, reading a missing lease answers 403 instead of 404.
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'ListGuardObjects',
          actions: ['s3:ListBucket'],
          resources: [this.guardBucket.bucketArn],
          conditions: { StringLike: { 's3:prefix': [`${GUARD_PREFIX}/*`] } },
        }),
      );
    }

    const containerInstanceIds =
      'Container instance ids are assigned when an instance registers: the statement names each stage cluster and wildcards only the instance id.';
    const groupIds =
      "An Auto Scaling group ARN embeds a UUID assigned at creation: the statement names each stage's group and wildcards only the UUID.";
    for (const role of [fns.ScaleClusterOut.role, fns.DrainInstance.role, fns.TerminateInstance.role])
      acknowledge(
        role,
        `autoscaling:DescribeAutoScalingGroups has no resource-level permissions. ${groupIds}`,
        wildcardResource('*'),
        ...groupArnFindings(stack, stages),
      );
    for (const role of [
      fns.DrainInstance.role,
      fns.CheckDrain.role,
      fns.TerminateInstance.role,
      fns.RestoreInstance.role,
    ])
      acknowledge(
        role,
        containerInstanceIds,
        ...stages.map((n) => wildcardResource(`${ecsArn}container-instance/${n.cluster}/*`)),
      );
    for (const role of [fns.AcquireScalingLease.role, fns.ReleaseScalingLease.role])
      acknowledge(
        role,
        'The guard functions read and write only lock objects under the scaling/ prefix of their own bucket, whose keys name the stage and event.',
        wildcardResource(
          `<${stack.getLogicalId(this.guardBucket.node.defaultChild as s3.CfnBucket)}.Arn>/${GUARD_PREFIX}/*`,
        ),
      );

    // --- The state machine, from its ASL file.
    // Inputs and outputs carry alarm events, counts and instance ids: no secret.
    this.stateMachine = new StackpilotStateMachine(this, 'StateMachine', {
      kind: 'scale',
      comment:
        'stackpilot scale: alarm or placement failure or operator count -> service tasks or cluster instances',
      tasks: stepTasks(fns),
    });

    // --- The rules. EventBridge cannot name executions: the guard in the state machine
    // makes a redelivered event a no-op and keeps one loop per (stage, target).
    const target = () =>
      new targets.SfnStateMachine(this.stateMachine, {
        retryAttempts: 8,
        maxEventAge: Duration.hours(2),
      });
    this.alarmRule = new events.Rule(this, 'AlarmRule', {
      description: 'stackpilot: stackpilot-* alarms entering ALARM start the scale state machine',
      eventPattern: toEventPattern(alarmStateChangePattern),
      targets: [target()],
    });
    this.placementFailureRule = new events.Rule(this, 'PlacementFailureRule', {
      description: 'stackpilot: a stackpilot-* service that cannot place a task adds cluster capacity',
      eventPattern: toEventPattern(taskPlacementFailurePattern),
      targets: [target()],
    });
  }
}

/** How cdk-nag prints the group ARNs' UUID wildcard, one finding id per stage. */
function groupArnFindings(scope: Construct, stages: readonly ReturnType<typeof stageNames>[]): string[] {
  return stages.map((n) =>
    wildcardResource(
      `${arnPrefix(scope, 'autoscaling')}autoScalingGroup:*:autoScalingGroupName/${n.autoScalingGroup}`,
    ),
  );
}
