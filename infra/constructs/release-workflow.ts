import { ArnFormat, CfnOutput, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { allStages, type StackpilotConfig } from '#shared/config.ts';
import {
  ecrRepositoryName,
  executionRoleName,
  stageNames,
  stateMachineName,
  taskRoleName,
} from '#shared/naming.ts';
import { HISTORY_BUCKET_ENV } from '#shared/release/history-store.ts';
import { NO_RELEASE } from '#shared/release/placeholder.ts';
import {
  acknowledge,
  acknowledgeCustomResourceProvider,
  arnPrefix,
  arnToken,
  wildcardResource,
} from './nag.ts';
import { allow, type StackpilotFunction, stepFunctions } from './stackpilot-function.ts';
import { definitionPath, StackpilotStateMachine, stepTasks } from './stackpilot-state-machine.ts';

/** The ASL file of the `release` state machine. */
export const RELEASE_DEFINITION_PATH = definitionPath('release');

/** Key prefix of the stage release leases in the history bucket (`release-leases/<app>/<stage>.json`). */
export const RELEASE_LEASE_PREFIX = 'release-leases';

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
  LeaveReleaseStage: 'leave-release-stage',
} as const;
export type ReleaseStep = keyof typeof STEPS;

export interface ReleaseWorkflowProps {
  /** The validated `stackpilot.yml`: the stages whose services and task definitions the functions may touch. */
  readonly config: StackpilotConfig;
  /** Task of the `.waitForTaskToken` waits for the deployments (stores the token for the relay). */
  readonly awaitEventFunction: lambda.IFunction;
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
  readonly stateMachine: StackpilotStateMachine;
  readonly functions: Readonly<Record<ReleaseStep, StackpilotFunction>>;

  constructor(scope: Construct, id: string, props: ReleaseWorkflowProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const stages = allStages(props.config);
    const names = stages.map((s) => stageNames(s.app, s.stage));

    const fns = stepFunctions(this, 'release', STEPS, props.config);
    this.functions = fns;
    for (const fn of [fns.PrepareRelease, fns.RecordRelease, fns.LeaveReleaseStage])
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
    const releasedImageArns = names.map((n) => parameterArn(stack, n.releasedImageParameter));
    allow(fns.RecordRelease, 'RecordReleasedImages', ['ssm:PutParameter'], releasedImageArns);
    // A promotion checks that the image it releases is still in the app's repository.
    const repositoryArns = [...new Set(stages.map((s) => s.app))].map((app) =>
      stack.formatArn({ service: 'ecr', resource: 'repository', resourceName: ecrRepositoryName(app) }),
    );
    allow(fns.PrepareRelease, 'DescribeAppImages', ['ecr:DescribeImages'], repositoryArns);
    for (const { app, stage } of stages)
      createReleasedImageParameter(
        this,
        `ReleasedImage-${app}-${stage}`,
        stageNames(app, stage).releasedImageParameter,
      );

    // One release per stage: the stage leases (conditional writes), and whether their holder still runs.
    for (const fn of [fns.PrepareRelease, fns.RecordRelease, fns.LeaveReleaseStage]) {
      allow(
        fn,
        'KeepStageLeases',
        ['s3:GetObject', 's3:PutObject'],
        [props.historyBucket.arnForObjects(`${RELEASE_LEASE_PREFIX}/*`)],
      );
      acknowledge(
        fn.role,
        'One lease object per stage under release-leases/ (release-leases/<app>/<stage>.json): the statement is limited to that prefix.',
        wildcardResource(`${arnToken(props.historyBucket)}/${RELEASE_LEASE_PREFIX}/*`),
      );
    }
    allow(
      fns.PrepareRelease,
      'DescribeReleaseExecutions',
      ['states:DescribeExecution'],
      [
        stack.formatArn({
          service: 'states',
          resource: 'execution',
          resourceName: `${stateMachineName('release')}:*`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ],
    );
    acknowledge(
      fns.PrepareRelease.role,
      'Execution names are chosen at start: DescribeExecution names the release state machine and wildcards only the execution name (is the lease holder still running?).',
      wildcardResource(
        `arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${stateMachineName('release')}:*`,
      ),
    );

    const ecsArn = arnPrefix(this, 'ecs');
    const families =
      'Task-definition revisions get their number when registered: the statement names each stage family and wildcards only the revision.';
    for (const role of [fns.PrepareRelease.role, fns.RegisterTaskDefinition.role, fns.RecordRelease.role])
      acknowledge(
        role,
        families,
        ...names.map((n) => wildcardResource(`${ecsArn}task-definition/${n.taskFamily}:*`)),
      );
    for (const role of [fns.PrepareRelease.role, fns.RegisterTaskDefinition.role])
      acknowledge(
        role,
        'ecs:DescribeTaskDefinition and ecs:RegisterTaskDefinition have no resource-level permissions (AWS service authorization reference); what may be registered is limited by iam:PassRole on the stage roles only.',
        wildcardResource('*'),
      );
    acknowledge(
      fns.CheckDeployment.role,
      'Task ids are assigned at launch: DescribeTasks names each stage cluster and wildcards only the task id; ListTasks is limited to the stage clusters by the ecs:cluster condition.',
      wildcardResource('*'),
      ...names.map((n) => wildcardResource(`${ecsArn}task/${n.cluster}/*`)),
    );
    for (const role of [fns.PrepareRelease.role, fns.RecordRelease.role])
      acknowledge(
        role,
        'The release functions list and write only the history objects under releases/ of the history bucket; their keys name the app, stage, time, revision and result.',
        wildcardResource(`${arnToken(props.historyBucket)}/${RELEASE_HISTORY_PREFIX}/*`),
      );

    // --- The state machine, from its ASL file.
    // Inputs and outputs carry app, stage, image URIs, revisions and deployment ids: no secret.
    this.stateMachine = new StackpilotStateMachine(this, 'StateMachine', {
      kind: 'release',
      comment:
        'stackpilot release: new revision -> update service -> wait on that deployment -> roll back on failure',
      tasks: { ...stepTasks(fns), AwaitEventFunctionArn: props.awaitEventFunction },
    });

    const history = new CfnOutput(this, 'History', {
      description: 'Where releases are recorded: aws s3 ls <this>/<app>/<stage>/',
      value: `s3://${props.historyBucket.bucketName}/${RELEASE_HISTORY_PREFIX}`,
    });
    history.overrideLogicalId('ReleaseHistory');
  }
}

/** `arn:…:ssm:<region>:<account>:parameter/<name without its leading slash>`. */
function parameterArn(stack: Stack, name: string): string {
  return stack.formatArn({
    service: 'ssm',
    resource: 'parameter',
    resourceName: name.replace(/^\//, ''),
    arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
  });
}

/**
 * A stage's released-image parameter, created once with {@link NO_RELEASE} and never written by
 * CloudFormation again: a plain `AWS::SSM::Parameter` would be reset to its template value by any
 * update of its properties (a tag, a description), and the next stage deploy would go back to
 * the placeholder. The release writes it (Record Release); the stage stack reads it. It is
 * deleted with its stage. It lives in the control plane because the stage stack resolves it
 * before any of its own resources exist.
 */
function createReleasedImageParameter(scope: Construct, id: string, name: string): void {
  const arn = parameterArn(Stack.of(scope), name);
  new cr.AwsCustomResource(scope, id, {
    onCreate: {
      service: 'SSM',
      action: 'putParameter',
      parameters: { Name: name, Value: NO_RELEASE, Type: 'String', Overwrite: false },
      physicalResourceId: cr.PhysicalResourceId.of(name),
      // A stage removed and added again keeps what it released last.
      ignoreErrorCodesMatching: 'ParameterAlreadyExists',
    },
    onDelete: {
      service: 'SSM',
      action: 'deleteParameter',
      parameters: { Name: name },
      ignoreErrorCodesMatching: 'ParameterNotFound',
    },
    policy: cr.AwsCustomResourcePolicy.fromStatements([
      new iam.PolicyStatement({ actions: ['ssm:PutParameter', 'ssm:DeleteParameter'], resources: [arn] }),
    ]),
    installLatestAwsSdk: false,
  });
  acknowledgeCustomResourceProvider(scope);
}
