/**
 * From evaluated CloudFormation resource properties (PascalCase, as the template writes
 * them) to the inputs of the AWS SDK v3 commands that create the same resources, typed with
 * the SDK's own input types. ECS and CodePipeline take camelCase; Auto Scaling, CloudWatch,
 * EventBridge, S3, Secrets Manager, SSM, API Gateway v2, Cloud Map and ELBv2 take PascalCase
 * like CloudFormation. Free-form
 * maps (Docker labels, log options, action configurations) keep their keys.
 *
 * Where CloudFormation itself supplies a value the template leaves out, the converter says so
 * in a comment (an ECS service without DesiredCount starts with one task).
 */
import { randomInt } from 'node:crypto';
import type { CreateIntegrationCommandInput, CreateRouteCommandInput } from '@aws-sdk/client-apigatewayv2';
import type { CreateAutoScalingGroupCommandInput } from '@aws-sdk/client-auto-scaling';
import type { PutMetricAlarmCommandInput } from '@aws-sdk/client-cloudwatch';
import type { CreatePipelineCommandInput } from '@aws-sdk/client-codepipeline';
import type { CreateRepositoryCommandInput } from '@aws-sdk/client-ecr';
import type {
  CreateClusterCommandInput,
  CreateServiceCommandInput,
  RegisterTaskDefinitionCommandInput,
} from '@aws-sdk/client-ecs';
import type {
  Action,
  CreateTargetGroupCommandInput,
  Tag as ElbTag,
  Listener,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { PutRuleCommandInput, PutTargetsCommandInput } from '@aws-sdk/client-eventbridge';
import type { CreateBucketCommandInput, PutBucketVersioningCommandInput } from '@aws-sdk/client-s3';
import type { CreateSecretCommandInput } from '@aws-sdk/client-secrets-manager';
import type { CreateServiceCommandInput as CreateDiscoveryServiceCommandInput } from '@aws-sdk/client-servicediscovery';
import type { CreateStateMachineCommandInput } from '@aws-sdk/client-sfn';
import type { PutParameterCommandInput } from '@aws-sdk/client-ssm';
import { TemplateError } from './template.ts';

type Properties = Readonly<Record<string, unknown>>;

/** Properties whose value is a free-form map: their keys are data, not property names. */
const MAP_VALUED: ReadonlySet<string> = new Set(['DockerLabels', 'Options', 'DriverOpts', 'Labels']);
/** A pipeline action's `Configuration` is a map too (an ECS cluster's is not). */
const PIPELINE_MAPS: ReadonlySet<string> = new Set([...MAP_VALUED, 'Configuration']);

const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** `ContainerDefinitions` -> `containerDefinitions`, recursively; maps in MAP_VALUED keep their keys. */
export function camelKeys(
  value: unknown,
  renames: Readonly<Record<string, string>> = {},
  maps: ReadonlySet<string> = MAP_VALUED,
): unknown {
  if (Array.isArray(value)) return value.map((item) => camelKeys(item, renames, maps));
  if (!isRecord(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    const name = renames[key] ?? `${key.charAt(0).toLowerCase()}${key.slice(1)}`;
    out[name] = maps.has(key) && isRecord(inner) ? { ...inner } : camelKeys(inner, renames, maps);
  }
  return out;
}

function required(props: Properties, name: string, type: string): unknown {
  const value = props[name];
  if (value === undefined) throw new TemplateError(`${type}: property ${name} is required`);
  return value;
}

const numberOrUndefined = (value: unknown) => (value === undefined ? undefined : Number(value));

/** Removes the keys whose value is undefined (SDK inputs are compared and serialized as they are). */
function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** `AWS::ECS::TaskDefinition` -> RegisterTaskDefinition. */
export function toRegisterTaskDefinition(props: Properties): RegisterTaskDefinitionCommandInput {
  required(props, 'ContainerDefinitions', 'AWS::ECS::TaskDefinition');
  return camelKeys(props, {
    ProxyConfigurationProperties: 'properties',
  }) as RegisterTaskDefinitionCommandInput;
}

/**
 * `AWS::ECS::Service` -> CreateService. `taskDefinition` is the ARN the registration
 * returned (the template's Ref, once resolved, is the same).
 */
export function toCreateService(props: Properties): CreateServiceCommandInput {
  const input = camelKeys(props, { PlacementStrategies: 'placementStrategy' }) as CreateServiceCommandInput;
  // CloudFormation creates a REPLICA service without DesiredCount with one task.
  const replica = (props.SchedulingStrategy ?? 'REPLICA') === 'REPLICA';
  return { ...input, ...(input.desiredCount === undefined && replica && { desiredCount: 1 }) };
}

/** `AWS::ECS::Cluster` -> CreateCluster. */
export function toCreateCluster(props: Properties): CreateClusterCommandInput {
  return camelKeys(props, { ClusterSettings: 'settings' }) as CreateClusterCommandInput;
}

/** `AWS::ECR::Repository` -> CreateRepository, and how many images its lifecycle policy keeps. */
export function toCreateRepository(props: Properties): {
  input: CreateRepositoryCommandInput;
  imagesToKeep?: number;
} {
  const { LifecyclePolicy, ImageScanningConfiguration, ...rest } = props as Record<string, unknown>;
  const input = camelKeys(rest) as CreateRepositoryCommandInput;
  const scan = isRecord(ImageScanningConfiguration) ? ImageScanningConfiguration.ScanOnPush : undefined;
  let imagesToKeep: number | undefined;
  if (isRecord(LifecyclePolicy) && typeof LifecyclePolicy.LifecyclePolicyText === 'string') {
    const policy = JSON.parse(LifecyclePolicy.LifecyclePolicyText) as {
      rules?: { selection?: { countType?: string; countNumber?: number; tagStatus?: string } }[];
    };
    const counts = (policy.rules ?? [])
      .map((r) => r.selection)
      .filter((s) => s?.countType === 'imageCountMoreThan' && s.tagStatus === 'any')
      .map((s) => Number(s?.countNumber));
    if (counts.length > 0) imagesToKeep = Math.min(...counts);
  }
  return {
    input: {
      ...input,
      ...(scan !== undefined && { imageScanningConfiguration: { scanOnPush: Boolean(scan) } }),
    },
    ...(imagesToKeep !== undefined && { imagesToKeep }),
  };
}

/** `AWS::AutoScaling::AutoScalingGroup` -> CreateAutoScalingGroup (sizes are strings in CloudFormation). */
export function toCreateAutoScalingGroup(props: Properties): CreateAutoScalingGroupCommandInput {
  const zones = props.VPCZoneIdentifier;
  return defined({
    AutoScalingGroupName: props.AutoScalingGroupName as string,
    LaunchTemplate: props.LaunchTemplate as CreateAutoScalingGroupCommandInput['LaunchTemplate'],
    MixedInstancesPolicy:
      props.MixedInstancesPolicy as CreateAutoScalingGroupCommandInput['MixedInstancesPolicy'],
    LaunchConfigurationName: props.LaunchConfigurationName as string | undefined,
    MinSize: Number(required(props, 'MinSize', 'AWS::AutoScaling::AutoScalingGroup')),
    MaxSize: Number(required(props, 'MaxSize', 'AWS::AutoScaling::AutoScalingGroup')),
    DesiredCapacity: numberOrUndefined(props.DesiredCapacity),
    DefaultCooldown: numberOrUndefined(props.Cooldown),
    AvailabilityZones: props.AvailabilityZones as string[] | undefined,
    VPCZoneIdentifier: Array.isArray(zones) ? zones.join(',') : (zones as string | undefined),
    HealthCheckType: props.HealthCheckType as string | undefined,
    HealthCheckGracePeriod: numberOrUndefined(props.HealthCheckGracePeriod),
    NewInstancesProtectedFromScaleIn: props.NewInstancesProtectedFromScaleIn as boolean | undefined,
    CapacityRebalance: props.CapacityRebalance as boolean | undefined,
    DefaultInstanceWarmup: numberOrUndefined(props.DefaultInstanceWarmup),
    TerminationPolicies: props.TerminationPolicies as string[] | undefined,
    TargetGroupARNs: props.TargetGroupARNs as string[] | undefined,
    MaxInstanceLifetime: numberOrUndefined(props.MaxInstanceLifetime),
    Tags: (props.Tags as { Key: string; Value: string; PropagateAtLaunch?: boolean }[] | undefined)?.map(
      (t) => ({ Key: t.Key, Value: t.Value, PropagateAtLaunch: t.PropagateAtLaunch }),
    ),
  });
}

/** `AWS::CloudWatch::Alarm` -> PutMetricAlarm. */
export function toPutMetricAlarm(props: Properties): PutMetricAlarmCommandInput {
  const type = 'AWS::CloudWatch::Alarm';
  return defined({
    ...(props as Omit<PutMetricAlarmCommandInput, 'AlarmName'>),
    AlarmName: String(required(props, 'AlarmName', type)),
    ComparisonOperator: required(
      props,
      'ComparisonOperator',
      type,
    ) as PutMetricAlarmCommandInput['ComparisonOperator'],
    EvaluationPeriods: Number(required(props, 'EvaluationPeriods', type)),
    Threshold: numberOrUndefined(props.Threshold),
    Period: numberOrUndefined(props.Period),
    DatapointsToAlarm: numberOrUndefined(props.DatapointsToAlarm),
  });
}

/** `AWS::Events::Rule` -> PutRule and PutTargets, and the pattern as an object (what a bus matches). */
export function toPutRule(
  name: string,
  props: Properties,
): { rule: PutRuleCommandInput; targets: PutTargetsCommandInput; pattern?: Record<string, unknown> } {
  const { Targets, EventPattern, Name: _name, ...rest } = props as Record<string, unknown>;
  const pattern =
    typeof EventPattern === 'string'
      ? (JSON.parse(EventPattern) as Record<string, unknown>)
      : (EventPattern as Record<string, unknown> | undefined);
  return {
    rule: defined({
      ...(rest as Omit<PutRuleCommandInput, 'Name'>),
      Name: name,
      EventPattern: pattern === undefined ? undefined : JSON.stringify(pattern),
    }),
    targets: {
      Rule: name,
      ...(typeof rest.EventBusName === 'string' && { EventBusName: rest.EventBusName }),
      Targets: (Targets ?? []) as PutTargetsCommandInput['Targets'],
    },
    ...(pattern !== undefined && { pattern }),
  };
}

/** `AWS::CodePipeline::Pipeline` -> CreatePipeline (action configurations are maps of strings). */
export function toCreatePipeline(props: Properties): CreatePipelineCommandInput {
  const {
    Tags,
    RestartExecutionOnUpdate: _restart,
    DisableInboundStageTransitions: _disabled,
    ...rest
  } = props as Record<string, unknown>;
  const pipeline = camelKeys(rest, {}, PIPELINE_MAPS) as NonNullable<CreatePipelineCommandInput['pipeline']>;
  for (const stage of pipeline.stages ?? []) {
    for (const action of stage.actions ?? []) {
      if (action.configuration) {
        action.configuration = Object.fromEntries(
          Object.entries(action.configuration).map(([k, v]) => [
            k,
            typeof v === 'string' ? v : JSON.stringify(v),
          ]),
        );
      }
    }
  }
  return {
    pipeline,
    ...(Array.isArray(Tags) && { tags: camelKeys(Tags) as CreatePipelineCommandInput['tags'] }),
  };
}

/** `AWS::ApiGatewayV2::Integration` -> CreateIntegration (the same property names). */
export function toCreateIntegration(props: Properties): CreateIntegrationCommandInput {
  return {
    ...props,
    ApiId: String(required(props, 'ApiId', 'AWS::ApiGatewayV2::Integration')),
    IntegrationType: required(
      props,
      'IntegrationType',
      'AWS::ApiGatewayV2::Integration',
    ) as CreateIntegrationCommandInput['IntegrationType'],
  };
}

/** `AWS::ApiGatewayV2::Route` -> CreateRoute (the same property names). */
export function toCreateRoute(props: Properties): CreateRouteCommandInput {
  return {
    ...props,
    ApiId: String(required(props, 'ApiId', 'AWS::ApiGatewayV2::Route')),
    RouteKey: String(required(props, 'RouteKey', 'AWS::ApiGatewayV2::Route')),
  };
}

/** `AWS::ServiceDiscovery::Service` -> Cloud Map CreateService (the same property names). */
export function toCreateDiscoveryService(props: Properties): CreateDiscoveryServiceCommandInput {
  return { ...props, Name: String(required(props, 'Name', 'AWS::ServiceDiscovery::Service')) };
}

/**
 * `AWS::ElasticLoadBalancingV2::TargetGroup` -> CreateTargetGroup. Its attributes
 * (`TargetGroupAttributes`: deregistration delay, stickiness) and `Targets` are other calls.
 */
export function toCreateTargetGroup(name: string, props: Properties): CreateTargetGroupCommandInput {
  const { TargetGroupAttributes: _attributes, Targets: _targets, Name: _name, ...rest } = props;
  return { ...rest, Name: name } as CreateTargetGroupCommandInput;
}

/** `AWS::ElasticLoadBalancingV2::Listener` -> what CreateListener takes (and returns) of it. */
export function toListener(
  props: Properties,
): Omit<Listener, 'ListenerArn'> & { LoadBalancerArn: string; Tags?: ElbTag[] } {
  return defined({
    LoadBalancerArn: String(required(props, 'LoadBalancerArn', 'AWS::ElasticLoadBalancingV2::Listener')),
    Port: numberOrUndefined(props.Port),
    Protocol: props.Protocol as Listener['Protocol'],
    DefaultActions: required(props, 'DefaultActions', 'AWS::ElasticLoadBalancingV2::Listener') as Action[],
    Tags: props.Tags as ElbTag[] | undefined,
  });
}

/** `AWS::SSM::Parameter` -> PutParameter (CloudFormation overwrites the value on an update). */
export function toPutParameter(name: string, props: Properties): PutParameterCommandInput {
  return defined({
    Name: name,
    Value: String(required(props, 'Value', 'AWS::SSM::Parameter')),
    Type: required(props, 'Type', 'AWS::SSM::Parameter') as PutParameterCommandInput['Type'],
    Description: props.Description as string | undefined,
    Overwrite: true,
  });
}

/** `AWS::S3::Bucket` -> CreateBucket, and PutBucketVersioning when the template sets versioning. */
export function toCreateBucket(
  name: string,
  props: Properties,
): { bucket: CreateBucketCommandInput; versioning?: PutBucketVersioningCommandInput } {
  const status = isRecord(props.VersioningConfiguration) ? props.VersioningConfiguration.Status : undefined;
  return {
    bucket: { Bucket: name },
    ...(typeof status === 'string' && {
      versioning: {
        Bucket: name,
        VersioningConfiguration: { Status: status as 'Enabled' | 'Suspended' },
      },
    }),
  };
}

/**
 * `AWS::SecretsManager::Secret` -> CreateSecret. A `GenerateSecretString` is generated here
 * as Secrets Manager would (random characters of the allowed classes).
 */
export function toCreateSecret(
  name: string,
  props: Properties,
  random: (max: number) => number = randomInt,
): CreateSecretCommandInput {
  const generate = props.GenerateSecretString;
  let secret = props.SecretString as string | undefined;
  if (secret === undefined && isRecord(generate)) {
    const password = generatePassword(generate, random);
    if (typeof generate.SecretStringTemplate === 'string') {
      const key = generate.GenerateStringKey;
      if (typeof key !== 'string') {
        throw new TemplateError(
          'AWS::SecretsManager::Secret: GenerateSecretString.SecretStringTemplate needs GenerateStringKey',
        );
      }
      secret = JSON.stringify({ ...JSON.parse(generate.SecretStringTemplate), [key]: password });
    } else {
      secret = password;
    }
  }
  return defined({
    Name: name,
    Description: props.Description as string | undefined,
    KmsKeyId: props.KmsKeyId as string | undefined,
    SecretString: secret,
    Tags: props.Tags as CreateSecretCommandInput['Tags'],
  });
}

const PUNCTUATION = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';

/** Secrets Manager's GetRandomPassword, for `GenerateSecretString` (32 characters by default). */
export function generatePassword(
  options: Record<string, unknown>,
  random: (max: number) => number = randomInt,
): string {
  const exclude = String(options.ExcludeCharacters ?? '');
  const classes = [
    options.ExcludeLowercase ? '' : 'abcdefghijklmnopqrstuvwxyz',
    options.ExcludeUppercase ? '' : 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
    options.ExcludeNumbers ? '' : '0123456789',
    options.ExcludePunctuation ? '' : PUNCTUATION,
    options.IncludeSpace ? ' ' : '',
  ]
    .map((chars) => [...chars].filter((c) => !exclude.includes(c)).join(''))
    .filter((chars) => chars.length > 0);
  const length = Number(options.PasswordLength ?? 32);
  if (classes.length === 0 || !(length >= classes.length)) {
    throw new TemplateError(
      `GenerateSecretString: no password of length ${length} fits ${JSON.stringify(options)}`,
    );
  }
  const all = classes.join('');
  const chars = Array.from({ length }, () => all[random(all.length)] ?? '');
  // RequireEachIncludedType (the default): one character of each class, at random places.
  if (options.RequireEachIncludedType !== false) {
    const places = new Set<number>();
    for (const pool of classes) {
      let at = random(length);
      while (places.has(at)) at = (at + 1) % length;
      places.add(at);
      chars[at] = pool[random(pool.length)] ?? '';
    }
  }
  return chars.join('');
}

/**
 * `AWS::StepFunctions::StateMachine` -> CreateStateMachine, its `${Placeholder}`s replaced by
 * `DefinitionSubstitutions` as CloudFormation does. A placeholder without a value is an error.
 */
export function toCreateStateMachine(props: Properties): CreateStateMachineCommandInput {
  const type = 'AWS::StepFunctions::StateMachine';
  if (props.DefinitionS3Location !== undefined) {
    throw new TemplateError(
      `${type}: DefinitionS3Location is not supported (the definition is in an S3 asset)`,
    );
  }
  const text =
    typeof props.DefinitionString === 'string'
      ? props.DefinitionString
      : JSON.stringify(required(props, 'Definition', type));
  const substitutions = (props.DefinitionSubstitutions ?? {}) as Record<string, unknown>;
  const definition = text.replace(/\$\{([^}]+)\}/g, (_m, name: string) => {
    if (!Object.hasOwn(substitutions, name)) {
      throw new TemplateError(`${type} ${String(props.StateMachineName)}: no substitution for \${${name}}`);
    }
    return String(substitutions[name]);
  });
  const logging = props.LoggingConfiguration as Record<string, unknown> | undefined;
  return defined({
    name: String(required(props, 'StateMachineName', type)),
    definition,
    roleArn: String(required(props, 'RoleArn', type)),
    type: props.StateMachineType as CreateStateMachineCommandInput['type'],
    loggingConfiguration:
      logging && (camelKeys(logging) as CreateStateMachineCommandInput['loggingConfiguration']),
    tracingConfiguration: props.TracingConfiguration
      ? (camelKeys(props.TracingConfiguration) as CreateStateMachineCommandInput['tracingConfiguration'])
      : undefined,
    tags: props.Tags ? (camelKeys(props.Tags) as CreateStateMachineCommandInput['tags']) : undefined,
  });
}

/** One SDK call of a `Custom::AWS` resource (CDK's AwsCustomResource), as its Lambda makes it. */
export interface AwsSdkCall {
  /** The v3 client class: `ECSClient`, `SSMClient`. */
  readonly clientName: string;
  /** The command class: `UpdateServiceCommand`. */
  readonly commandName: string;
  readonly input: Record<string, unknown>;
  /** The physical id of the resource: given, or read from the response (`responsePath`). */
  readonly physicalResourceId: { readonly id?: string; readonly responsePath?: string };
  /** Errors whose name matches are ignored (`ParameterAlreadyExists`). */
  readonly ignoreErrorCodesMatching?: string;
}

/** AwsCustomResource service names (v2 or v3 spelling) -> SDK v3 package and client class. */
const SDK_CLIENTS: Readonly<Record<string, string>> = {
  ecs: 'ECSClient',
  ssm: 'SSMClient',
  s3: 'S3Client',
  ecr: 'ECRClient',
  'auto-scaling': 'AutoScalingClient',
  autoscaling: 'AutoScalingClient',
  cloudwatch: 'CloudWatchClient',
  codepipeline: 'CodePipelineClient',
  'secrets-manager': 'SecretsManagerClient',
  secretsmanager: 'SecretsManagerClient',
  sfn: 'SFNClient',
  stepfunctions: 'SFNClient',
  eventbridge: 'EventBridgeClient',
};

/** The physical id placeholder AwsCustomResource replaces in the parameters. */
const PHYSICAL_RESOURCE_ID = 'PHYSICAL:RESOURCEID:';

/**
 * The call a `Custom::AWS` resource makes for `event` (`Create`, `Update` or `Delete`), or
 * undefined when it makes none for that event. Its `Create` property is a JSON string.
 */
export function customResourceCall(
  logicalId: string,
  props: Properties,
  event: 'Create' | 'Update' | 'Delete' = 'Create',
): AwsSdkCall | undefined {
  const text = props[event];
  if (text === undefined) return undefined;
  if (typeof text !== 'string') {
    throw new TemplateError(
      `Custom::AWS ${logicalId}: ${event} must be a JSON string, got ${JSON.stringify(text)}`,
    );
  }
  const call = JSON.parse(text) as {
    service?: string;
    action?: string;
    parameters?: Record<string, unknown>;
    physicalResourceId?: { id?: string; responsePath?: string };
    ignoreErrorCodesMatching?: string;
  };
  const service = (call.service ?? '').replace(/^@aws-sdk\/client-/, '').toLowerCase();
  const clientName = SDK_CLIENTS[service];
  if (!clientName || !call.action) {
    throw new TemplateError(
      `Custom::AWS ${logicalId}: ${event} calls ${call.service} ${call.action}, a service the sandbox has no client for`,
    );
  }
  const physicalResourceId = call.physicalResourceId ?? { id: logicalId };
  const replace = (value: unknown): unknown =>
    value === PHYSICAL_RESOURCE_ID
      ? physicalResourceId.id
      : Array.isArray(value)
        ? value.map(replace)
        : isRecord(value)
          ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replace(v)]))
          : value;
  return {
    clientName,
    commandName: `${call.action.charAt(0).toUpperCase()}${call.action.slice(1)}Command`,
    input: replace(call.parameters ?? {}) as Record<string, unknown>,
    physicalResourceId,
    ...(call.ignoreErrorCodesMatching !== undefined && {
      ignoreErrorCodesMatching: call.ignoreErrorCodesMatching,
    }),
  };
}
