/**
 * Realistic task definitions as DescribeTaskDefinition returns them (read-only fields
 * included), modelled on the AWS documentation's examples: a web app with an Envoy
 * sidecar and a FireLens log router, secrets, volumes, placement constraints and a
 * runtime platform.
 */
import type { Tag, TaskDefinition } from '@aws-sdk/client-ecs';

export const ACCOUNT = '123456789012';
export const REGISTRY = `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com`;
export const appImage = (app: string, tag: string) => `${REGISTRY}/stackpilot/${app}:${tag}`;
export const taskDefinitionArn = (family: string, revision: number) =>
  `arn:aws:ecs:us-east-1:${ACCOUNT}:task-definition/${family}:${revision}`;

/** The starter app's dev revision 12: web app + Envoy sidecar + FireLens log router. */
export function starterRevision(revision = 12, tag = 'a'.repeat(40)): TaskDefinition {
  const family = 'stackpilot-starter-dev';
  return {
    taskDefinitionArn: taskDefinitionArn(family, revision),
    family,
    revision,
    status: 'ACTIVE',
    taskRoleArn: `arn:aws:iam::${ACCOUNT}:role/stackpilot-starter-dev-task`,
    executionRoleArn: `arn:aws:iam::${ACCOUNT}:role/stackpilot-starter-dev-execution`,
    networkMode: 'bridge',
    requiresCompatibilities: ['EC2'],
    compatibilities: ['EC2'],
    cpu: '256',
    memory: '512',
    runtimePlatform: { cpuArchitecture: 'X86_64', operatingSystemFamily: 'LINUX' },
    containerDefinitions: [
      {
        name: 'log_router',
        image: 'public.ecr.aws/aws-observability/aws-for-fluent-bit:stable',
        essential: true,
        memoryReservation: 50,
        firelensConfiguration: { type: 'fluentbit', options: { 'enable-ecs-log-metadata': 'true' } },
        logConfiguration: {
          logDriver: 'awslogs',
          options: {
            'awslogs-group': '/stackpilot/starter/dev/firelens',
            'awslogs-region': 'us-east-1',
            'awslogs-stream-prefix': 'firelens',
          },
        },
      },
      {
        name: 'app',
        image: appImage('starter', tag),
        essential: true,
        cpu: 192,
        memory: 384,
        portMappings: [{ containerPort: 8080, hostPort: 0, protocol: 'tcp' }],
        environment: [
          { name: 'PORT', value: '8080' },
          { name: 'STAGE', value: 'dev' },
        ],
        secrets: [
          {
            name: 'DATABASE_URL',
            valueFrom: `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:starter/dev/database-AbCdEf`,
          },
          { name: 'API_KEY', valueFrom: `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/starter/dev/api-key` },
        ],
        mountPoints: [{ sourceVolume: 'uploads', containerPath: '/app/uploads', readOnly: false }],
        healthCheck: {
          command: ['CMD-SHELL', 'curl -f http://localhost:8080/health || exit 1'],
          interval: 10,
          timeout: 5,
          retries: 3,
          startPeriod: 30,
        },
        dependsOn: [{ containerName: 'envoy', condition: 'HEALTHY' }],
        logConfiguration: {
          logDriver: 'awsfirelens',
          options: { Name: 'cloudwatch', region: 'us-east-1', log_group_name: '/stackpilot/starter/dev' },
        },
        ulimits: [{ name: 'nofile', softLimit: 65536, hardLimit: 65536 }],
      },
      {
        name: 'envoy',
        image: '840364872350.dkr.ecr.us-east-1.amazonaws.com/aws-appmesh-envoy:v1.29.6.0-prod',
        essential: true,
        memoryReservation: 64,
        user: '1337',
        environment: [
          {
            name: 'APPMESH_RESOURCE_ARN',
            value: `arn:aws:appmesh:us-east-1:${ACCOUNT}:mesh/apps/virtualNode/starter`,
          },
        ],
        healthCheck: {
          command: ['CMD-SHELL', 'curl -s http://localhost:9901/server_info | grep state | grep -q LIVE'],
          interval: 5,
          timeout: 2,
          retries: 3,
          startPeriod: 10,
        },
      },
    ],
    volumes: [
      { name: 'uploads', host: { sourcePath: '/ecs/starter/uploads' } },
      {
        name: 'shared-efs',
        efsVolumeConfiguration: {
          fileSystemId: 'fs-1234abcd',
          rootDirectory: '/',
          transitEncryption: 'ENABLED',
        },
      },
    ],
    placementConstraints: [
      { type: 'memberOf', expression: 'attribute:ecs.availability-zone in [us-east-1a, us-east-1b]' },
    ],
    proxyConfiguration: {
      type: 'APPMESH',
      containerName: 'envoy',
      properties: [
        { name: 'IgnoredUID', value: '1337' },
        { name: 'ProxyIngressPort', value: '15000' },
        { name: 'ProxyEgressPort', value: '15001' },
        { name: 'AppPorts', value: '8080' },
        { name: 'EgressIgnoredIPs', value: '169.254.170.2,169.254.169.254' },
      ],
    },
    requiresAttributes: [
      { name: 'com.amazonaws.ecs.capability.ecr-auth' },
      { name: 'ecs.capability.secrets.asm.environment-variables' },
      { name: 'ecs.capability.container-health-check' },
      { name: 'ecs.capability.firelens.fluentbit' },
    ],
    registeredAt: new Date('2026-11-20T10:00:00.000Z'),
    registeredBy: `arn:aws:sts::${ACCOUNT}:assumed-role/stackpilot-release/session`,
  };
}

/** The user's tags plus the previous release's own ones (not to be carried over). */
export const starterTags: Tag[] = [
  { key: 'team', value: 'web' },
  { key: 'cost-center', value: '42' },
  { key: 'stackpilot:commit', value: 'a'.repeat(40) },
  { key: 'stackpilot:result', value: 'COMPLETED' },
];

/**
 * The AWS documentation's WordPress example (two containers, links, a host port),
 * as an app `blog` whose container `app` runs the wordpress image.
 */
export function wordpressRevision(): TaskDefinition {
  return {
    taskDefinitionArn: taskDefinitionArn('stackpilot-blog-prod', 3),
    family: 'stackpilot-blog-prod',
    revision: 3,
    status: 'ACTIVE',
    compatibilities: ['EC2'],
    requiresAttributes: [{ name: 'com.amazonaws.ecs.capability.docker-remote-api.1.17' }],
    containerDefinitions: [
      {
        name: 'app',
        links: ['mysql'],
        image: appImage('blog', '6.4'),
        essential: true,
        portMappings: [{ containerPort: 80, hostPort: 80 }],
        memory: 500,
        cpu: 10,
      },
      {
        environment: [{ name: 'MYSQL_ROOT_PASSWORD', value: 'password' }],
        name: 'mysql',
        image: 'mysql',
        cpu: 10,
        memory: 500,
        essential: true,
      },
    ],
    volumes: [],
    placementConstraints: [],
    registeredAt: new Date('2026-01-01T00:00:00.000Z'),
    registeredBy: `arn:aws:iam::${ACCOUNT}:root`,
  };
}
