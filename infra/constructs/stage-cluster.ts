import { CfnCondition, CfnParameter, Duration, Fn, Stack, Validations } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as servicediscovery from 'aws-cdk-lib/aws-servicediscovery';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { type AppConfig, type StageConfig, stageEnvironment } from '#shared/config.ts';
import { type ResolvedEnvironment, secretSource, stackpilotVariables } from '#shared/environment.ts';
import { defaultHealthCheckCommand, healthCheckCommand } from '#shared/health.ts';
import { APP_CONTAINER_NAME, executionRoleName, stageNames, taskRoleName } from '#shared/naming.ts';
import {
  NO_RELEASE,
  PLACEHOLDER_HEALTH_CHECK_LABEL,
  PLACEHOLDER_IMAGE,
  PLACEHOLDER_LABEL,
  placeholderCommand,
} from '#shared/release/placeholder.ts';
import { acknowledge, acknowledgeCustomResourceProvider, wildcardAction, wildcardResource } from './nag.ts';

/** Bridge networking maps each task's container port to an ephemeral host port in this range. */
export const DYNAMIC_HOST_PORTS = ec2.Port.tcpRange(32768, 65535);

export interface StageClusterProps {
  readonly app: string;
  readonly stage: string;
  readonly appConfig: AppConfig;
  readonly stageConfig: StageConfig;
  readonly vpc: ec2.IVpc;
  /** The app's ECR repository: the tasks pull the released images from it. */
  readonly repository: ecr.IRepository;
  /**
   * The app's repository of preview images: the previews run in this cluster with the stage's
   * execution role, which then pulls from it too.
   * @default - no previews in this stage
   */
  readonly previewRepository?: ecr.IRepository;
  /** Registers the tasks in Cloud Map with SRV records (the standard tier's API Gateway finds them there). */
  readonly cloudMapNamespace?: servicediscovery.INamespace;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

/** Graviton families (`t4g`, `m7g`, `c6gn`, …) need the ARM64 ECS-optimized AMI. */
export function isArmInstanceType(instanceType: string): boolean {
  const attributes = /^[a-z-]+\d+([a-z-]*)\./.exec(instanceType)?.[1] ?? '';
  return attributes.includes('g') || instanceType.startsWith('a1.');
}

/**
 * The ECS cluster of one stage on EC2: an Auto Scaling group (launch template, ECS-optimized
 * Amazon Linux 2023 AMI from its SSM parameter, new instances protected from scale-in), an
 * ASG capacity provider without managed scaling (the `scale` state machine decides), and the
 * service (REPLICA, spread across AZs, circuit breaker with rollback, ECS Exec).
 *
 * Neither the service's desired count nor the group's desired capacity is in the template:
 * CloudFormation then uses a default on creation and leaves the live value alone on every
 * later update, so a `cdk deploy` never undoes what scaling did.
 */
export class StageCluster extends Construct {
  readonly cluster: ecs.Cluster;
  readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  readonly launchTemplate: ec2.LaunchTemplate;
  readonly instanceSecurityGroup: ec2.SecurityGroup;
  readonly taskDefinition: ecs.Ec2TaskDefinition;
  readonly service: ecs.Ec2Service;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: StageClusterProps) {
    super(scope, id);
    const { app, stage, appConfig, stageConfig, vpc } = props;
    const names = stageNames(app, stage);
    const resolved = stageEnvironment({ app, stage, appConfig, stageConfig });

    this.cluster = new ecs.Cluster(this, 'Cluster', { clusterName: names.cluster, vpc });
    Validations.of(this.cluster).acknowledge({
      id: 'AwsSolutions-ECS4',
      reason:
        'Container Insights bills custom metrics per task and container; the CPU alarms use the free AWS/ECS metrics. Enable it per cluster when needed.',
    });

    this.instanceSecurityGroup = new ec2.SecurityGroup(this, 'InstanceSecurityGroup', {
      vpc,
      description: `stackpilot ${app}/${stage}: container instances, reachable only from the front door`,
      // Instances pull images and ship logs through the internet gateway (no NAT, no endpoints).
      allowAllOutbound: true,
    });

    const arm = isArmInstanceType(stageConfig.instanceType);
    const instanceRole = new iam.Role(this, 'InstanceRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: `stackpilot ${app}/${stage}: ECS container instances`,
    });
    // An explicit launch template (a launch configuration is deprecated and lacks IMDSv2 settings).
    this.launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      instanceType: new ec2.InstanceType(stageConfig.instanceType),
      // Resolved from the public SSM parameter at deploy time: new instances get the latest ECS AMI.
      machineImage: ecs.EcsOptimizedImage.amazonLinux2023(
        arm ? ecs.AmiHardwareType.ARM : ecs.AmiHardwareType.STANDARD,
      ),
      // The cluster appends its ECS_CLUSTER line to this.
      userData: ec2.UserData.forLinux(),
      role: instanceRole,
      securityGroup: this.instanceSecurityGroup,
      associatePublicIpAddress: true,
      requireImdsv2: true,
      // One hop: the instance reaches IMDS, containers on the docker bridge do not (they use their task role).
      httpPutResponseHopLimit: 1,
      blockDevices: [
        {
          deviceName: '/dev/xvda',
          volume: ec2.BlockDeviceVolume.ebs(30, { volumeType: ec2.EbsDeviceVolumeType.GP3, encrypted: true }),
        },
      ],
    });
    this.autoScalingGroup = new autoscaling.AutoScalingGroup(this, 'Instances', {
      autoScalingGroupName: names.autoScalingGroup,
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      launchTemplate: this.launchTemplate,
      minCapacity: stageConfig.instances.min,
      maxCapacity: stageConfig.instances.max,
      // No desiredCapacity: CloudFormation starts at minCapacity and never resets the live value.
      newInstancesProtectedFromScaleIn: true,
    });
    Validations.of(this.autoScalingGroup).acknowledge(
      {
        id: 'AwsSolutions-AS1',
        reason:
          'Replacement of unhealthy instances is ECS work here: the service replaces failed tasks and the ALB health check judges tasks, not instances.',
      },
      {
        id: 'AwsSolutions-AS2',
        reason:
          'Capacity changes are made by the scale state machine, whose execution history records each one; SNS notifications would duplicate it.',
      },
      {
        id: 'AwsSolutions-AS3',
        reason: 'Scaling events are recorded by the scale state machine executions (see AS2).',
      },
    );

    const capacityProvider = new ecs.AsgCapacityProvider(this, 'CapacityProvider', {
      autoScalingGroup: this.autoScalingGroup,
      // The scale state machine changes capacity and chooses which instance leaves.
      enableManagedScaling: false,
      enableManagedTerminationProtection: false,
      machineImageType: ecs.MachineImageType.AMAZON_LINUX_2,
      // ECS drains an instance the group terminates (also the terminations the scale state machine
      // does not start, such as AZ rebalancing), with no drain-hook Lambda of our own.
      enableManagedDraining: true,
    });
    this.cluster.addAsgCapacityProvider(capacityProvider);
    // A launch-template group exposes no security group of its own: give the cluster (and so the
    // service's connections, which the load balancer's target registration opens) the instances' group.
    this.cluster.connections.addSecurityGroup(this.instanceSecurityGroup);
    acknowledge(
      instanceRole,
      'The ECS agent policy CDK gives container instances: ecs:Submit* (task and container state of this agent) and ecs:DiscoverPollEndpoint, ecr:GetAuthorizationToken, logs:CreateLogStream have no narrower resource.',
      wildcardAction('ecs:Submit*'),
      wildcardResource('*'),
    );

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    });

    // Fixed role names: the release workflow may pass exactly these roles (iam:PassRole) when
    // it registers a new revision, without a cross-stack reference.
    const taskRole = new iam.Role(this, 'TaskRole', {
      roleName: taskRoleName(app, stage),
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: `stackpilot: the tasks of ${app}/${stage}`,
    });
    const executionRole = new iam.Role(this, 'ExecutionRole', {
      roleName: executionRoleName(app, stage),
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: `stackpilot: ECS pulling images and writing logs for ${app}/${stage}`,
    });
    // The placeholder is public; every released image comes from the app's repository (a
    // preview's from the previews' one), and ECS pulls it with the execution role (the instance
    // role has no ECR read).
    props.repository.grantPull(executionRole);
    props.previewRepository?.grantPull(executionRole);
    acknowledge(
      executionRole,
      'ecr:GetAuthorizationToken has no resource-level permissions; the image reads name the app repositories.',
      wildcardResource('*'),
    );
    this.taskDefinition = new ecs.Ec2TaskDefinition(this, 'TaskDefinition', {
      family: names.taskFamily,
      taskRole,
      executionRole,
      // Bridge mode with dynamic host ports packs several tasks on one small instance
      // (awsvpc would need one ENI per task, and a t3.micro has room for one).
      networkMode: ecs.NetworkMode.BRIDGE,
    });
    this.taskDefinition.addContainer(APP_CONTAINER_NAME, {
      // Rendered below from the released-image parameter: the placeholder until the first release.
      image: ecs.ContainerImage.fromRegistry(PLACEHOLDER_IMAGE),
      cpu: appConfig.cpu,
      memoryLimitMiB: appConfig.memory,
      essential: true,
      portMappings: [{ containerPort: appConfig.containerPort, hostPort: 0, protocol: ecs.Protocol.TCP }],
      // stackpilot's own variables last: the schema refuses their names, this keeps them even so.
      environment: { ...resolved.environment, ...stackpilotVariables(app, stage, appConfig.containerPort) },
      logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: stage }),
      // An init process reaps the zombies of `aws ecs execute-command` sessions.
      linuxParameters: new ecs.LinuxParameters(this, 'LinuxParameters', { initProcessEnabled: true }),
      // ECS replaces a task that fails it, and the circuit breaker fails a rollout whose new tasks
      // keep failing it: the one health signal of the standard tier, which has no load balancer.
      healthCheck: appConfig.healthCheck.enabled
        ? {
            command: defaultHealthCheckCommand(appConfig.containerPort, appConfig.healthCheckPath),
            interval: Duration.seconds(appConfig.healthCheck.intervalSeconds),
            timeout: Duration.seconds(appConfig.healthCheck.timeoutSeconds),
            retries: appConfig.healthCheck.retries,
            startPeriod: Duration.seconds(appConfig.healthCheck.startPeriodSeconds),
          }
        : undefined,
    });
    this.renderSecrets(resolved, executionRole);
    const appHealthCheck =
      appConfig.healthCheck.enabled && appConfig.healthCheck.command
        ? healthCheckCommand(appConfig.healthCheck, appConfig.containerPort, appConfig.healthCheckPath)
        : undefined;
    this.renderAppImage(
      names.releasedImageParameter,
      placeholderCommand(app, stage, appConfig.containerPort, appConfig.healthCheckPath),
      appHealthCheck && {
        app: appHealthCheck,
        placeholder: defaultHealthCheckCommand(appConfig.containerPort, appConfig.healthCheckPath),
      },
    );

    this.service = new ecs.Ec2Service(this, 'Service', {
      serviceName: names.service,
      cluster: this.cluster,
      taskDefinition: this.taskDefinition,
      // No desiredCount: see the class comment.
      minHealthyPercent: stageConfig.deployment.minHealthyPercent,
      maxHealthyPercent: stageConfig.deployment.maxPercent,
      circuitBreaker: { enable: true, rollback: true },
      enableExecuteCommand: true,
      placementStrategies: [
        ecs.PlacementStrategy.spreadAcross(ecs.BuiltInAttributes.AVAILABILITY_ZONE),
        ecs.PlacementStrategy.spreadAcrossInstances(),
      ],
      cloudMapOptions: props.cloudMapNamespace
        ? {
            cloudMapNamespace: props.cloudMapNamespace,
            name: 'app',
            // SRV records carry the dynamic host port; API Gateway reads IP and port from them.
            dnsRecordType: servicediscovery.DnsRecordType.SRV,
            dnsTtl: Duration.seconds(10),
            container: this.taskDefinition.defaultContainer,
            containerPort: appConfig.containerPort,
          }
        : undefined,
    });
    acknowledge(
      this.taskDefinition.taskRole,
      'ECS Exec needs ssmmessages:CreateControlChannel/CreateDataChannel/OpenControlChannel/OpenDataChannel, which have no resource-level permissions.',
      wildcardResource('*'),
    );
    Validations.of(this.taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason:
        'Plain variables hold the port, the stage name and the values the configuration declares as not secret; secrets reach the container through the task definition secrets (Secrets Manager, SSM), never as plain variables.',
    });

    if (stageConfig.tasks.min !== 1) this.setInitialDesiredCount(stageConfig.tasks.min);
  }

  /**
   * The container's `secrets`: ECS reads each when it starts a task, with the execution role,
   * which may read exactly those secrets and parameters (one action each) and nothing else.
   * Only references are in the template; the values never pass through CloudFormation, the
   * release or its executions (a release copies the revision, references included).
   */
  private renderSecrets(resolved: ResolvedEnvironment, executionRole: iam.IRole): void {
    const stack = Stack.of(this);
    const scope = { partition: stack.partition, region: stack.region, account: stack.account };
    const entries = Object.entries(resolved.secrets).map(([name, ref]) => ({
      name,
      ...secretSource(ref, scope),
    }));
    if (entries.length === 0) return;
    const cfn = this.taskDefinition.node.defaultChild as ecs.CfnTaskDefinition;
    cfn.addPropertyOverride(
      'ContainerDefinitions.0.Secrets',
      entries.map((e) => ({ Name: e.name, ValueFrom: e.valueFrom })),
    );
    for (const action of ['secretsmanager:GetSecretValue', 'ssm:GetParameters'] as const) {
      const resources = [...new Set(entries.filter((e) => e.action === action).map((e) => e.resourceArn))];
      if (resources.length > 0)
        executionRole.addToPrincipalPolicy(new iam.PolicyStatement({ actions: [action], resources }));
    }
  }

  /**
   * The app container's image is the one the stage released last, read from its SSM parameter
   * at every deploy (a CloudFormation parameter of type `AWS::SSM::Parameter::Value<String>`).
   * Before the first release the parameter says {@link NO_RELEASE} and the container is the
   * placeholder: BusyBox with its command and label. After it, a deploy that changes the task
   * definition (cpu, port, health check path…) registers a revision that runs the released
   * image with the new settings: `cdk deploy` never rolls a release back.
   */
  private renderAppImage(
    parameterName: string,
    command: string[],
    healthChecks?: { app: string[]; placeholder: string[] },
  ): void {
    const released = new CfnParameter(Stack.of(this), 'ReleasedImage', {
      type: 'AWS::SSM::Parameter::Value<String>',
      default: parameterName,
      description: `The image this stage released last (${NO_RELEASE} before the first release), written by the release state machine.`,
    });
    const hasRelease = new CfnCondition(Stack.of(this), 'HasRelease', {
      expression: Fn.conditionNot(Fn.conditionEquals(released.valueAsString, NO_RELEASE)),
    });
    const cfn = this.taskDefinition.node.defaultChild as ecs.CfnTaskDefinition;
    // The app's container is the task definition's only one.
    const path = 'ContainerDefinitions.0';
    const noValue = Fn.ref('AWS::NoValue');
    cfn.addPropertyOverride(
      `${path}.Image`,
      Fn.conditionIf(hasRelease.logicalId, released.valueAsString, PLACEHOLDER_IMAGE),
    );
    cfn.addPropertyOverride(`${path}.Command`, Fn.conditionIf(hasRelease.logicalId, noValue, command));
    // BusyBox answers the default HTTP check, not the app's own command: the placeholder runs the
    // default check and carries the app's command in a label for the first release to restore.
    const labels: Record<string, string> = { [PLACEHOLDER_LABEL]: 'true' };
    if (healthChecks) {
      labels[PLACEHOLDER_HEALTH_CHECK_LABEL] = JSON.stringify(healthChecks.app);
      cfn.addPropertyOverride(
        `${path}.HealthCheck.Command`,
        Fn.conditionIf(hasRelease.logicalId, healthChecks.app, healthChecks.placeholder),
      );
    }
    cfn.addPropertyOverride(`${path}.DockerLabels`, Fn.conditionIf(hasRelease.logicalId, noValue, labels));
  }

  /**
   * CloudFormation creates the service with one task when no desired count is given. A
   * stage whose minimum is not one gets its minimum once, right after creation, by a custom
   * resource with no update handler: later deploys never touch the count again.
   */
  private setInitialDesiredCount(count: number): void {
    const initial = new cr.AwsCustomResource(this, 'InitialDesiredCount', {
      onCreate: {
        service: 'ECS',
        action: 'updateService',
        parameters: {
          cluster: this.cluster.clusterName,
          service: this.service.serviceName,
          desiredCount: count,
        },
        physicalResourceId: cr.PhysicalResourceId.of(`${this.service.serviceName}-initial-desired-count`),
      },
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({ actions: ['ecs:UpdateService'], resources: [this.service.serviceArn] }),
      ]),
      installLatestAwsSdk: false,
    });
    initial.node.addDependency(this.service);
    acknowledgeCustomResourceProvider(this);
  }
}
