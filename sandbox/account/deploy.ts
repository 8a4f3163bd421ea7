/**
 * `cdk deploy` into the emulated account: every stack of the synthesized app, in deployment
 * order, each resource after those it refers to, created from its evaluated template
 * properties through the SDK inputs the converter builds. What the sandbox models is created
 * (buckets, secrets, SSM parameters, the ECR repository, cluster, task definition, service,
 * Auto Scaling group, alarms, pipelines, and the front doors: HTTP APIs with their VPC links,
 * integrations and routes, Cloud Map namespaces and services, target groups and listeners)
 * and `Custom::AWS` resources run their Create call (the released
 * image's SSM parameter, a service's initial desired count); the rest (VPCs, roles, Lambda
 * functions, state machines the sandbox runs from the ASL files) only has physical ids.
 *
 * A redeploy does what CloudFormation does with a stack update, for what the sandbox tracks:
 * unchanged resources stay as they are (desired counts included), a custom resource that ran
 * does not run again, and a task definition whose evaluated properties changed (a new `cpu`,
 * or the released-image parameter it resolves) is replaced: a new revision is registered, the
 * service that refers to it is updated to it, and the replaced revision is deregistered.
 */
import { join } from 'node:path';
import {
  AppEvaluator,
  customResourceCall,
  type StackEvaluator,
  TemplateError,
  type TemplateSet,
  toCreateAutoScalingGroup,
  toCreateBucket,
  toCreateCluster,
  toCreateDiscoveryService,
  toCreateIntegration,
  toCreatePipeline,
  toCreateRepository,
  toCreateRoute,
  toCreateSecret,
  toCreateService,
  toCreateTargetGroup,
  toListener,
  toPutMetricAlarm,
  toPutParameter,
  toPutRule,
  toRegisterTaskDefinition,
} from '../templates/index.ts';
import type { ApiGatewayV2Emulator } from './apigatewayv2.ts';
import type { AutoScalingEmulator } from './auto-scaling.ts';
import type { CloudWatchEmulator } from './cloudwatch.ts';
import type { CodePipelineEmulator } from './codepipeline.ts';
import type { EcrEmulator } from './ecr.ts';
import type { EcsEmulator } from './ecs.ts';
import type { Elbv2Emulator } from './elbv2.ts';
import type { S3Emulator } from './s3.ts';
import type { SecretsManagerEmulator } from './secrets-manager.ts';
import type { ServiceDiscoveryEmulator } from './servicediscovery.ts';
import type { SsmEmulator } from './ssm.ts';
import { JsonFile } from './store.ts';

export interface DeployTargets {
  readonly accountId: string;
  readonly region: string;
  readonly dataDir: string;
  readonly s3: S3Emulator;
  readonly ecs: EcsEmulator;
  readonly ecr: EcrEmulator;
  readonly autoScaling: AutoScalingEmulator;
  readonly codePipeline: CodePipelineEmulator;
  readonly cloudWatch: CloudWatchEmulator;
  readonly secretsManager: SecretsManagerEmulator;
  readonly ssm: SsmEmulator;
  readonly apiGatewayV2: ApiGatewayV2Emulator;
  readonly serviceDiscovery: ServiceDiscoveryEmulator;
  readonly elbv2: Elbv2Emulator;
  /** Answers one SDK command (what a custom resource's Lambda would send). */
  dispatch(clientName: string, commandName: string, input: unknown): Promise<Record<string, unknown>>;
}

/** An EventBridge rule of the templates: what the sandbox's bus routes by. */
export interface DeployedRule {
  readonly stackName: string;
  readonly name: string;
  readonly pattern: Record<string, unknown>;
  /** The ARNs of its targets (state machines). */
  readonly targets: readonly string[];
}

/** A Lambda function of the templates and its environment. */
export interface DeployedFunction {
  readonly stackName: string;
  readonly name: string;
  readonly environment: Readonly<Record<string, string>>;
}

/** What the deployment left: rules, functions and the evaluator (outputs, physical names). */
export interface DeployedApp {
  readonly hash: string;
  readonly app: AppEvaluator;
  readonly rules: readonly DeployedRule[];
  readonly functions: readonly DeployedFunction[];
  /** The environment variables the functions share (each with one value across functions). */
  readonly environment: Readonly<Record<string, string>>;
}

interface DeployState {
  /** `<stack>/<logicalId>` of each custom resource that ran, and its physical id. */
  customResources: Record<string, string>;
  /** `<stack>/<logicalId>` of each task definition: the revision the stack registered, and from what. */
  taskDefinitions?: Record<string, { arn: string; properties: string }>;
  /** `<stack>/<logicalId>` of each service: the task definition the stack last set on it. */
  services?: Record<string, string>;
}

/** Deploys every stack of `templates` into the account. */
export async function deployTemplates(account: DeployTargets, templates: TemplateSet): Promise<DeployedApp> {
  const state = new JsonFile<DeployState>(join(account.dataDir, 'account', 'stacks.json'), () => ({
    customResources: {},
  }));
  const app = new AppEvaluator(templates.stacks, {
    accountId: account.accountId,
    region: account.region,
    ssmParameter: (name) => account.ssm.value(name),
  });
  const rules: DeployedRule[] = [];
  const functions: DeployedFunction[] = [];
  const replaced: string[] = [];
  for (const { stackName } of templates.stacks) {
    const stack = app.stack(stackName);
    const created: { cluster: string; service: string }[] = [];
    for (const id of stack.creationOrder()) {
      const type = stack.resource(id).Type;
      switch (type) {
        case 'AWS::S3::Bucket': {
          const name = stack.physicalName(id);
          const { versioning } = toCreateBucket(name, stack.properties(id));
          account.s3.ensureBucket(
            name,
            versioning?.VersioningConfiguration?.Status === 'Enabled' ? 'Enabled' : undefined,
          );
          break;
        }
        case 'AWS::SecretsManager::Secret': {
          const name = stack.physicalName(id);
          if (account.secretsManager.nameOf(name) === undefined) {
            account.secretsManager.commands.CreateSecret(toCreateSecret(name, stack.properties(id)));
          }
          break;
        }
        case 'AWS::ECR::Repository': {
          const { input, imagesToKeep } = toCreateRepository(stack.properties(id));
          account.ecr.ensureRepository(input.repositoryName ?? stack.physicalName(id), imagesToKeep);
          break;
        }
        case 'AWS::ECS::Cluster':
          account.ecs.commands.CreateCluster(toCreateCluster(stack.properties(id)));
          break;
        case 'AWS::ECS::TaskDefinition':
          replaced.push(...registerTaskDefinition(account, state, stack, id));
          break;
        case 'AWS::ECS::Service': {
          const input = toCreateService(stack.properties(id));
          const cluster = String(input.cluster ?? 'default');
          const service = input.serviceName ?? '';
          const exists =
            (account.ecs.commands.DescribeServices({ cluster, services: [service] }).services ?? []).length >
            0;
          const key = `${stackName}/${id}`;
          state.value.services ??= {};
          const services = state.value.services;
          if (!exists) {
            account.ecs.commands.CreateService(input);
            created.push({ cluster, service });
          } else if (input.taskDefinition && services[key] !== input.taskDefinition) {
            // Only a change of the template's value moves the service: a release in between
            // (which CloudFormation does not see) keeps its revision until the template changes.
            if (services[key] !== undefined)
              account.ecs.commands.UpdateService({ cluster, service, taskDefinition: input.taskDefinition });
          }
          if (input.taskDefinition) services[key] = input.taskDefinition;
          break;
        }
        case 'AWS::AutoScaling::AutoScalingGroup':
          createGroup(account, stack, id);
          break;
        case 'AWS::CloudWatch::Alarm':
          // An alarm on metrics the sandbox does not produce (the front door's 5xx rate, from API
          // Gateway or the load balancer) exists only in AWS; the sandbox's metrics are AWS/ECS's.
          if (!watchesEcsMetrics(stack.properties(id))) break;
          account.cloudWatch.commands.PutMetricAlarm(toPutMetricAlarm(stack.properties(id)));
          break;
        case 'AWS::CodePipeline::Pipeline':
          createPipeline(account, stack, id);
          break;
        case 'AWS::Events::Rule': {
          const { pattern, targets } = toPutRule(stack.physicalName(id), stack.properties(id));
          if (pattern) {
            rules.push({
              stackName,
              name: stack.physicalName(id),
              pattern,
              targets: (targets.Targets ?? []).map((t) => t.Arn ?? ''),
            });
          }
          break;
        }
        case 'AWS::Lambda::Function': {
          const variables = stack.property(id, 'Environment.Variables') as
            | Record<string, unknown>
            | undefined;
          functions.push({
            stackName,
            name: stack.physicalName(id),
            environment: Object.fromEntries(Object.entries(variables ?? {}).map(([k, v]) => [k, String(v)])),
          });
          break;
        }
        case 'Custom::AWS':
          await runCustomResource(account, state, stack, id);
          break;
        case 'AWS::SSM::Parameter': {
          const input = toPutParameter(stack.physicalName(id), stack.properties(id));
          // CloudFormation writes a new version only when the value changes.
          if (account.ssm.value(input.Name ?? '') !== input.Value) account.ssm.commands.PutParameter(input);
          break;
        }
        default:
          await createFrontDoorResource(account, stack, id, type);
      }
    }
    // What a finished `cdk deploy` leaves: the new services' tasks placed and RUNNING.
    for (const { cluster, service } of created) account.ecs.settle(cluster, service);
  }
  // CloudFormation's cleanup phase deletes what it replaced.
  for (const arn of replaced) account.ecs.commands.DeregisterTaskDefinition({ taskDefinition: arn });
  state.save();
  return { hash: templates.hash, app, rules, functions, environment: sharedEnvironment(functions) };
}

/** The resources of the stages' front doors (API Gateway, Cloud Map, ELB), with the ids their stack gives them. */
async function createFrontDoorResource(
  account: DeployTargets,
  stack: StackEvaluator,
  id: string,
  type: string,
): Promise<void> {
  switch (type) {
    case 'AWS::ApiGatewayV2::Api':
      account.apiGatewayV2.ensureApi({
        apiId: stack.ref(id),
        name: String(stack.property(id, 'Name') ?? stack.physicalName(id)),
        protocolType: stack.property(id, 'ProtocolType') as string | undefined,
        description: stack.property(id, 'Description') as string | undefined,
        tags: stack.property(id, 'Tags') as Record<string, string> | undefined,
      });
      break;
    case 'AWS::ApiGatewayV2::VpcLink':
      account.apiGatewayV2.ensureVpcLink({ vpcLinkId: stack.ref(id), name: stack.physicalName(id) });
      break;
    case 'AWS::ApiGatewayV2::Integration':
      account.apiGatewayV2.ensureIntegration(stack.ref(id), toCreateIntegration(stack.properties(id)));
      break;
    case 'AWS::ApiGatewayV2::Route':
      account.apiGatewayV2.ensureRoute(stack.ref(id), toCreateRoute(stack.properties(id)));
      break;
    case 'AWS::ServiceDiscovery::PrivateDnsNamespace':
      account.serviceDiscovery.ensureNamespace({
        id: stack.ref(id),
        arn: String(stack.getAtt(id, 'Arn')),
        name: String(stack.property(id, 'Name')),
        description: stack.property(id, 'Description') as string | undefined,
        tags: stack.property(id, 'Tags') as { Key: string; Value: string }[] | undefined,
      });
      break;
    case 'AWS::ServiceDiscovery::Service':
      account.serviceDiscovery.ensureService({
        id: stack.ref(id),
        arn: String(stack.getAtt(id, 'Arn')),
        input: toCreateDiscoveryService(stack.properties(id)),
      });
      break;
    case 'AWS::ElasticLoadBalancingV2::TargetGroup':
      account.elbv2.ensureTargetGroup(
        stack.ref(id),
        toCreateTargetGroup(stack.physicalName(id), stack.properties(id)),
      );
      break;
    case 'AWS::ElasticLoadBalancingV2::Listener': {
      const { Tags, ...listener } = toListener(stack.properties(id));
      account.elbv2.ensureListener({ ...listener, ListenerArn: stack.ref(id) }, Tags);
      break;
    }
  }
}

/**
 * The template's revision: registered on the first deploy, registered again when its
 * evaluated properties changed since the stack last registered it (CloudFormation replaces
 * a task definition on any change). Returns the revision it replaced, if any.
 */
function registerTaskDefinition(
  account: DeployTargets,
  state: JsonFile<DeployState>,
  stack: StackEvaluator,
  id: string,
): string[] {
  const key = `${stack.stackName}/${id}`;
  const input = toRegisterTaskDefinition(stack.properties(id));
  const properties = JSON.stringify(input);
  state.value.taskDefinitions ??= {};
  const definitions = state.value.taskDefinitions;
  const previous = definitions[key];
  if (previous?.properties === properties) {
    stack.provide(id, { ref: previous.arn });
    return [];
  }
  const arn = account.ecs.commands.RegisterTaskDefinition(input).taskDefinition?.taskDefinitionArn;
  if (!arn) throw new TemplateError(`stack ${stack.stackName}: ${id}: the registration returned no ARN`);
  definitions[key] = { arn, properties };
  stack.provide(id, { ref: arn });
  return previous ? [previous.arn] : [];
}

/**
 * Creates the group with its minimum of instances InService and registered in the cluster
 * that the launch template's user data names (`ECS_CLUSTER=…`: how an instance joins a cluster).
 */
function createGroup(account: DeployTargets, stack: StackEvaluator, id: string): void {
  const input = toCreateAutoScalingGroup(stack.properties(id));
  const raw = stack.resource(id).Properties?.LaunchTemplate as
    | { LaunchTemplateId?: { Ref?: string } }
    | undefined;
  const template = raw?.LaunchTemplateId?.Ref;
  if (!template) {
    throw new TemplateError(
      `stack ${stack.stackName}, resource ${id}: the sandbox needs a launch template of the same stack`,
    );
  }
  const userData = stack.property(template, 'LaunchTemplateData.UserData');
  const cluster = /ECS_CLUSTER=([A-Za-z0-9_-]+)/.exec(
    Buffer.from(String(userData ?? ''), 'base64').toString(),
  )?.[1];
  if (!cluster) {
    throw new TemplateError(
      `stack ${stack.stackName}, resource ${id}: the user data of launch template ${template} joins no ECS cluster (no ECS_CLUSTER=)`,
    );
  }
  account.autoScaling.ensureGroup({
    name: input.AutoScalingGroupName ?? stack.physicalName(id),
    clusterName: cluster,
    instanceType: String(stack.property(template, 'LaunchTemplateData.InstanceType') ?? 't3.micro'),
    min: input.MinSize ?? 0,
    max: input.MaxSize ?? 0,
    newInstancesProtected: input.NewInstancesProtectedFromScaleIn ?? false,
  });
}

/** The pipeline of a stage: its source object (bucket and key of the S3 source action) and whose stage it builds. */
function createPipeline(account: DeployTargets, stack: StackEvaluator, id: string): void {
  const { pipeline, tags } = toCreatePipeline(stack.properties(id));
  const action = (category: string, provider: string) =>
    pipeline?.stages
      ?.flatMap((s) => s.actions ?? [])
      .find((a) => a.actionTypeId?.category === category && a.actionTypeId.provider === provider);
  const source = action('Source', 'S3');
  const tag = (key: string) => tags?.find((t) => t.key === key)?.value;
  const app = tag('stackpilot:app');
  const stage = tag('stackpilot:stage');
  const bucket = source?.configuration?.S3Bucket;
  const key = source?.configuration?.S3ObjectKey;
  const build = action('Build', 'CodeBuild');
  const repository = build && buildVariable(stack, build.configuration ?? {}, 'ECR_REPOSITORY');
  if (!pipeline?.name || !app || !stage || !bucket || !key || !repository) {
    throw new TemplateError(
      `stack ${stack.stackName}, resource ${id}: the sandbox runs pipelines with an S3 source action, a CodeBuild action whose build sets ECR_REPOSITORY, and tags stackpilot:app and stackpilot:stage`,
    );
  }
  const invoke = action('Invoke', 'StepFunctions');
  const stateMachine = invoke?.configuration?.StateMachineArn?.split(':').at(-1);
  const mode = pipeline.executionMode;
  account.codePipeline.ensurePipeline(pipeline.name, {
    app,
    stage,
    bucket,
    key,
    ...(mode === 'QUEUED' || mode === 'SUPERSEDED' || mode === 'PARALLEL' ? { executionMode: mode } : {}),
    variables: Object.fromEntries(
      (pipeline.variables ?? []).map((v) => [v.name ?? '', v.defaultValue ?? '']),
    ),
    ...(stateMachine && invoke?.configuration?.Input
      ? { invoke: { stateMachine, input: invoke.configuration.Input } }
      : {}),
    repository,
  });
}

/**
 * A variable of a Build action's build as CodeBuild sets it: the action's `EnvironmentVariables`
 * override those of its project (`ProjectName`, a project of this stack).
 */
function buildVariable(
  stack: StackEvaluator,
  configuration: Readonly<Record<string, string>>,
  name: string,
): string | undefined {
  const overrides = JSON.parse(configuration.EnvironmentVariables ?? '[]') as EnvironmentVariable[];
  const fromAction = overrides.find((v) => v.name === name)?.value;
  if (fromAction !== undefined) return fromAction;
  const project = stack
    .logicalIds('AWS::CodeBuild::Project')
    .map((id) => stack.properties(id))
    .find((p) => p.Name === configuration.ProjectName);
  const environment = (project?.Environment ?? {}) as {
    EnvironmentVariables?: Array<{ Name: string; Value: string }>;
  };
  return environment.EnvironmentVariables?.find((v) => v.Name === name)?.Value;
}

interface EnvironmentVariable {
  readonly name: string;
  readonly value: string;
}

/** Runs a custom resource's Create call once, as its Lambda would; records its physical id. */
async function runCustomResource(
  account: DeployTargets,
  state: JsonFile<DeployState>,
  stack: StackEvaluator,
  id: string,
): Promise<void> {
  const key = `${stack.stackName}/${id}`;
  const ran = state.value.customResources[key];
  if (ran !== undefined) {
    stack.provide(id, { ref: ran });
    return;
  }
  const call = customResourceCall(id, stack.properties(id));
  let physicalId = call?.physicalResourceId.id ?? id;
  if (call) {
    try {
      const output = await account.dispatch(call.clientName, call.commandName, call.input);
      const path = call.physicalResourceId.responsePath;
      if (path)
        physicalId = String(
          path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown>)?.[k], output),
        );
    } catch (error) {
      const name = (error as Error).name;
      if (!call.ignoreErrorCodesMatching || !new RegExp(call.ignoreErrorCodesMatching).test(name)) {
        throw new TemplateError(
          `stack ${stack.stackName}, custom resource ${id}: ${call.clientName} ${call.commandName} failed: ${(error as Error).message}`,
        );
      }
    }
  }
  state.value.customResources[key] = physicalId;
  state.save();
  stack.provide(id, { ref: physicalId });
}

/** The variables whose value is the same in every function that has them (bucket names, ARNs). */
function sharedEnvironment(functions: readonly DeployedFunction[]): Record<string, string> {
  const values = new Map<string, Set<string>>();
  for (const fn of functions) {
    for (const [name, value] of Object.entries(fn.environment)) {
      values.set(name, (values.get(name) ?? new Set()).add(value));
    }
  }
  return Object.fromEntries(
    [...values].filter(([, set]) => set.size === 1).map(([name, set]) => [name, [...set][0] ?? '']),
  );
}

/** True when every metric the alarm reads is in the AWS/ECS namespace (what the sandbox produces). */
function watchesEcsMetrics(properties: Readonly<Record<string, unknown>>): boolean {
  const namespaces: unknown[] = [];
  if (properties.Namespace !== undefined) namespaces.push(properties.Namespace);
  for (const query of (properties.Metrics as { MetricStat?: { Metric?: { Namespace?: unknown } } }[]) ?? [])
    if (query.MetricStat) namespaces.push(query.MetricStat.Metric?.Namespace);
  return namespaces.length > 0 && namespaces.every((n) => n === 'AWS/ECS');
}
