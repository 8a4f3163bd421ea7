import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CfnOutput, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { HISTORY_BUCKET_ENV } from '../../shared/aws/release-history.ts';
import { allStages, type StackpilotConfig } from '../../shared/config.ts';
import { executionRoleName, stageNames, stateMachineName, taskRoleName } from '../../shared/naming.ts';
import { acknowledge, arnPrefix, arnToken, wildcardResource } from './nag.ts';
import { PROJECT_ROOT, StackpilotFunction } from './stackpilot-function.ts';

/** The ASL file of the `release` state machine. */
export const RELEASE_DEFINITION_PATH = join(PROJECT_ROOT, 'state-machines', 'release.asl.json');

/** Key prefix of the release history in the history bucket (`releases/<app>/<stage>/…json`). */
export const RELEASE_HISTORY_PREFIX = 'releases';

/** The step functions: construct id (and ASL placeholder stem) -> folder under `functions/`. */
const STEPS = {
  PrepareRelease: 'prepare-release',
  RegisterTaskDefinition: 'register-task-definition',
  UpdateService: 'update-service',
  CheckDeployment: 'check-deployment',
  RollBackRelease: 'roll-back-release',
  RecordRelease: 'record-release',
} as const;
export type ReleaseStep = keyof typeof STEPS;

export interface ReleaseWorkflowProps {
  /** The validated `stackpilot.yml`: the stages whose services and task definitions the functions may touch. */
  readonly config: StackpilotConfig;
  /** Bucket of the release history; records go under `releases/`. */
  readonly historyBucket: s3.IBucket;
}

/**
 * The release path: the `release` state machine (`state-machines/release.asl.json`,
 * named `stackpilot-release` so the stages' pipelines invoke it by name) and its six
 * functions. It registers a task-definition revision with the new image, updates the
 * stage's ECS service, waits on that deployment, rolls back on failure and records the
 * release in the history bucket and on the revision's tags.
 *
 * Permissions name the configured stages' services, clusters, task-definition families
 * and task/execution roles; the wildcards are the actions ECS does not scope
 * (RegisterTaskDefinition, DescribeTaskDefinition, ListTasks with a cluster condition).
 */
export class ReleaseWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly functions: Readonly<Record<ReleaseStep, StackpilotFunction>>;

  constructor(scope: Construct, id: string, props: ReleaseWorkflowProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const stages = allStages(props.config);
    const names = stages.map((s) => stageNames(s.app, s.stage));

    const fns = {} as Record<ReleaseStep, StackpilotFunction>;
    const roles = {} as Record<ReleaseStep, iam.Role>;
    for (const [step, folder] of Object.entries(STEPS) as [ReleaseStep, string][]) {
      // A role without managed policies: each function gets exactly the statements added here.
      const role = new iam.Role(this, `${step}Role`, {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        description: `stackpilot release: role of the ${step} function`,
      });
      const fn = new StackpilotFunction(this, step, {
        folder,
        description: `stackpilot release: ${folder.replaceAll('-', ' ')}`,
        timeout: Duration.seconds(30),
        role,
      }).bindConfig(props.config);
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'WriteOwnLogs',
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [fn.logGroup.logGroupArn],
        }),
      );
      acknowledge(
        fn,
        'StackpilotFunction pins Node.js 22, the runtime the bundles target (esbuild node22) and the tests run against; moving to a newer runtime is one change there for every function.',
        'AwsSolutions-L1',
      );
      fns[step] = fn;
      roles[step] = role;
    }
    this.functions = fns;
    for (const fn of [fns.PrepareRelease, fns.RecordRelease])
      fn.addEnvironment(HISTORY_BUCKET_ENV, props.historyBucket.bucketName);

    // --- IAM, by function: each reads or changes only what its step needs.
    const serviceArns = names.map((n) =>
      stack.formatArn({ service: 'ecs', resource: 'service', resourceName: `${n.cluster}/${n.service}` }),
    );
    const clusterArns = names.map((n) =>
      stack.formatArn({ service: 'ecs', resource: 'cluster', resourceName: n.cluster }),
    );
    const taskArns = names.map((n) =>
      stack.formatArn({ service: 'ecs', resource: 'task', resourceName: `${n.cluster}/*` }),
    );
    const familyArns = names.map((n) =>
      stack.formatArn({ service: 'ecs', resource: 'task-definition', resourceName: `${n.taskFamily}:*` }),
    );
    const stageRoleArns = stages.flatMap((s) =>
      [taskRoleName(s.app, s.stage), executionRoleName(s.app, s.stage)].map((role) =>
        stack.formatArn({ service: 'iam', region: '', resource: 'role', resourceName: role }),
      ),
    );
    const allow = (
      fn: StackpilotFunction,
      sid: string,
      actions: string[],
      resources: string[],
      conditions?: Record<string, unknown>,
    ) =>
      fn.addToRolePolicy(
        new iam.PolicyStatement({ sid, actions, resources, ...(conditions ? { conditions } : {}) }),
      );

    for (const fn of [fns.PrepareRelease, fns.CheckDeployment])
      allow(fn, 'DescribeStageServices', ['ecs:DescribeServices'], serviceArns);
    for (const fn of [fns.UpdateService, fns.RollBackRelease])
      allow(fn, 'UpdateStageServices', ['ecs:UpdateService'], serviceArns);
    for (const fn of [fns.PrepareRelease, fns.RegisterTaskDefinition]) {
      // DescribeTaskDefinition has no resource-level permissions.
      allow(fn, 'DescribeTaskDefinitions', ['ecs:DescribeTaskDefinition'], ['*']);
      allow(fn, 'ListStageTaskDefinitionTags', ['ecs:ListTagsForResource'], familyArns);
    }
    allow(fns.RegisterTaskDefinition, 'RegisterTaskDefinitions', ['ecs:RegisterTaskDefinition'], ['*']);
    // Registering with tags needs TagResource on the new revision; Record Release re-tags it with the result.
    for (const fn of [fns.RegisterTaskDefinition, fns.RecordRelease])
      allow(fn, 'TagStageTaskDefinitions', ['ecs:TagResource'], familyArns);
    allow(fns.RegisterTaskDefinition, 'PassStageTaskRoles', ['iam:PassRole'], stageRoleArns, {
      StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' },
    });
    allow(fns.CheckDeployment, 'ListStageTasks', ['ecs:ListTasks'], ['*'], {
      ArnEquals: { 'ecs:cluster': clusterArns },
    });
    allow(fns.CheckDeployment, 'DescribeStageTasks', ['ecs:DescribeTasks'], taskArns);

    const historyObjects = props.historyBucket.arnForObjects(`${RELEASE_HISTORY_PREFIX}/*`);
    for (const fn of [fns.PrepareRelease, fns.RecordRelease])
      allow(fn, 'ListReleaseHistory', ['s3:ListBucket'], [props.historyBucket.bucketArn], {
        StringLike: { 's3:prefix': [`${RELEASE_HISTORY_PREFIX}/*`] },
      });
    allow(fns.RecordRelease, 'WriteReleaseHistory', ['s3:PutObject'], [historyObjects]);

    const ecsArn = arnPrefix(this, 'ecs');
    const xray =
      'The X-Ray statement of active tracing: xray:PutTraceSegments/PutTelemetryRecords have no resource-level permissions.';
    const families =
      'Task-definition revisions get their number when registered: the statement names each stage family and wildcards only the revision.';
    for (const role of Object.values(roles)) acknowledge(role, xray, wildcardResource('*'));
    for (const role of [roles.PrepareRelease, roles.RegisterTaskDefinition, roles.RecordRelease])
      acknowledge(
        role,
        families,
        ...names.map((n) => wildcardResource(`${ecsArn}task-definition/${n.taskFamily}:*`)),
      );
    for (const role of [roles.PrepareRelease, roles.RegisterTaskDefinition])
      acknowledge(
        role,
        'ecs:DescribeTaskDefinition and ecs:RegisterTaskDefinition have no resource-level permissions (AWS service authorization reference); what may be registered is limited by iam:PassRole on the stage roles only.',
        wildcardResource('*'),
      );
    acknowledge(
      roles.CheckDeployment,
      'Task ids are assigned at launch: DescribeTasks names each stage cluster and wildcards only the task id; ListTasks is limited to the stage clusters by the ecs:cluster condition.',
      wildcardResource('*'),
      ...names.map((n) => wildcardResource(`${ecsArn}task/${n.cluster}/*`)),
    );
    for (const role of [roles.PrepareRelease, roles.RecordRelease])
      acknowledge(
        role,
        'The release functions list and write only the history objects under releases/ of the history bucket; their keys name the app, stage, time, revision and result.',
        wildcardResource(`${arnToken(props.historyBucket)}/${RELEASE_HISTORY_PREFIX}/*`),
      );

    // --- The state machine, from its ASL file.
    const stateMachineLogs = new logs.LogGroup(this, 'StateMachineLogs', {
      // The /aws/vendedlogs/ prefix keeps the account's CloudWatch Logs resource policy small.
      logGroupName: `/aws/vendedlogs/states/${stateMachineName('release')}`,
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const definitionSubstitutions: Record<string, string> = {};
    for (const [step, fn] of Object.entries(fns))
      definitionSubstitutions[`${step}FunctionArn`] = fn.functionArn;
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: stateMachineName('release'),
      stateMachineType: sfn.StateMachineType.STANDARD,
      comment:
        'stackpilot release: new revision -> update service -> wait on that deployment -> roll back on failure',
      definitionBody: sfn.DefinitionBody.fromString(readFileSync(RELEASE_DEFINITION_PATH, 'utf8')),
      definitionSubstitutions,
      // Inputs and outputs carry app, stage, image URIs, revisions and deployment ids: no secret.
      logs: { destination: stateMachineLogs, level: sfn.LogLevel.ALL, includeExecutionData: true },
      tracingEnabled: true,
    });
    // The ASL invokes the functions by their unqualified ARNs: nothing else (no versions, no aliases).
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'InvokeReleaseTasks',
        actions: ['lambda:InvokeFunction'],
        resources: Object.values(fns).map((fn) => fn.functionArn),
      }),
    );
    acknowledge(
      this.stateMachine,
      'Only the policy CDK adds for logging and tracing: logs:*LogDelivery*, logs:DescribeLogGroups/ResourcePolicies and xray:PutTraceSegments/GetSampling* have no resource-level permissions.',
      wildcardResource('*'),
    );

    const history = new CfnOutput(this, 'History', {
      description: 'Where releases are recorded: aws s3 ls <this>/<app>/<stage>/',
      value: `s3://${props.historyBucket.bucketName}/${RELEASE_HISTORY_PREFIX}`,
    });
    history.overrideLogicalId('ReleaseHistory');
  }
}
