// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Fn::Sub and ASL placeholders are ${…} inside plain strings.
import { describe, expect, it } from 'vitest';
import {
  customResourceCall,
  generatePassword,
  toCreateAutoScalingGroup,
  toCreateBucket,
  toCreatePipeline,
  toCreateRepository,
  toCreateSecret,
  toCreateService,
  toCreateStateMachine,
  toPutMetricAlarm,
  toPutRule,
  toRegisterTaskDefinition,
} from '../../../sandbox/templates/convert.ts';

describe('CloudFormation properties to SDK inputs', () => {
  it('registers a task definition: camelCase, Docker labels and log options keep their keys', () => {
    const input = toRegisterTaskDefinition({
      Family: 'stackpilot-shop-dev',
      NetworkMode: 'bridge',
      RequiresCompatibilities: ['EC2'],
      TaskRoleArn: 'arn:aws:iam::123456789012:role/task',
      ContainerDefinitions: [
        {
          Name: 'app',
          Image: 'public.ecr.aws/docker/library/busybox:stable',
          Command: ['sh', '-c', 'httpd'],
          Cpu: 256,
          Memory: 512,
          DockerLabels: { 'stackpilot.placeholder': 'true' },
          Environment: [{ Name: 'PORT', Value: '8080' }],
          LinuxParameters: { Capabilities: {}, InitProcessEnabled: true },
          LogConfiguration: {
            LogDriver: 'awslogs',
            Options: { 'awslogs-group': 'g', 'awslogs-stream-prefix': 'dev', 'awslogs-region': 'us-east-1' },
          },
          PortMappings: [{ ContainerPort: 8080, HostPort: 0, Protocol: 'tcp' }],
        },
      ],
      Tags: [{ Key: 'stackpilot:app', Value: 'shop' }],
    });
    expect(input).toEqual({
      family: 'stackpilot-shop-dev',
      networkMode: 'bridge',
      requiresCompatibilities: ['EC2'],
      taskRoleArn: 'arn:aws:iam::123456789012:role/task',
      containerDefinitions: [
        {
          name: 'app',
          image: 'public.ecr.aws/docker/library/busybox:stable',
          command: ['sh', '-c', 'httpd'],
          cpu: 256,
          memory: 512,
          dockerLabels: { 'stackpilot.placeholder': 'true' },
          environment: [{ name: 'PORT', value: '8080' }],
          linuxParameters: { capabilities: {}, initProcessEnabled: true },
          logConfiguration: {
            logDriver: 'awslogs',
            options: { 'awslogs-group': 'g', 'awslogs-stream-prefix': 'dev', 'awslogs-region': 'us-east-1' },
          },
          portMappings: [{ containerPort: 8080, hostPort: 0, protocol: 'tcp' }],
        },
      ],
      tags: [{ key: 'stackpilot:app', value: 'shop' }],
    });
  });

  it('refuses a task definition without containers', () => {
    expect(() => toRegisterTaskDefinition({ Family: 'f' })).toThrow(
      'AWS::ECS::TaskDefinition: property ContainerDefinitions is required',
    );
  });

  it("creates a service as CloudFormation does: one task when DesiredCount is absent, placementStrategy's SDK name", () => {
    const input = toCreateService({
      Cluster: 'c',
      ServiceName: 's',
      TaskDefinition: 'arn:aws:ecs:us-east-1:123456789012:task-definition/f:1',
      LaunchType: 'EC2',
      DeploymentConfiguration: {
        DeploymentCircuitBreaker: { Enable: true, Rollback: true },
        MaximumPercent: 200,
        MinimumHealthyPercent: 100,
      },
      EnableECSManagedTags: false,
      PlacementStrategies: [{ Field: 'instanceId', Type: 'spread' }],
      SchedulingStrategy: 'REPLICA',
    });
    expect(input).toEqual({
      cluster: 'c',
      serviceName: 's',
      taskDefinition: 'arn:aws:ecs:us-east-1:123456789012:task-definition/f:1',
      launchType: 'EC2',
      deploymentConfiguration: {
        deploymentCircuitBreaker: { enable: true, rollback: true },
        maximumPercent: 200,
        minimumHealthyPercent: 100,
      },
      enableECSManagedTags: false,
      placementStrategy: [{ field: 'instanceId', type: 'spread' }],
      schedulingStrategy: 'REPLICA',
      desiredCount: 1,
    });
    expect(toCreateService({ DesiredCount: 3 }).desiredCount).toBe(3);
    expect(toCreateService({ SchedulingStrategy: 'DAEMON' }).desiredCount).toBeUndefined();
  });

  it('creates an Auto Scaling group: string sizes to numbers, subnets joined', () => {
    expect(
      toCreateAutoScalingGroup({
        AutoScalingGroupName: 'g',
        LaunchTemplate: { LaunchTemplateId: 'lt-1', Version: '1' },
        MinSize: '2',
        MaxSize: '6',
        NewInstancesProtectedFromScaleIn: true,
        VPCZoneIdentifier: ['subnet-a', 'subnet-b'],
        Tags: [{ Key: 'stackpilot:app', Value: 'shop', PropagateAtLaunch: true }],
      }),
    ).toEqual({
      AutoScalingGroupName: 'g',
      LaunchTemplate: { LaunchTemplateId: 'lt-1', Version: '1' },
      MinSize: 2,
      MaxSize: 6,
      NewInstancesProtectedFromScaleIn: true,
      VPCZoneIdentifier: 'subnet-a,subnet-b',
      Tags: [{ Key: 'stackpilot:app', Value: 'shop', PropagateAtLaunch: true }],
    });
  });

  it('puts a metric alarm with its threshold, period, evaluation periods and dimensions', () => {
    const alarm = toPutMetricAlarm({
      AlarmName: 'stackpilot-shop-dev-service-cpu-high',
      ComparisonOperator: 'GreaterThanThreshold',
      Dimensions: [{ Name: 'ClusterName', Value: 'c' }],
      EvaluationPeriods: 2,
      MetricName: 'CPUUtilization',
      Namespace: 'AWS/ECS',
      Period: 60,
      Statistic: 'Average',
      Threshold: '75',
      TreatMissingData: 'notBreaching',
    });
    expect(alarm).toMatchObject({
      Threshold: 75,
      Period: 60,
      EvaluationPeriods: 2,
      TreatMissingData: 'notBreaching',
    });
    expect(alarm.Dimensions).toEqual([{ Name: 'ClusterName', Value: 'c' }]);
    expect(() => toPutMetricAlarm({ AlarmName: 'a', ComparisonOperator: 'GreaterThanThreshold' })).toThrow(
      'AWS::CloudWatch::Alarm: property EvaluationPeriods is required',
    );
  });

  it('puts a rule (pattern as a JSON string) and its state machine target', () => {
    const pattern = { source: ['aws.cloudwatch'], detail: { alarmName: [{ prefix: 'stackpilot-' }] } };
    const {
      rule,
      targets,
      pattern: parsed,
    } = toPutRule('r1', {
      Description: 'd',
      EventPattern: pattern,
      State: 'ENABLED',
      Targets: [
        { Arn: 'arn:aws:states:us-east-1:123456789012:stateMachine:stackpilot-scale', Id: 'Target0' },
      ],
    });
    expect(rule).toEqual({
      Name: 'r1',
      Description: 'd',
      State: 'ENABLED',
      EventPattern: JSON.stringify(pattern),
    });
    expect(targets).toEqual({
      Rule: 'r1',
      Targets: [
        { Arn: 'arn:aws:states:us-east-1:123456789012:stateMachine:stackpilot-scale', Id: 'Target0' },
      ],
    });
    expect(parsed).toEqual(pattern);
  });

  it('creates a pipeline: camelCase declaration, configuration maps of strings with their own keys', () => {
    const { pipeline, tags } = toCreatePipeline({
      Name: 'p',
      PipelineType: 'V2',
      RestartExecutionOnUpdate: false,
      RoleArn: 'arn:role',
      ArtifactStore: { Location: 'artifacts', Type: 'S3' },
      Stages: [
        {
          Name: 'Source',
          Actions: [
            {
              Name: 'Source',
              ActionTypeId: { Category: 'Source', Owner: 'AWS', Provider: 'S3', Version: '1' },
              Configuration: { S3Bucket: 'b', S3ObjectKey: 'k', PollForSourceChanges: false },
              OutputArtifacts: [{ Name: 'Source' }],
              RunOrder: 1,
            },
          ],
        },
      ],
      Variables: [{ Name: 'COMMIT', DefaultValue: 'HEAD' }],
      Tags: [{ Key: 'stackpilot:app', Value: 'shop' }],
    });
    expect(pipeline).toEqual({
      name: 'p',
      pipelineType: 'V2',
      roleArn: 'arn:role',
      artifactStore: { location: 'artifacts', type: 'S3' },
      stages: [
        {
          name: 'Source',
          actions: [
            {
              name: 'Source',
              actionTypeId: { category: 'Source', owner: 'AWS', provider: 'S3', version: '1' },
              configuration: { S3Bucket: 'b', S3ObjectKey: 'k', PollForSourceChanges: 'false' },
              outputArtifacts: [{ name: 'Source' }],
              runOrder: 1,
            },
          ],
        },
      ],
      variables: [{ name: 'COMMIT', defaultValue: 'HEAD' }],
    });
    expect(tags).toEqual([{ key: 'stackpilot:app', value: 'shop' }]);
  });

  it('creates a bucket, versioned when the template says so', () => {
    expect(toCreateBucket('b', { VersioningConfiguration: { Status: 'Enabled' } })).toEqual({
      bucket: { Bucket: 'b' },
      versioning: { Bucket: 'b', VersioningConfiguration: { Status: 'Enabled' } },
    });
    expect(toCreateBucket('b', {})).toEqual({ bucket: { Bucket: 'b' } });
  });

  it('reads the number of images an ECR lifecycle policy keeps', () => {
    const text = JSON.stringify({
      rules: [
        {
          rulePriority: 1,
          selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 20 },
        },
      ],
    });
    expect(
      toCreateRepository({
        RepositoryName: 'stackpilot/shop',
        ImageScanningConfiguration: { ScanOnPush: true },
        ImageTagMutability: 'MUTABLE',
        LifecyclePolicy: { LifecyclePolicyText: text },
      }),
    ).toEqual({
      input: {
        repositoryName: 'stackpilot/shop',
        imageTagMutability: 'MUTABLE',
        imageScanningConfiguration: { scanOnPush: true },
      },
      imagesToKeep: 20,
    });
  });

  it('generates a secret as GenerateSecretString asks: length, no punctuation, every class present', () => {
    const input = toCreateSecret('s', {
      Description: 'd',
      GenerateSecretString: { ExcludePunctuation: true, PasswordLength: 40 },
    });
    expect(input.Name).toBe('s');
    expect(input.Description).toBe('d');
    expect(input.SecretString).toMatch(/^[A-Za-z0-9]{40}$/);
    for (let i = 0; i < 50; i += 1) {
      const password = generatePassword({ PasswordLength: 4, ExcludeCharacters: 'abc' });
      expect(password).toMatch(/[a-z]/);
      expect(password).toMatch(/[A-Z]/);
      expect(password).toMatch(/[0-9]/);
      expect(password).not.toMatch(/[abc]/);
    }
    const json = toCreateSecret('s', {
      GenerateSecretString: {
        SecretStringTemplate: '{"user":"u"}',
        GenerateStringKey: 'password',
        PasswordLength: 8,
      },
    });
    expect(JSON.parse(json.SecretString ?? '')).toMatchObject({ user: 'u', password: expect.any(String) });
    expect(() => generatePassword({ PasswordLength: 2 })).toThrow('no password of length 2 fits');
  });

  it('creates a state machine with its placeholders substituted, and refuses a missing substitution', () => {
    const props = {
      StateMachineName: 'stackpilot-release',
      DefinitionString: '{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"${FnArn}","End":true}}}',
      DefinitionSubstitutions: { FnArn: 'arn:aws:lambda:us-east-1:123456789012:function:f' },
      RoleArn: 'arn:role',
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
    };
    const input = toCreateStateMachine(props);
    expect(JSON.parse(input.definition ?? '').States.A.Resource).toBe(
      'arn:aws:lambda:us-east-1:123456789012:function:f',
    );
    expect(input).toMatchObject({
      name: 'stackpilot-release',
      type: 'STANDARD',
      tracingConfiguration: { enabled: true },
    });
    expect(() => toCreateStateMachine({ ...props, DefinitionSubstitutions: {} })).toThrow(
      'AWS::StepFunctions::StateMachine stackpilot-release: no substitution for ${FnArn}',
    );
  });

  it("reads a Custom::AWS resource's call: client, command, parameters, physical id, ignored errors", () => {
    const create = JSON.stringify({
      service: 'SSM',
      action: 'putParameter',
      parameters: {
        Name: '/stackpilot/shop/dev/released-image',
        Value: 'none',
        Type: 'String',
        Overwrite: false,
      },
      physicalResourceId: { id: '/stackpilot/shop/dev/released-image' },
      ignoreErrorCodesMatching: 'ParameterAlreadyExists',
    });
    expect(customResourceCall('Released', { Create: create })).toEqual({
      clientName: 'SSMClient',
      commandName: 'PutParameterCommand',
      input: { Name: '/stackpilot/shop/dev/released-image', Value: 'none', Type: 'String', Overwrite: false },
      physicalResourceId: { id: '/stackpilot/shop/dev/released-image' },
      ignoreErrorCodesMatching: 'ParameterAlreadyExists',
    });
    const ecs = customResourceCall('Initial', {
      Create: JSON.stringify({
        service: 'ECS',
        action: 'updateService',
        parameters: { cluster: 'c', service: 's', desiredCount: 2 },
        physicalResourceId: { id: 's-initial-desired-count' },
      }),
    });
    expect(ecs).toMatchObject({
      clientName: 'ECSClient',
      commandName: 'UpdateServiceCommand',
      input: { desiredCount: 2 },
    });
    expect(customResourceCall('Initial', { Create: '{}' }, 'Update')).toBeUndefined();
    expect(() =>
      customResourceCall('X', { Create: JSON.stringify({ service: 'Lambda', action: 'invoke' }) }),
    ).toThrow('Custom::AWS X: Create calls Lambda invoke, a service the sandbox has no client for');
  });
});
