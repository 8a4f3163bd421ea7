import { ArnFormat, CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { allStages, type StackpilotConfig, type StageRef } from '#shared/config.ts';
import { executionRoleName, previewNames, previewPrefix, stageNames, taskRoleName } from '#shared/naming.ts';
import { frontDoorParameter } from '#shared/preview/front-door.ts';
import { PREVIEW_STATE_MACHINE_ARN_ENV } from '#shared/preview/model.ts';
import { PREVIEW_BUCKET_ENV } from '#shared/preview/records.ts';
import { acknowledge, arnPrefix, arnToken, wildcardResource } from './nag.ts';
import { allow, StackpilotFunction, stepFunctions } from './stackpilot-function.ts';
import { definitionPath, StackpilotStateMachine, stepTasks } from './stackpilot-state-machine.ts';

/** The ASL file of the `preview` state machine. */
export const PREVIEW_DEFINITION_PATH = definitionPath('preview');

/** The step functions: construct id (and ASL placeholder stem) -> folder under `functions/`. */
const STEPS = {
  PreparePreview: 'prepare-preview',
  DeployPreview: 'deploy-preview',
  CheckPreview: 'check-preview',
  RecordPreview: 'record-preview',
  RemovePreview: 'remove-preview',
} as const;
export type PreviewStep = keyof typeof STEPS;

/**
 * The stages previews run in: for each app with `previews`, its stage `previews.stage`.
 * Empty when no app has previews (then the control plane has no preview workflow).
 */
export function previewStages(config: StackpilotConfig): StageRef[] {
  return allStages(config).filter((s) => s.appConfig.previews?.stage === s.stage);
}

/**
 * `previewNames(app, stage, n)` for every `n`: the names with `*` in place of the number,
 * as IAM resource patterns (`stackpilot-<app>-<stage>-pr-*`, `sp-<hash>-pr-*`).
 */
export function everyPreview(app: string, stage: string) {
  const any = (name: string) => name.replace(/-pr-1$/, '-pr-*');
  const one = previewNames(app, stage, 1);
  return { service: any(one.service), taskFamily: any(one.taskFamily), targetGroup: any(one.targetGroup) };
}

export interface PreviewWorkflowProps {
  /** The validated `stackpilot.yml`: the stages running previews, whose resources the functions may touch. */
  readonly config: StackpilotConfig;
  /** The control plane's source bucket: the preview records are under `previews/`. */
  readonly bucket: s3.IBucket;
}

/**
 * The preview path (docs/previews.md): the `preview` state machine
 * (`state-machines/preview.asl.json`, named `stackpilot-preview` so the preview pipelines invoke
 * it by name) and its five functions, which run each open pull request as its own ECS service
 * in the cluster of its app's `previews.stage`, routed under `/pr-<n>` on that stage's front
 * door, and remove it again; plus the hourly expiry, which starts the removal of the previews
 * no push has updated for `ttlHours`.
 *
 * Permissions name the preview stages' resources: their clusters, the services and
 * task-definition families `stackpilot-<app>-<stage>-pr-*`, the stage's task and execution
 * roles (passed to the previews' revisions), the front door parameters, the target groups
 * `sp-<hash>-pr-*` and the records under `previews/<app>/<stage>/`. What a preview makes on a
 * front door the stage's stack created (API routes and integrations, Cloud Map services,
 * listener rules) has ids the control plane cannot know at synth: those statements wildcard
 * the ids, and only the actions of the stage tiers in use are granted.
 */
export class PreviewWorkflow extends Construct {
  readonly stateMachine: StackpilotStateMachine;
  readonly functions: Readonly<Record<PreviewStep, StackpilotFunction>>;
  /** The expiry: starts the removal of the previews past their `ttlHours`. */
  readonly expireFunction: StackpilotFunction;
  /** The schedule of the expiry. */
  readonly expiryRule: events.Rule;

  constructor(scope: Construct, id: string, props: PreviewWorkflowProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const stages = previewStages(props.config);
    if (stages.length === 0) throw new Error('PreviewWorkflow: no app of the configuration has previews');
    const { bucket } = props;

    const fns = stepFunctions(this, 'preview', STEPS, props.config);
    this.functions = fns;
    for (const fn of Object.values(fns)) fn.addEnvironment(PREVIEW_BUCKET_ENV, bucket.bucketName);

    // --- The state machine, from its ASL file.
    // Inputs and outputs carry app, stage, numbers, image URIs, commits, ARNs and ids: no secret.
    this.stateMachine = new StackpilotStateMachine(this, 'StateMachine', {
      kind: 'preview',
      comment:
        'stackpilot preview: revision -> route and service -> wait until healthy -> record; or remove it all',
      tasks: stepTasks(fns),
    });

    // --- The expiry: hourly, outside the state machine; it starts the state machine's removals.
    this.expireFunction = new StackpilotFunction(this, 'ExpirePreviews', {
      folder: 'expire-previews',
      workflow: 'preview',
      description: 'stackpilot preview: starts the removal of the previews past their ttlHours',
      timeout: Duration.minutes(1),
      environment: {
        [PREVIEW_BUCKET_ENV]: bucket.bucketName,
        [PREVIEW_STATE_MACHINE_ARN_ENV]: this.stateMachine.stateMachineArn,
      },
      config: props.config,
    });
    this.expiryRule = new events.Rule(this, 'ExpiryRule', {
      description: 'stackpilot: hourly, remove the previews no push has updated for their ttlHours',
      schedule: events.Schedule.rate(Duration.hours(1)),
      // The next run finds what a failed one missed: no long retry needed.
      targets: [
        new targets.LambdaFunction(this.expireFunction, { retryAttempts: 2, maxEventAge: Duration.hours(1) }),
      ],
    });

    this.grant(stack, stages, bucket);

    new CfnOutput(this, 'PreviewStateMachineArn', {
      value: this.stateMachine.stateMachineArn,
      description:
        'The preview state machine: start it with events/samples/preview-deploy.json or preview-remove.json to deploy or remove a preview',
    }).overrideLogicalId('PreviewStateMachineArn');
  }

  /** IAM, by function: each reads or changes only what its step needs. */
  private grant(stack: Stack, stages: readonly StageRef[], bucket: s3.IBucket): void {
    const fns = this.functions;
    const expire = this.expireFunction;
    const ecs = (resource: string, resourceName: string) =>
      stack.formatArn({ service: 'ecs', resource, resourceName });
    const names = stages.map((s) => ({ ...stageNames(s.app, s.stage), every: everyPreview(s.app, s.stage) }));
    const stageServices = names.map((n) => ecs('service', `${n.cluster}/${n.service}`));
    const previewServices = names.map((n) => ecs('service', `${n.cluster}/${n.every.service}`));
    const stageFamilies = names.map((n) => ecs('task-definition', `${n.taskFamily}:*`));
    const previewFamilies = names.map((n) => ecs('task-definition', `${n.every.taskFamily}:*`));
    const clusters = names.map((n) => ecs('cluster', n.cluster));
    const tasks = names.map((n) => ecs('task', `${n.cluster}/*`));
    const stageRoles = stages.flatMap((s) =>
      [taskRoleName(s.app, s.stage), executionRoleName(s.app, s.stage)].map((role) =>
        stack.formatArn({ service: 'iam', region: '', resource: 'role', resourceName: role }),
      ),
    );
    const frontDoors = stages.map((s) =>
      stack.formatArn({
        service: 'ssm',
        resource: 'parameter',
        resourceName: frontDoorParameter(s.app, s.stage).replace(/^\//, ''),
        arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
      }),
    );

    // --- ECS: the stage service is read (to copy), the previews' services and families are made.
    for (const fn of [fns.PreparePreview, fns.DeployPreview])
      allow(fn, 'DescribeStageServices', ['ecs:DescribeServices'], stageServices);
    for (const fn of [fns.DeployPreview, fns.CheckPreview, fns.RemovePreview])
      allow(fn, 'DescribePreviewServices', ['ecs:DescribeServices'], previewServices);
    // DescribeTaskDefinition and RegisterTaskDefinition have no resource-level permissions.
    allow(
      fns.PreparePreview,
      'RegisterPreviewTaskDefinitions',
      ['ecs:DescribeTaskDefinition', 'ecs:RegisterTaskDefinition'],
      ['*'],
    );
    allow(fns.PreparePreview, 'ListStageTaskDefinitionTags', ['ecs:ListTagsForResource'], stageFamilies);
    // Registering with tags needs TagResource on the new revision.
    allow(fns.PreparePreview, 'TagPreviewTaskDefinitions', ['ecs:TagResource'], previewFamilies);
    // The preview's revision keeps the stage's roles.
    allow(fns.PreparePreview, 'PassStageTaskRoles', ['iam:PassRole'], stageRoles, {
      StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' },
    });
    // Creating with tags needs TagResource on the new service.
    allow(
      fns.DeployPreview,
      'RunPreviewServices',
      ['ecs:CreateService', 'ecs:UpdateService', 'ecs:TagResource'],
      previewServices,
    );
    allow(fns.CheckPreview, 'ListStageTasks', ['ecs:ListTasks'], ['*'], {
      ArnEquals: { 'ecs:cluster': clusters },
    });
    allow(fns.CheckPreview, 'DescribeStageTasks', ['ecs:DescribeTasks'], tasks);
    allow(fns.RemovePreview, 'DeletePreviewServices', ['ecs:DeleteService'], previewServices);
    // ListTaskDefinitions and DeregisterTaskDefinition have no resource-level permissions.
    allow(
      fns.RemovePreview,
      'DeregisterPreviewTaskDefinitions',
      ['ecs:ListTaskDefinitions', 'ecs:DeregisterTaskDefinition'],
      ['*'],
    );
    allow(fns.RemovePreview, 'DeletePreviewTaskDefinitions', ['ecs:DeleteTaskDefinitions'], previewFamilies);

    // --- The stage's front door: what its stack published, and the routes the previews add to it.
    for (const fn of [fns.PreparePreview, fns.RemovePreview])
      allow(fn, 'ReadStageFrontDoors', ['ssm:GetParameter'], frontDoors);
    const tier = (scale: string) => stages.filter((s) => s.stageConfig.scale === scale);
    if (tier('standard').length > 0) this.grantStandardRoutes(stack);
    const hyperscale = tier('hyperscale');
    if (hyperscale.length > 0)
      this.grantHyperscaleRoutes(
        stack,
        hyperscale.map((s) => everyPreview(s.app, s.stage).targetGroup),
      );

    // --- The records: previews/<app>/<stage>/pr-<n>.json of the source bucket.
    const recordPrefixes = stages.map((s) => `${previewPrefix(s.app, s.stage)}*`);
    const records = recordPrefixes.map((prefix) => bucket.arnForObjects(prefix));
    const readers = [fns.PreparePreview, fns.DeployPreview, fns.RecordPreview, fns.RemovePreview, expire];
    for (const fn of readers) {
      // Also what makes a missing record read as NoSuchKey, not AccessDenied.
      allow(fn, 'ListPreviewRecords', ['s3:ListBucket'], [bucket.bucketArn], {
        StringLike: { 's3:prefix': recordPrefixes },
      });
    }
    for (const fn of [fns.DeployPreview, fns.RecordPreview, fns.RemovePreview, expire])
      allow(fn, 'ReadPreviewRecords', ['s3:GetObject'], records);
    for (const fn of [fns.DeployPreview, fns.RecordPreview])
      allow(fn, 'WritePreviewRecords', ['s3:PutObject'], records);
    allow(fns.RemovePreview, 'DeletePreviewRecords', ['s3:DeleteObject'], records);
    allow(expire, 'RemoveExpiredPreviews', ['states:StartExecution'], [this.stateMachine.stateMachineArn]);

    // --- cdk-nag: every wildcard, with why.
    const ecsArn = arnPrefix(this, 'ecs');
    acknowledge(
      fns.PreparePreview.role,
      "ecs:DescribeTaskDefinition and ecs:RegisterTaskDefinition have no resource-level permissions (AWS service authorization reference); what may be registered is limited by iam:PassRole on the preview stages' task and execution roles only. Revisions get their number when registered: the families are named, only the revision is wildcarded.",
      wildcardResource('*'),
      ...names.flatMap((n) => [
        wildcardResource(`${ecsArn}task-definition/${n.taskFamily}:*`),
        wildcardResource(`${ecsArn}task-definition/${n.every.taskFamily}:*`),
      ]),
    );
    const previewServiceFindings = names.map((n) =>
      wildcardResource(`${ecsArn}service/${n.cluster}/${n.every.service}`),
    );
    const previewsByNumber =
      "A preview's ECS service is named after its pull request (stackpilot-<app>-<stage>-pr-<n>): the statement names each preview stage's cluster and wildcards only the number.";
    for (const fn of [fns.DeployPreview, fns.CheckPreview])
      acknowledge(fn.role, previewsByNumber, ...previewServiceFindings);
    acknowledge(
      fns.CheckPreview.role,
      'Task ids are assigned at launch: DescribeTasks names each preview stage cluster and wildcards only the task id; ListTasks is limited to those clusters by the ecs:cluster condition.',
      wildcardResource('*'),
      ...names.map((n) => wildcardResource(`${ecsArn}task/${n.cluster}/*`)),
    );
    acknowledge(
      fns.RemovePreview.role,
      `${previewsByNumber} Its task-definition family is named the same way; ecs:ListTaskDefinitions and ecs:DeregisterTaskDefinition have no resource-level permissions.`,
      wildcardResource('*'),
      ...previewServiceFindings,
      ...names.map((n) => wildcardResource(`${ecsArn}task-definition/${n.every.taskFamily}:*`)),
    );
    for (const fn of readers)
      acknowledge(
        fn.role,
        "The preview records are one object per pull request (previews/<app>/<stage>/pr-<n>.json): the statements name each preview stage's prefix and wildcard only the object.",
        ...stages.map((s) => wildcardResource(`${arnToken(bucket)}/${previewPrefix(s.app, s.stage)}*`)),
      );
  }

  /**
   * Standard tier: a Cloud Map service in the stage's namespace and an integration and two routes
   * on the stage's HTTP API. Namespace, service, API, integration and route ids are assigned by AWS
   * (the namespace and API in the stage stacks): the ARNs wildcard them.
   */
  private grantStandardRoutes(stack: Stack): void {
    const { DeployPreview: deploy, RemovePreview: remove } = this.functions;
    const discovery = (resource: string) =>
      stack.formatArn({ service: 'servicediscovery', resource, resourceName: '*' });
    const apis = (path: string) => `arn:${stack.partition}:apigateway:${stack.region}::/apis/*/${path}`;
    const routes = [apis('integrations'), apis('integrations/*'), apis('routes'), apis('routes/*')];
    for (const fn of [deploy, remove])
      fn.addToRolePolicy(
        // ListServices has no resource-level permissions (the call filters on the namespace id).
        new iam.PolicyStatement({
          sid: 'ListDiscoveryServices',
          actions: ['servicediscovery:ListServices'],
          resources: ['*'],
        }),
      );
    deploy.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'CreatePreviewDiscoveryServices',
        actions: ['servicediscovery:CreateService', 'servicediscovery:TagResource'],
        resources: [discovery('namespace'), discovery('service')],
      }),
    );
    remove.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'DeletePreviewDiscoveryServices',
        actions: ['servicediscovery:DeleteService'],
        resources: [discovery('service')],
      }),
    );
    deploy.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'AddPreviewApiRoutes',
        actions: ['apigateway:GET', 'apigateway:POST'],
        resources: routes,
      }),
    );
    remove.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'RemovePreviewApiRoutes',
        actions: ['apigateway:GET', 'apigateway:DELETE'],
        resources: routes,
      }),
    );
    const discoveryArn = arnPrefix(this, 'servicediscovery');
    // API Gateway ARNs have no account: `arn:<partition>:apigateway:<region>::/apis/…`.
    const apiArn = `${arnPrefix(this, 'apigateway').replace(/(<AWS::AccountId>|\d*):$/, '')}:/apis/*/`;
    for (const fn of [deploy, remove])
      acknowledge(
        fn.role,
        "The stage's Cloud Map namespace and HTTP API are made by its stack and their ids are only known to it (the preview reads them from the front door parameter); the preview's Cloud Map service, integrations and routes get ids when made. The statements are limited to the Cloud Map service calls and to the integrations and routes of HTTP APIs; servicediscovery:ListServices has no resource-level permissions.",
        wildcardResource('*'),
        wildcardResource(`${discoveryArn}service/*`),
        ...(fn === deploy ? [wildcardResource(`${discoveryArn}namespace/*`)] : []),
        ...['integrations', 'integrations/*', 'routes', 'routes/*'].map((path) =>
          wildcardResource(`${apiArn}${path}`),
        ),
      );
  }

  /**
   * Hyperscale tier: a target group `sp-<hash>-pr-<n>` (the hash names the stage) and a listener
   * rule on the stage's serving listener. The load balancer's name and id and the rule ids are
   * assigned by AWS: the listener and rule ARNs wildcard them.
   */
  private grantHyperscaleRoutes(stack: Stack, targetGroupNames: readonly string[]): void {
    const { DeployPreview: deploy, RemovePreview: remove } = this.functions;
    const elb = (resource: string, resourceName: string) =>
      stack.formatArn({ service: 'elasticloadbalancing', resource, resourceName });
    const targetGroups = targetGroupNames.map((name) => elb('targetgroup', `${name}/*`));
    const listeners = elb('listener', 'app/*/*/*');
    const rules = elb('listener-rule', 'app/*/*/*/*');
    for (const fn of [deploy, remove])
      fn.addToRolePolicy(
        // Describe calls have no resource-level permissions.
        new iam.PolicyStatement({
          sid: 'DescribePreviewRoutes',
          actions: ['elasticloadbalancing:DescribeTargetGroups', 'elasticloadbalancing:DescribeRules'],
          resources: ['*'],
        }),
      );
    deploy.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'CreatePreviewTargetGroups',
        // Creating with tags needs AddTags on the new target group.
        actions: ['elasticloadbalancing:CreateTargetGroup', 'elasticloadbalancing:AddTags'],
        resources: targetGroups,
      }),
    );
    deploy.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'CreatePreviewListenerRules',
        actions: ['elasticloadbalancing:CreateRule'],
        resources: [listeners],
      }),
    );
    remove.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'DeletePreviewRoutes',
        actions: ['elasticloadbalancing:DeleteRule', 'elasticloadbalancing:DeleteTargetGroup'],
        resources: [rules, ...targetGroups],
      }),
    );
    const elbArn = arnPrefix(this, 'elasticloadbalancing');
    for (const fn of [deploy, remove])
      acknowledge(
        fn.role,
        "A preview's target group is named sp-<hash of app/stage>-pr-<n>: the statements name each preview stage and wildcard the number and the id ELB appends. The stage's load balancer is named by CloudFormation and its listener and rule ids are assigned by ELB (the preview reads the listener ARN from the front door parameter): those ARNs are wildcarded. Describe calls have no resource-level permissions.",
        wildcardResource('*'),
        ...targetGroupNames.map((name) => wildcardResource(`${elbArn}targetgroup/${name}/*`)),
        wildcardResource(
          fn === deploy ? `${elbArn}listener/app/*/*/*` : `${elbArn}listener-rule/app/*/*/*/*`,
        ),
      );
  }
}
