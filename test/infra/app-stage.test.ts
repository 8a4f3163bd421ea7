import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { buildApp } from '../../infra/app.ts';
import { isArmInstanceType } from '../../infra/constructs/stage-cluster.ts';
import { DEFAULT_BUILDSPEC_PATH } from '../../infra/constructs/stage-pipeline.ts';
import { AppStageStack, appStageStackId } from '../../infra/stacks/app-stage-stack.ts';
import { allStages, ConfigError, parseConfig } from '../../shared/config.ts';
import { loadConfigFile } from '../../shared/config-file.ts';
import {
  ecrRepositoryName,
  executionRoleName,
  stageNames,
  stateMachineName,
  taskRoleName,
} from '../../shared/naming.ts';
import { NO_RELEASE, PLACEHOLDER_IMAGE, placeholderCommand } from '../../shared/release/placeholder.ts';
import { synthApp } from './support.ts';

const dev = stageNames('starter', 'dev');
const prod = stageNames('starter', 'prod');

describe('app stage stacks (example stackpilot.yml: starter/dev standard, starter/prod hyperscale)', () => {
  let synth: ReturnType<typeof synthApp>;
  let devTemplate: Template;
  let prodTemplate: Template;
  let repositoryTemplate: Template;

  beforeAll(() => {
    synth = synthApp();
    const byName = (name: string) => {
      const stack = synth.stages.find((s) => s.stackName === name);
      if (!stack) throw new Error(`no stack ${name}`);
      return Template.fromStack(stack);
    };
    devTemplate = byName('Stackpilot-starter-dev');
    prodTemplate = byName('Stackpilot-starter-prod');
    const repository = synth.repositories[0];
    if (!repository) throw new Error('no repository stack');
    repositoryTemplate = Template.fromStack(repository);
    // The whole app: the control plane bundles every function with esbuild, which takes minutes on a busy machine.
  }, 600_000);

  it('creates one stack per stage, named Stackpilot-<app>-<stage>, and one repository stack per app', () => {
    expect(synth.stages.map((s) => s.stackName)).toEqual([
      'Stackpilot-starter-dev',
      'Stackpilot-starter-prod',
    ]);
    expect(synth.repositories.map((s) => s.stackName)).toEqual(['StackpilotRepository-starter']);
    for (const stage of synth.stages) {
      expect(stage.dependencies.map((d) => d.stackName).sort()).toEqual([
        'StackpilotControlPlane',
        'StackpilotRepository-starter',
      ]);
    }
  });

  it('keeps images in one scanned ECR repository per app with a keep-the-last-N lifecycle rule', () => {
    repositoryTemplate.hasResourceProperties('AWS::ECR::Repository', {
      RepositoryName: ecrRepositoryName('starter'),
      ImageScanningConfiguration: { ScanOnPush: true },
      LifecyclePolicy: {
        LifecyclePolicyText: Match.serializedJson(
          Match.objectLike({
            rules: [
              Match.objectLike({
                selection: Match.objectLike({ countType: 'imageCountMoreThan', countNumber: 20 }),
              }),
            ],
          }),
        ),
      },
    });
    repositoryTemplate.hasResource('AWS::ECR::Repository', { DeletionPolicy: 'Retain' });
  });

  it('builds a VPC over two AZs with public subnets only and no NAT gateway', () => {
    devTemplate.resourceCountIs('AWS::EC2::NatGateway', 0);
    devTemplate.resourceCountIs('AWS::EC2::Subnet', 2);
    devTemplate.hasResourceProperties('AWS::EC2::Subnet', { MapPublicIpOnLaunch: true });
    devTemplate.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'REJECT' });
  });

  it('runs instances from a launch template with the ECS-optimized AL2023 AMI from SSM, IMDSv2 and encrypted gp3', () => {
    devTemplate.resourceCountIs('AWS::AutoScaling::LaunchConfiguration', 0);
    devTemplate.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        InstanceType: 't3.micro',
        ImageId: { Ref: Match.stringLikeRegexp('ecsoptimizedamiamazonlinux2023recommendedimageid') },
        MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1 },
        NetworkInterfaces: [Match.objectLike({ AssociatePublicIpAddress: true })],
        BlockDeviceMappings: [
          Match.objectLike({ Ebs: { Encrypted: true, VolumeSize: 30, VolumeType: 'gp3' } }),
        ],
      }),
    });
    expect(Object.keys(devTemplate.toJSON().Parameters)).toEqual(
      expect.arrayContaining([expect.stringMatching(/ecsoptimizedamiamazonlinux2023/)]),
    );
    prodTemplate.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({ InstanceType: 't3.small' }),
    });
  });

  it('sizes the Auto Scaling group from config, protects new instances from scale-in and leaves desired capacity out', () => {
    devTemplate.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      AutoScalingGroupName: dev.autoScalingGroup,
      MinSize: '1',
      MaxSize: '3',
      NewInstancesProtectedFromScaleIn: true,
      LaunchTemplate: Match.objectLike({ LaunchTemplateId: Match.anyValue() }),
      DesiredCapacity: Match.absent(),
    });
    prodTemplate.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      AutoScalingGroupName: prod.autoScalingGroup,
      MinSize: '2',
      MaxSize: '6',
      DesiredCapacity: Match.absent(),
    });
  });

  it('registers the group as a capacity provider without managed scaling or managed termination protection', () => {
    devTemplate.hasResourceProperties('AWS::ECS::CapacityProvider', {
      AutoScalingGroupProvider: Match.objectLike({
        ManagedTerminationProtection: 'DISABLED',
        ManagedScaling: Match.absent(),
        ManagedDraining: 'ENABLED',
      }),
    });
    devTemplate.hasResourceProperties('AWS::ECS::Cluster', { ClusterName: dev.cluster });
    devTemplate.resourceCountIs('AWS::ECS::ClusterCapacityProviderAssociations', 1);
  });

  it('runs the service on EC2 (REPLICA, spread across AZs) with circuit-breaker rollback, config percentages and ECS Exec', () => {
    devTemplate.hasResourceProperties('AWS::ECS::Service', {
      ServiceName: dev.service,
      LaunchType: 'EC2',
      SchedulingStrategy: 'REPLICA',
      EnableExecuteCommand: true,
      DeploymentConfiguration: Match.objectLike({
        DeploymentCircuitBreaker: { Enable: true, Rollback: true },
        MinimumHealthyPercent: 100,
        MaximumPercent: 200,
      }),
      PlacementStrategies: [
        { Type: 'spread', Field: 'attribute:ecs.availability-zone' },
        { Type: 'spread', Field: 'instanceId' },
      ],
    });
  });

  it('leaves the desired count out of the template, so a later deploy never resets what scaling set', () => {
    for (const template of [devTemplate, prodTemplate]) {
      template.hasResourceProperties('AWS::ECS::Service', { DesiredCount: Match.absent() });
    }
    // dev starts at CloudFormation's default of one task, its minimum: nothing else to do.
    devTemplate.resourceCountIs('Custom::AWS', 0);
    // prod's minimum is two: set once, on creation only.
    const custom = Object.values(prodTemplate.findResources('Custom::AWS'));
    expect(custom).toHaveLength(1);
    const properties = custom[0]?.Properties as Record<string, unknown>;
    expect(properties.Update).toBeUndefined();
    expect(properties.Delete).toBeUndefined();
    expect(JSON.stringify(properties.Create)).toMatch(/updateService.*desiredCount\\":2/);
  });

  it('defines the task family with the app container (bridge networking, dynamic host port, logs with retention)', () => {
    devTemplate.hasResourceProperties('AWS::ECS::TaskDefinition', {
      Family: dev.taskFamily,
      NetworkMode: 'bridge',
      ContainerDefinitions: [
        Match.objectLike({
          Name: 'app',
          Cpu: 256,
          Memory: 256,
          Essential: true,
          PortMappings: [{ ContainerPort: 8080, HostPort: 0, Protocol: 'tcp' }],
          LogConfiguration: Match.objectLike({ LogDriver: 'awslogs' }),
          LinuxParameters: { InitProcessEnabled: true },
        }),
      ],
    });
    devTemplate.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('runs the image the stage released last, resolved from its SSM parameter at every deploy, and the placeholder before that', () => {
    devTemplate.hasParameter('ReleasedImage', {
      Type: 'AWS::SSM::Parameter::Value<String>',
      Default: dev.releasedImageParameter,
    });
    devTemplate.hasCondition('HasRelease', {
      'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'ReleasedImage' }, NO_RELEASE] }],
    });
    const ifReleased = (then: unknown, otherwise: unknown) => ({ 'Fn::If': ['HasRelease', then, otherwise] });
    devTemplate.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [
        Match.objectLike({
          Name: 'app',
          Image: ifReleased({ Ref: 'ReleasedImage' }, PLACEHOLDER_IMAGE),
          Command: ifReleased({ Ref: 'AWS::NoValue' }, placeholderCommand('starter', 'dev', 8080, '/health')),
          DockerLabels: ifReleased({ Ref: 'AWS::NoValue' }, { 'stackpilot.placeholder': 'true' }),
        }),
      ],
    });
  });

  it('gives the tasks fixed-name task and execution roles, the only roles the release may pass', () => {
    devTemplate.hasResourceProperties('AWS::IAM::Role', { RoleName: taskRoleName('starter', 'dev') });
    devTemplate.hasResourceProperties('AWS::IAM::Role', { RoleName: executionRoleName('starter', 'dev') });
    const [taskDefinition] = Object.values(devTemplate.findResources('AWS::ECS::TaskDefinition'));
    const roles = devTemplate.findResources('AWS::IAM::Role');
    const roleName = (ref: { 'Fn::GetAtt': [string] }) => roles[ref['Fn::GetAtt'][0]]?.Properties.RoleName;
    expect(roleName(taskDefinition?.Properties.TaskRoleArn)).toBe('stackpilot-starter-dev-task');
    expect(roleName(taskDefinition?.Properties.ExecutionRoleArn)).toBe('stackpilot-starter-dev-execution');
  });

  it('lets the execution role pull the released images from the app repository (the placeholder is public)', () => {
    const roles = devTemplate.findResources('AWS::IAM::Role', {
      Properties: { RoleName: executionRoleName('starter', 'dev') },
    });
    const [executionRole] = Object.keys(roles);
    const policy = Object.values(devTemplate.findResources('AWS::IAM::Policy')).find((p) =>
      p.Properties.Roles.some((r: { Ref: string }) => r.Ref === executionRole),
    );
    const statements = policy?.Properties.PolicyDocument.Statement as {
      Action: unknown;
      Resource: unknown;
    }[];
    const pull = statements.find((s) => [s.Action].flat().includes('ecr:BatchGetImage'));
    expect([pull?.Action].flat()).toEqual(
      expect.arrayContaining(['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer']),
    );
    expect(JSON.stringify(pull?.Resource)).toContain(':repository/stackpilot/starter');
  });

  it('serves the standard tier through an HTTP API, a VPC link and Cloud Map SRV records, with throttling and access logs', () => {
    devTemplate.resourceCountIs('AWS::ElasticLoadBalancingV2::LoadBalancer', 0);
    devTemplate.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' });
    devTemplate.hasResourceProperties('AWS::ServiceDiscovery::Service', {
      DnsConfig: Match.objectLike({ DnsRecords: [Match.objectLike({ Type: 'SRV' })] }),
    });
    devTemplate.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      ConnectionType: 'VPC_LINK',
      IntegrationType: 'HTTP_PROXY',
      IntegrationUri: { 'Fn::GetAtt': [Match.stringLikeRegexp('Cloudmap'), 'Arn'] },
    });
    devTemplate.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 1000, ThrottlingBurstLimit: 2000 },
      AccessLogSettings: Match.objectLike({ DestinationArn: Match.anyValue() }),
    });
    devTemplate.hasResourceProperties('AWS::ECS::Service', {
      ServiceRegistries: [Match.objectLike({ ContainerName: 'app', ContainerPort: 8080 })],
    });
  });

  it('admits only the front door to the instances', () => {
    for (const template of [devTemplate, prodTemplate]) {
      const ingress = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress'));
      expect(ingress.length).toBeGreaterThan(0);
      for (const rule of ingress) {
        expect(rule.Properties).toMatchObject({ IpProtocol: 'tcp', FromPort: 32768, ToPort: 65535 });
        expect(rule.Properties.SourceSecurityGroupId).toBeDefined();
        expect(rule.Properties.CidrIp).toBeUndefined();
      }
      template.hasResourceProperties('AWS::EC2::SecurityGroup', {
        GroupDescription: Match.stringLikeRegexp('container instances'),
        SecurityGroupIngress: Match.absent(),
      });
    }
  });

  it('serves the hyperscale tier through an internet-facing ALB health checked on the configured path', () => {
    prodTemplate.resourceCountIs('AWS::ApiGatewayV2::Api', 0);
    prodTemplate.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Scheme: 'internet-facing',
      Type: 'application',
    });
    prodTemplate.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      HealthCheckPath: '/health',
      TargetType: 'instance',
    });
    prodTemplate.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 80,
      Protocol: 'HTTP',
    });
    prodTemplate.hasResourceProperties('AWS::ECS::Service', {
      LoadBalancers: [Match.objectLike({ ContainerName: 'app', ContainerPort: 8080 })],
    });
  });

  it('builds with a V2 pipeline that supersedes, starts from the source zip without polling, and declares COMMIT and DELIVERY_ID', () => {
    devTemplate.hasResourceProperties('AWS::CodePipeline::Pipeline', {
      Name: dev.pipeline,
      PipelineType: 'V2',
      ExecutionMode: 'SUPERSEDED',
      Variables: [Match.objectLike({ Name: 'COMMIT' }), Match.objectLike({ Name: 'DELIVERY_ID' })],
      Stages: [
        Match.objectLike({
          Name: 'Source',
          Actions: [
            Match.objectLike({
              Name: 'Source',
              ActionTypeId: Match.objectLike({ Provider: 'S3' }),
              Configuration: Match.objectLike({ S3ObjectKey: dev.sourceKey, PollForSourceChanges: false }),
            }),
          ],
        }),
        Match.objectLike({
          Name: 'Build',
          Actions: [
            Match.objectLike({
              Namespace: 'Build',
              ActionTypeId: Match.objectLike({ Provider: 'CodeBuild' }),
            }),
          ],
        }),
        Match.objectLike({
          Name: 'Release',
          Actions: [
            Match.objectLike({
              ActionTypeId: Match.objectLike({ Provider: 'StepFunctions' }),
              Configuration: Match.objectLike({
                StateMachineArn: Match.anyValue(),
                InputType: 'Literal',
                Input: JSON.stringify({
                  app: 'starter',
                  stage: 'dev',
                  image: '#{Build.IMAGE_URI}',
                  commit: '#{Build.COMMIT}',
                }),
              }),
            }),
          ],
        }),
      ],
    });
    // No S3 event rule or CloudTrail trail starts it: the deploy state machine does. (The
    // stage's rules are its alerts', whose only target is the alert topic.)
    const rules = Object.values(devTemplate.findResources('AWS::Events::Rule')).map((r) => JSON.stringify(r));
    expect(rules.filter((r) => r.includes('aws.s3') || r.includes('codepipeline'))).toEqual([]);
  });

  it('invokes the release state machine by its fixed name, not by a cross-stack reference', () => {
    const pipeline = Object.values(devTemplate.findResources('AWS::CodePipeline::Pipeline'))[0];
    const release = JSON.stringify(pipeline?.Properties.Stages[2]);
    expect(release).toContain(`:stateMachine:${stateMachineName('release')}`);
    expect(release).not.toContain('Fn::ImportValue');
  });

  it('builds in privileged CodeBuild with the TinyStacks variables and the default buildspec', () => {
    devTemplate.hasResourceProperties('AWS::CodeBuild::Project', {
      Environment: Match.objectLike({
        PrivilegedMode: true,
        EnvironmentVariables: Match.arrayWith(
          ['ECR_ENDPOINT', 'ECR_IMAGE_URL', 'AWS_REGION', 'S3_BUCKET', 'DOCKERFILE_PATH'].map((name) =>
            Match.objectLike({ Name: name }),
          ),
        ),
      }),
      Source: Match.objectLike({ Type: 'CODEPIPELINE', BuildSpec: Match.stringLikeRegexp('build\\.yml') }),
    });
    devTemplate.hasResourceProperties('AWS::CodeBuild::Project', {
      Environment: Match.objectLike({
        EnvironmentVariables: Match.arrayWith([
          { Name: 'DOCKERFILE_PATH', Type: 'PLAINTEXT', Value: 'Dockerfile' },
        ]),
      }),
    });
  });

  it('names four CPU alarms so the scale state machine can map them, with thresholds and periods from config and no actions', () => {
    const expected = [
      {
        name: dev.alarm('service', 'out'),
        threshold: 75,
        period: 60,
        op: 'GreaterThanThreshold',
        service: true,
      },
      { name: dev.alarm('service', 'in'), threshold: 20, period: 60, op: 'LessThanThreshold', service: true },
    ];
    // The four scaling alarms and the 5xx-rate alarm of the bake window (test/infra/health.test.ts).
    devTemplate.resourceCountIs('AWS::CloudWatch::Alarm', 5);
    for (const alarm of expected) {
      devTemplate.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: alarm.name,
        Namespace: 'AWS/ECS',
        MetricName: 'CPUUtilization',
        Statistic: 'Average',
        Threshold: alarm.threshold,
        Period: alarm.period,
        ComparisonOperator: alarm.op,
        AlarmActions: Match.absent(),
        Dimensions: Match.arrayWith([{ Name: 'ServiceName', Value: dev.service }]),
      });
    }
    // The cluster's default `reservation` policy: the higher of CPU and memory reservation.
    const reservation = (metricName: string, id: string) => ({
      Id: id,
      ReturnData: false,
      MetricStat: {
        Metric: {
          Namespace: 'AWS/ECS',
          MetricName: metricName,
          Dimensions: [{ Name: 'ClusterName', Value: dev.cluster }],
        },
        Period: 300,
        Stat: 'Average',
      },
    });
    for (const [direction, threshold, op] of [
      ['out', 90, 'GreaterThanThreshold'],
      ['in', 40, 'LessThanThreshold'],
    ] as const) {
      devTemplate.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: dev.alarm('cluster', direction),
        Threshold: threshold,
        ComparisonOperator: op,
        EvaluationPeriods: 1,
        MetricName: Match.absent(),
        Metrics: Match.arrayWith([
          Match.objectLike({ Expression: 'MAX([cpu, memory])', ReturnData: true }),
          reservation('CPUReservation', 'cpu'),
          reservation('MemoryReservation', 'memory'),
        ]),
      });
    }
    expect(dev.alarm('cluster', 'out')).toBe('stackpilot-starter-dev-cluster-cpu-high');
  });

  it('outputs the URL, names, repository and the exact ECS Exec command', () => {
    const outputs = devTemplate.toJSON().Outputs as Record<string, { Value: unknown }>;
    const values = Object.fromEntries(
      Object.entries(outputs).map(([key, output]) => [
        key.replace(/^Stage|[0-9A-F]{8}$/g, ''),
        JSON.stringify(output.Value),
      ]),
    );
    expect(values.ServiceUrl).toContain('ApiEndpoint');
    expect(values.ClusterName).toBe(JSON.stringify(dev.cluster));
    expect(values.ServiceName).toBe(JSON.stringify(dev.service));
    expect(values.PipelineName).toBe(JSON.stringify(dev.pipeline));
    expect(values.EcrRepositoryUri).toContain('/stackpilot/starter');
    expect(values.ExecCommand).toContain(
      ' --cluster stackpilot-starter-dev --task <task-id> --container app --interactive --command /bin/sh',
    );
    expect(values.ListTasksCommand).toContain('aws ecs list-tasks --region ');
    const prodUrl = JSON.stringify(
      Object.entries(prodTemplate.toJSON().Outputs as Record<string, { Value: unknown }>).find(([k]) =>
        k.startsWith('StageServiceUrl'),
      )?.[1].Value,
    );
    expect(prodUrl).toContain('http://');
    expect(prodUrl).toContain('DNSName');
  });

  it('passes cdk-nag AwsSolutions with every acknowledgement justified in code', () => {
    expect(synth.nagFindings).toEqual([]);
  });
});

describe('hyperscale with a certificate', () => {
  it('listens on HTTPS with the certificate and redirects HTTP to it', () => {
    const config = parseConfig({
      apps: {
        shop: {
          repository: { provider: 'gitlab', url: 'https://gitlab.com/acme/shop.git' },
          healthCheckPath: '/ready',
          stages: {
            live: {
              branch: 'main',
              scale: 'hyperscale',
              certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc',
            },
          },
        },
      },
    });
    // The stage stack alone (no control plane): it refers to the source bucket and the release state machine by name.
    const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'stackpilot-synth-')) });
    const [ref] = allStages(config);
    if (!ref) throw new Error('no stage');
    const stack = new AppStageStack(app, appStageStackId(ref.app, ref.stage), {
      stage: ref,
      sourceBucket: new s3.Bucket(new Stack(app, 'Sources'), 'Sources'),
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 443,
      Protocol: 'HTTPS',
      Certificates: [{ CertificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc' }],
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 80,
      DefaultActions: [
        Match.objectLike({
          Type: 'redirect',
          RedirectConfig: Match.objectLike({ Port: '443', Protocol: 'HTTPS' }),
        }),
      ],
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', { HealthCheckPath: '/ready' });
  });
});

describe('invalid stages fail before synth, naming the field', () => {
  const writeConfig = (stage: Record<string, unknown>) => {
    const dir = mkdtempSync(join(tmpdir(), 'stackpilot-config-'));
    const path = join(dir, 'stackpilot.yml');
    writeFileSync(
      path,
      JSON.stringify({
        apps: {
          web: {
            repository: { provider: 'github', url: 'https://github.com/a/web.git' },
            stages: { dev: stage },
          },
        },
      }),
    );
    return path;
  };

  it.each([
    ['an unknown tier', { branch: 'main', scale: 'enormous' }, 'apps.web.stages.dev.scale'],
    ['min above max', { branch: 'main', tasks: { min: 6, max: 5 } }, 'apps.web.stages.dev.tasks.min'],
    ['a bad instance type', { branch: 'main', instanceType: 'micro' }, 'apps.web.stages.dev.instanceType'],
  ])('refuses %s', (_case, stage, field) => {
    const path = writeConfig(stage);
    expect(() => buildApp(loadConfigFile(path), new App())).toThrow(ConfigError);
    expect(() => loadConfigFile(path)).toThrow(field);
  });
});

describe('stage construct helpers', () => {
  it('picks the ARM64 AMI for Graviton instance families only', () => {
    expect(
      ['t4g.micro', 'm7g.large', 'c6gn.xlarge', 'r6gd.large', 'a1.medium'].map(isArmInstanceType),
    ).toEqual([true, true, true, true, true]);
    expect(['t3.micro', 'm5.large', 'g4dn.xlarge', 'c6i.large', 'm5d.large'].map(isArmInstanceType)).toEqual([
      false,
      false,
      false,
      false,
      false,
    ]);
  });

  it('makes the placeholder answer the health check path on the container port', () => {
    const [shell, flag, script] = placeholderCommand('web', 'dev', 8080, "/health/it's");
    expect([shell, flag]).toEqual(['sh', '-c']);
    expect(script).toContain("echo ok > '/www/health/it'\"'\"'s'");
    expect(script).toContain('exec httpd -f -p 8080 -h /www');
    expect(placeholderCommand('web', 'dev', 80, '/')[2]).not.toContain('echo ok');
  });

  it('keeps the default buildspec a valid CodeBuild 0.2 spec that exports the image URI', () => {
    const spec = parseYaml(readFileSync(DEFAULT_BUILDSPEC_PATH, 'utf8'));
    expect(spec.version).toBe(0.2);
    expect(spec.env['exported-variables']).toEqual(['IMAGE_URI', 'COMMIT']);
    expect(Object.keys(spec.phases)).toEqual(['pre_build', 'build']);
  });
});
