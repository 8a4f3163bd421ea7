/**
 * What `Ref` and `Fn::GetAtt` return for the resource types stackpilot's templates use, as
 * the CloudFormation resource reference documents them: a name, an ARN or an id. A resource
 * without a name property gets the name CloudFormation generates (`<stack>-<logicalId>-<suffix>`),
 * deterministic here so that a restart finds the same resources.
 *
 * A type missing from the table still has a physical id (`Ref`), but none of its attributes:
 * asking for one is an error naming the resource and the attribute, never a made-up value.
 */
import { createHash } from 'node:crypto';

/** What a model of a type knows about one resource. */
export interface ResourceIdentity {
  readonly stackName: string;
  readonly logicalId: string;
  readonly accountId: string;
  readonly region: string;
  readonly partition: string;
  readonly urlSuffix: string;
  /** The resource's name: its name property when the template sets it, else the generated name. */
  readonly name: string;
  /** Another property of the resource, resolved (`Cluster` of a service). */
  property(path: string): unknown;
}

interface TypeModel {
  /** The property that names the resource. */
  readonly nameProperty?: string;
  /** Generated names are lowercase (S3) and at most this long. */
  readonly generated?: { readonly lowercase?: boolean; readonly maxLength?: number };
  readonly ref: (r: ResourceIdentity) => string;
  readonly attributes?: Readonly<Record<string, (r: ResourceIdentity) => unknown>>;
}

const arn = (
  r: ResourceIdentity,
  service: string,
  resource: string,
  region = r.region,
  account = r.accountId,
) => `arn:${r.partition}:${service}:${region}:${account}:${resource}`;

/** A stable hex (or upper-case alphanumeric) suffix from the resource's identity. */
export function stableSuffix(seed: string, length: number, alphabet: 'hex' | 'upper' = 'upper'): string {
  const digest = createHash('sha256').update(seed).digest();
  if (alphabet === 'hex') return digest.toString('hex').slice(0, length);
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return [...digest.subarray(0, length)].map((b) => chars[b % chars.length]).join('');
}

/**
 * The ARN of a Secrets Manager secret: the name and six characters (random on AWS, derived
 * from the name here so the ARN survives a restart). The emulated Secrets Manager uses it too.
 */
export function secretArn(name: string, region: string, accountId: string, partition = 'aws'): string {
  const suffix = createHash('sha256').update(name).digest('base64url').slice(0, 6);
  return `arn:${partition}:secretsmanager:${region}:${accountId}:secret:${name}-${suffix}`;
}

const named = (r: ResourceIdentity) => r.name;
/** Cloud Map ids: `ns-…` and `srv-…`. */
const cloudMapId = (prefix: string, r: ResourceIdentity) =>
  `${prefix}-${stableSuffix(`${r.stackName}/${r.logicalId}`, 16).toLowerCase()}`;
const lastSegment = (value: unknown) => String(value).slice(String(value).lastIndexOf('/') + 1);

export const RESOURCE_TYPES: Readonly<Record<string, TypeModel>> = {
  'AWS::ECS::Cluster': {
    nameProperty: 'ClusterName',
    ref: named,
    attributes: { Arn: (r) => arn(r, 'ecs', `cluster/${r.name}`) },
  },
  'AWS::ECS::Service': {
    nameProperty: 'ServiceName',
    ref: (r) => arn(r, 'ecs', `service/${lastSegment(r.property('Cluster') ?? 'default')}/${r.name}`),
    attributes: {
      Name: named,
      ServiceArn: (r) =>
        arn(r, 'ecs', `service/${lastSegment(r.property('Cluster') ?? 'default')}/${r.name}`),
    },
  },
  'AWS::ECS::CapacityProvider': { nameProperty: 'Name', ref: named },
  'AWS::AutoScaling::AutoScalingGroup': { nameProperty: 'AutoScalingGroupName', ref: named },
  'AWS::EC2::LaunchTemplate': {
    nameProperty: 'LaunchTemplateName',
    ref: (r) => `lt-${stableSuffix(`${r.stackName}/${r.logicalId}`, 17, 'hex')}`,
    attributes: {
      LaunchTemplateId: (r) => `lt-${stableSuffix(`${r.stackName}/${r.logicalId}`, 17, 'hex')}`,
      // Created once: version 1 is both the default and the latest.
      LatestVersionNumber: () => '1',
      DefaultVersionNumber: () => '1',
    },
  },
  'AWS::S3::Bucket': {
    nameProperty: 'BucketName',
    generated: { lowercase: true, maxLength: 63 },
    ref: named,
    attributes: {
      Arn: (r) => `arn:${r.partition}:s3:::${r.name}`,
      DomainName: (r) => `${r.name}.s3.${r.urlSuffix}`,
      RegionalDomainName: (r) => `${r.name}.s3.${r.region}.${r.urlSuffix}`,
    },
  },
  'AWS::IAM::Role': {
    nameProperty: 'RoleName',
    generated: { maxLength: 64 },
    ref: named,
    attributes: {
      Arn: (r) => arn(r, 'iam', `role/${r.name}`, ''),
      RoleId: (r) => `AROA${stableSuffix(`${r.stackName}/${r.logicalId}`, 17)}`,
    },
  },
  'AWS::IAM::InstanceProfile': {
    nameProperty: 'InstanceProfileName',
    ref: named,
    attributes: { Arn: (r) => arn(r, 'iam', `instance-profile/${r.name}`, '') },
  },
  'AWS::Logs::LogGroup': {
    nameProperty: 'LogGroupName',
    generated: { maxLength: 512 },
    ref: named,
    attributes: { Arn: (r) => arn(r, 'logs', `log-group:${r.name}:*`) },
  },
  'AWS::Lambda::Function': {
    nameProperty: 'FunctionName',
    generated: { maxLength: 64 },
    ref: named,
    attributes: { Arn: (r) => arn(r, 'lambda', `function:${r.name}`) },
  },
  'AWS::StepFunctions::StateMachine': {
    nameProperty: 'StateMachineName',
    ref: (r) => arn(r, 'states', `stateMachine:${r.name}`),
    attributes: { Arn: (r) => arn(r, 'states', `stateMachine:${r.name}`), Name: named },
  },
  'AWS::SecretsManager::Secret': {
    nameProperty: 'Name',
    ref: (r) => secretArn(r.name, r.region, r.accountId, r.partition),
    attributes: { Id: (r) => secretArn(r.name, r.region, r.accountId, r.partition) },
  },
  'AWS::SSM::Parameter': {
    nameProperty: 'Name',
    ref: named,
    attributes: { Type: (r) => r.property('Type'), Value: (r) => r.property('Value') },
  },
  'AWS::CloudWatch::Alarm': {
    nameProperty: 'AlarmName',
    ref: named,
    attributes: { Arn: (r) => arn(r, 'cloudwatch', `alarm:${r.name}`) },
  },
  'AWS::Events::Rule': {
    nameProperty: 'Name',
    generated: { maxLength: 64 },
    ref: named,
    attributes: { Arn: (r) => arn(r, 'events', `rule/${r.name}`) },
  },
  'AWS::CodePipeline::Pipeline': { nameProperty: 'Name', ref: named, attributes: { Version: () => '1' } },
  'AWS::CodeBuild::Project': {
    nameProperty: 'Name',
    ref: named,
    attributes: { Arn: (r) => arn(r, 'codebuild', `project/${r.name}`) },
  },
  'AWS::ECR::Repository': {
    nameProperty: 'RepositoryName',
    generated: { lowercase: true, maxLength: 256 },
    ref: named,
    attributes: {
      Arn: (r) => arn(r, 'ecr', `repository/${r.name}`),
      RepositoryUri: (r) => `${r.accountId}.dkr.ecr.${r.region}.${r.urlSuffix}/${r.name}`,
    },
  },
  'AWS::ServiceDiscovery::PrivateDnsNamespace': {
    ref: (r) => cloudMapId('ns', r),
    attributes: {
      Id: (r) => cloudMapId('ns', r),
      Arn: (r) => arn(r, 'servicediscovery', `namespace/${cloudMapId('ns', r)}`),
    },
  },
  'AWS::ServiceDiscovery::Service': {
    ref: (r) => cloudMapId('srv', r),
    attributes: {
      Id: (r) => cloudMapId('srv', r),
      Arn: (r) => arn(r, 'servicediscovery', `service/${cloudMapId('srv', r)}`),
      Name: (r) => r.property('Name'),
    },
  },
  'AWS::ElasticLoadBalancingV2::LoadBalancer': {
    nameProperty: 'Name',
    generated: { maxLength: 32 },
    ref: (r) => arn(r, 'elasticloadbalancing', `loadbalancer/${loadBalancerFullName(r)}`),
    attributes: {
      // What the AWS/ApplicationELB metrics take as their LoadBalancer dimension.
      LoadBalancerFullName: loadBalancerFullName,
      LoadBalancerName: named,
      LoadBalancerArn: (r) => arn(r, 'elasticloadbalancing', `loadbalancer/${loadBalancerFullName(r)}`),
      // `<name>-<digits>.<region>.elb.amazonaws.com` (internet-facing; DNS names are lowercase).
      DNSName: (r) =>
        `${r.name.toLowerCase()}-${parseInt(stableSuffix(r.logicalId, 8, 'hex'), 16)}.${r.region}.elb.${r.urlSuffix}`,
    },
  },
  'AWS::ElasticLoadBalancingV2::TargetGroup': {
    nameProperty: 'Name',
    generated: { maxLength: 32 },
    ref: targetGroupArn,
    attributes: {
      TargetGroupArn: targetGroupArn,
      TargetGroupName: named,
      TargetGroupFullName: (r) => targetGroupArn(r).slice(targetGroupArn(r).indexOf('targetgroup/')),
    },
  },
  'AWS::ElasticLoadBalancingV2::Listener': {
    // `listener/app/<load balancer>/<id>/<listener id>`: under its load balancer's ARN.
    ref: listenerArn,
    attributes: { ListenerArn: listenerArn },
  },
  'AWS::EC2::VPC': {
    ref: (r) => `vpc-${stableSuffix(`${r.stackName}/${r.logicalId}`, 17, 'hex')}`,
    attributes: {
      VpcId: (r) => `vpc-${stableSuffix(`${r.stackName}/${r.logicalId}`, 17, 'hex')}`,
      CidrBlock: (r) => r.property('CidrBlock'),
    },
  },
  'AWS::ApiGatewayV2::Api': {
    ref: (r) => apiGatewayId(r, 10),
    attributes: {
      ApiId: (r) => apiGatewayId(r, 10),
      ApiEndpoint: (r) => `https://${apiGatewayId(r, 10)}.execute-api.${r.region}.${r.urlSuffix}`,
    },
  },
  'AWS::ApiGatewayV2::VpcLink': {
    ref: (r) => apiGatewayId(r, 6),
    attributes: { VpcLinkId: (r) => apiGatewayId(r, 6) },
  },
  'AWS::ApiGatewayV2::Integration': {
    ref: (r) => apiGatewayId(r, 7),
    attributes: { IntegrationId: (r) => apiGatewayId(r, 7) },
  },
  'AWS::ApiGatewayV2::Route': {
    ref: (r) => apiGatewayId(r, 7),
    attributes: { RouteId: (r) => apiGatewayId(r, 7) },
  },
};

/** `targetgroup/<name>/<id>`, its name the generated one when the template sets none (at most 32 characters). */
function targetGroupArn(r: ResourceIdentity): string {
  return arn(r, 'elasticloadbalancing', `targetgroup/${r.name}/${stableSuffix(r.logicalId, 16, 'hex')}`);
}

/** A listener's ARN: its load balancer's, `loadbalancer/` becoming `listener/`, and the listener's id. */
function listenerArn(r: ResourceIdentity): string {
  const loadBalancer = String(r.property('LoadBalancerArn'));
  return `${loadBalancer.replace(':loadbalancer/', ':listener/')}/${stableSuffix(`${r.stackName}/${r.logicalId}`, 16, 'hex')}`;
}

/** API Gateway ids: lowercase letters and digits (10 for an API, 7 for an integration or route, 6 for a VPC link). */
function apiGatewayId(r: ResourceIdentity, length: number): string {
  return stableSuffix(`${r.stackName}/${r.logicalId}`, length).toLowerCase();
}

/** `app/<name>/<id>`: an Application Load Balancer's full name (its ARN's resource part). */
function loadBalancerFullName(r: ResourceIdentity): string {
  return `app/${r.name}/${stableSuffix(r.logicalId, 16, 'hex')}`;
}

/**
 * The name CloudFormation gives a resource whose template sets none:
 * `<stack>-<logicalId>-<13 characters>`, cut to the type's length limit.
 */
export function generatedName(
  stackName: string,
  logicalId: string,
  options: { lowercase?: boolean; maxLength?: number } = {},
): string {
  const suffix = stableSuffix(`${stackName}/${logicalId}`, 13);
  const max = options.maxLength ?? 128;
  const stem = `${stackName}-${logicalId}`.slice(0, Math.max(1, max - suffix.length - 1));
  const name = `${stem}-${suffix}`;
  return options.lowercase ? name.toLowerCase() : name;
}
