/**
 * Creates on moto what `cdk deploy --all` would create for the synthesized templates, resource by
 * resource with the templates' names, shapes and values (evaluated by the sandbox's CloudFormation
 * evaluator, converted to SDK inputs by its converter). Only the resource types the production
 * adapters read or change are created, plus what moto needs to create them (VPC, subnets, launch
 * template, roles), and what the ECS agent does on AWS (each group instance registers as a
 * container instance). Everything else (IAM policies, log groups, API Gateway, Lambda functions,
 * CodeBuild, the ECR repository: no production call reads it, and moto's server answers the
 * SDK's ECR requests with an HTML page) is left out; the functions' environments are
 * read from the templates and given to the handlers, which run in this process.
 */
import {
  AutoScalingClient,
  CreateAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
} from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient, PutMetricAlarmCommand } from '@aws-sdk/client-cloudwatch';
import { CodePipelineClient, CreatePipelineCommand } from '@aws-sdk/client-codepipeline';
import {
  CreateClusterCommand,
  CreateServiceCommand,
  ECSClient,
  RegisterContainerInstanceCommand,
  RegisterTaskDefinitionCommand,
} from '@aws-sdk/client-ecs';
import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateBucketCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateStateMachineCommand, SFNClient } from '@aws-sdk/client-sfn';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import {
  AppEvaluator,
  customResourceCall,
  generatedName,
  type StackEvaluator,
  type StackTemplate,
  stableSuffix,
  toCreateAutoScalingGroup,
  toCreateBucket,
  toCreateCluster,
  toCreatePipeline,
  toCreateSecret,
  toCreateService,
  toCreateStateMachine,
  toPutMetricAlarm,
  toPutRule,
  toRegisterTaskDefinition,
} from '../../../sandbox/templates/index.ts';
import { setupClient } from './connect.ts';
import { type MotoAccount, queryCall, xmlValue } from './moto-api.ts';

/** The setup side of the account: what CloudFormation (and the ECS agent) would call. */
export function setupClients(account: MotoAccount) {
  return {
    autoScaling: setupClient(AutoScalingClient, account),
    cloudWatch: setupClient(CloudWatchClient, account),
    codePipeline: setupClient(CodePipelineClient, account),
    ecs: setupClient(ECSClient, account),
    eventBridge: setupClient(EventBridgeClient, account),
    s3: setupClient(S3Client, account),
    secretsManager: setupClient(SecretsManagerClient, account),
    sfn: setupClient(SFNClient, account),
    ssm: setupClient(SSMClient, account),
  };
}

export type SetupClients = ReturnType<typeof setupClients>;

export interface DeployedApp {
  readonly evaluator: AppEvaluator;
  readonly clients: SetupClients;
  /** A Lambda function's environment variables, as the template sets them (by logical id prefix). */
  functionEnvironment(stackName: string, logicalIdPrefix: string): Record<string, string>;
  /** The rules' patterns and names, by stack and logical id (`<stack>/<id>`). */
  readonly rules: Map<string, { name: string; pattern: Record<string, unknown> }>;
}

/** Reads every SSM-typed parameter of the templates from SSM now, as CloudFormation does at each deploy. */
export async function ssmValues(
  clients: SetupClients,
  stacks: readonly StackTemplate[],
): Promise<Map<string, string>> {
  const values = new Map<string, string>();
  for (const { template } of stacks) {
    for (const parameter of Object.values(template.Parameters ?? {})) {
      if (!parameter.Type.startsWith('AWS::SSM::Parameter::Value<')) continue;
      const name = String(parameter.Default);
      try {
        const out = await clients.ssm.send(new GetParameterCommand({ Name: name }));
        if (out.Parameter?.Value !== undefined) values.set(name, out.Parameter.Value);
      } catch (error) {
        if ((error as Error).name !== 'ParameterNotFound') throw error;
      }
    }
  }
  return values;
}

export function evaluatorFor(
  account: MotoAccount,
  stacks: readonly StackTemplate[],
  ssm: ReadonlyMap<string, string>,
): AppEvaluator {
  return new AppEvaluator(stacks, {
    accountId: account.accountId,
    region: account.region,
    ssmParameter: (name) => ssm.get(name),
  });
}

const typeOf = (stack: StackEvaluator, id: string) => stack.resource(id).Type;

/**
 * The types created, in an order where each comes after what it refers to (CloudFormation
 * orders by references; for these types this fixed order is the same).
 */
const CREATION_ORDER: readonly string[] = [
  'AWS::S3::Bucket',
  'AWS::SecretsManager::Secret',
  'AWS::IAM::Role',
  'AWS::StepFunctions::StateMachine',
  // Alert topics are rule targets and alarm actions.
  'AWS::SNS::Topic',
  'AWS::Events::Rule',
  'AWS::EC2::VPC',
  'AWS::EC2::Subnet',
  'AWS::EC2::LaunchTemplate',
  'AWS::AutoScaling::AutoScalingGroup',
  'AWS::ECS::Cluster',
  'AWS::ECS::TaskDefinition',
  'AWS::ECS::Service',
  'AWS::CloudWatch::Alarm',
  'AWS::CodePipeline::Pipeline',
  // AwsCustomResource calls (SSM parameters, a stage's first task count) come after what they change.
  'Custom::AWS',
];

/** AwsCustomResource's client -> the setup client and the SDK package with its command classes. */
const CUSTOM_RESOURCE_CLIENTS: Readonly<
  Record<string, { client: keyof SetupClients; sdk: () => Promise<object> }>
> = {
  SSMClient: { client: 'ssm', sdk: () => import('@aws-sdk/client-ssm') },
  ECSClient: { client: 'ecs', sdk: () => import('@aws-sdk/client-ecs') },
};

/** Creates every stack's resources in deployment order. */
export async function deployApp(
  account: MotoAccount,
  stacks: readonly StackTemplate[],
): Promise<DeployedApp> {
  const clients = setupClients(account);
  // Stacks are created one after another, so a stack's SSM parameters may come from the one before
  // (the control plane creates each stage's released-image parameter).
  const ssm = new Map<string, string>();
  const evaluator = evaluatorFor(account, stacks, ssm);
  const rules = new Map<string, { name: string; pattern: Record<string, unknown> }>();
  for (const { stackName } of stacks) {
    for (const [name, value] of await ssmValues(clients, stacks)) ssm.set(name, value);
    const stack = evaluator.stack(stackName);
    for (const type of CREATION_ORDER) {
      for (const id of stack.logicalIds(type)) await createResource(account, clients, stack, id, rules);
    }
  }
  return {
    evaluator,
    clients,
    rules,
    functionEnvironment(stackName, prefix) {
      const stack = evaluator.stack(stackName);
      const ids = stack.logicalIds('AWS::Lambda::Function').filter((id) => id.startsWith(prefix));
      if (ids.length !== 1) throw new Error(`${ids.length} functions of ${stackName} start with ${prefix}`);
      const variables = stack.property(ids[0] as string, 'Environment.Variables');
      return Object.fromEntries(Object.entries((variables ?? {}) as object).map(([k, v]) => [k, String(v)]));
    },
  };
}

async function createResource(
  account: MotoAccount,
  clients: SetupClients,
  stack: StackEvaluator,
  id: string,
  rules: DeployedApp['rules'],
): Promise<void> {
  const type = typeOf(stack, id);
  switch (type) {
    case 'AWS::S3::Bucket': {
      // Bucket names are global (on moto as on AWS). CloudFormation's generated names end in a
      // random suffix; here it comes from the account, so test files' accounts do not collide.
      let name = stack.ref(id);
      if (stack.property(id, 'BucketName') === undefined) {
        name = `${name.slice(0, -13)}${stableSuffix(`${account.accountId}/${stack.stackName}/${id}`, 13).toLowerCase()}`;
        stack.provide(id, {
          ref: name,
          attributes: { Arn: `arn:aws:s3:::${name}`, DomainName: `${name}.s3.amazonaws.com` },
        });
      }
      const { bucket, versioning } = toCreateBucket(name, stack.properties(id));
      await clients.s3.send(new CreateBucketCommand(bucket));
      if (versioning) await clients.s3.send(new PutBucketVersioningCommand(versioning));
      return;
    }
    case 'AWS::SecretsManager::Secret': {
      // The secret's name: its ARN without the six characters Secrets Manager appends.
      const name = (stack.ref(id).split(':secret:')[1] ?? id).slice(0, -7);
      const out = await clients.secretsManager.send(
        new CreateSecretCommand(toCreateSecret(name, stack.properties(id))),
      );
      stack.provide(id, { ref: out.ARN as string });
      return;
    }
    case 'Custom::AWS': {
      const call = customResourceCall(id, stack.properties(id));
      if (!call) return;
      const target = CUSTOM_RESOURCE_CLIENTS[call.clientName];
      const Command = target && ((await target.sdk()) as Record<string, unknown>)[call.commandName];
      if (!target || typeof Command !== 'function') {
        throw new Error(
          `Custom::AWS ${id}: ${call.clientName} ${call.commandName} is not modelled by the suite`,
        );
      }
      try {
        const client = clients[target.client] as { send(command: unknown): Promise<unknown> };
        await client.send(new (Command as new (input: unknown) => unknown)(call.input));
      } catch (error) {
        if (!new RegExp(call.ignoreErrorCodesMatching ?? '^$').test((error as Error).name)) throw error;
      }
      stack.provide(id, { ref: call.physicalResourceId.id ?? id });
      return;
    }
    case 'AWS::StepFunctions::StateMachine': {
      const out = await clients.sfn.send(
        new CreateStateMachineCommand(toCreateStateMachine(stack.properties(id))),
      );
      stack.provide(id, { ref: out.stateMachineArn as string });
      return;
    }
    case 'AWS::SNS::Topic': {
      const xml = await queryCall(account, 'sns', 'CreateTopic', { Name: stack.ref(id) });
      stack.provide(id, { ref: xmlValue(xml, 'TopicArn') });
      return;
    }
    case 'AWS::Events::Rule': {
      const name = stack.ref(id);
      const { rule, targets, pattern } = toPutRule(name, stack.properties(id));
      const out = await clients.eventBridge.send(new PutRuleCommand(rule));
      await clients.eventBridge.send(new PutTargetsCommand(targets));
      stack.provide(id, { attributes: { Arn: out.RuleArn } });
      // Keyed by stack too: every stage stack has rules of the same logical ids.
      if (pattern) rules.set(`${stack.stackName}/${id}`, { name, pattern });
      return;
    }
    case 'AWS::EC2::VPC': {
      const xml = await queryCall(account, 'ec2', 'CreateVpc', {
        CidrBlock: String(stack.property(id, 'CidrBlock')),
      });
      stack.provide(id, { ref: xmlValue(xml, 'vpcId') });
      return;
    }
    case 'AWS::EC2::Subnet': {
      const xml = await queryCall(account, 'ec2', 'CreateSubnet', {
        VpcId: String(stack.property(id, 'VpcId')),
        CidrBlock: String(stack.property(id, 'CidrBlock')),
        AvailabilityZone: String(stack.property(id, 'AvailabilityZone')),
      });
      stack.provide(id, { ref: xmlValue(xml, 'subnetId') });
      return;
    }
    case 'AWS::EC2::LaunchTemplate': {
      // What the group needs of it to launch instances: the image (from the ECS-optimized AMI's
      // public SSM parameter, as the template says) and the instance type.
      const xml = await queryCall(account, 'ec2', 'CreateLaunchTemplate', {
        LaunchTemplateName: String(
          stack.property(id, 'LaunchTemplateName') ?? generatedName(stack.stackName, id, { maxLength: 128 }),
        ),
        'LaunchTemplateData.ImageId': String(stack.property(id, 'LaunchTemplateData.ImageId')),
        'LaunchTemplateData.InstanceType': String(stack.property(id, 'LaunchTemplateData.InstanceType')),
      });
      stack.provide(id, {
        ref: xmlValue(xml, 'launchTemplateId'),
        attributes: { LatestVersionNumber: xmlValue(xml, 'latestVersionNumber') },
      });
      return;
    }
    case 'AWS::IAM::Role': {
      // Only CodePipeline checks its role on moto (it must exist and trust codepipeline).
      const trust = stack.property(id, 'AssumeRolePolicyDocument');
      if (!JSON.stringify(trust).includes('codepipeline.amazonaws.com')) return;
      const name = stack.ref(id);
      await queryCall(account, 'iam', 'CreateRole', {
        RoleName: name,
        AssumeRolePolicyDocument: JSON.stringify(trust),
      });
      return;
    }
    case 'AWS::AutoScaling::AutoScalingGroup': {
      await clients.autoScaling.send(
        new CreateAutoScalingGroupCommand(toCreateAutoScalingGroup(stack.properties(id))),
      );
      return;
    }
    case 'AWS::ECS::Cluster': {
      const name = stack.ref(id);
      await clients.ecs.send(new CreateClusterCommand(toCreateCluster(stack.properties(id))));
      // The ECS agent of each group instance registers it in the cluster (user data: ECS_CLUSTER=<name>).
      const groups = stack.logicalIds('AWS::AutoScaling::AutoScalingGroup').map((g) => stack.ref(g));
      const described = await clients.autoScaling.send(
        new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: groups }),
      );
      for (const instance of described.AutoScalingGroups?.flatMap((g) => g.Instances ?? []) ?? []) {
        await clients.ecs.send(
          new RegisterContainerInstanceCommand({
            cluster: name,
            instanceIdentityDocument: JSON.stringify({
              instanceId: instance.InstanceId,
              region: account.region,
            }),
          }),
        );
      }
      return;
    }
    case 'AWS::ECS::TaskDefinition': {
      const out = await clients.ecs.send(
        new RegisterTaskDefinitionCommand(toRegisterTaskDefinition(stack.properties(id))),
      );
      const arn = out.taskDefinition?.taskDefinitionArn as string;
      stack.provide(id, { ref: arn, attributes: { TaskDefinitionArn: arn } });
      return;
    }
    case 'AWS::ECS::Service': {
      await clients.ecs.send(new CreateServiceCommand(toCreateService(stack.properties(id))));
      return;
    }
    case 'AWS::CloudWatch::Alarm': {
      await clients.cloudWatch.send(new PutMetricAlarmCommand(toPutMetricAlarm(stack.properties(id))));
      return;
    }
    case 'AWS::CodePipeline::Pipeline': {
      await clients.codePipeline.send(new CreatePipelineCommand(toCreatePipeline(stack.properties(id))));
      return;
    }
    default:
      throw new Error(`${type} is not created by the suite (see CREATION_ORDER)`);
  }
}
