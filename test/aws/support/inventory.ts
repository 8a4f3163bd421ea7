/**
 * Every AWS call the production code makes: each SDK command, the adapter functions that
 * send it, and how the suite checks it on moto. `inventory.test.ts` compares it with the
 * commands the sources under `shared/` and `functions/` import, so a new call cannot go
 * unchecked; the run's summary compares it with the calls the production clients sent.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export interface InventoryEntry {
  /** SDK client without `Client`: `ECS`, `S3`. */
  readonly service: string;
  /** Command without `Command`. */
  readonly command: string;
  /** The production functions that send it (`file: function`). */
  readonly adapters: readonly string[];
  /** Sent by a library on the adapter's behalf, not imported by name. */
  readonly via?: string;
}

export const INVENTORY: readonly InventoryEntry[] = [
  {
    service: 'ECS',
    command: 'DescribeServices',
    adapters: ['release/ecs: describeService', 'scaling/ecs: describeServiceCount'],
  },
  { service: 'ECS', command: 'DescribeTaskDefinition', adapters: ['release/ecs: describeTaskDefinition'] },
  { service: 'ECS', command: 'ListTagsForResource', adapters: ['release/ecs: describeTaskDefinition'] },
  { service: 'ECS', command: 'RegisterTaskDefinition', adapters: ['release/ecs: registerTaskDefinition'] },
  {
    service: 'ECS',
    command: 'UpdateService',
    adapters: ['release/ecs: updateServiceTaskDefinition', 'scaling/ecs: setServiceDesiredCount'],
  },
  { service: 'ECS', command: 'ListTasks', adapters: ['release/ecs: stoppedTasksOf'] },
  { service: 'ECS', command: 'DescribeTasks', adapters: ['release/ecs: stoppedTasksOf'] },
  { service: 'ECS', command: 'TagResource', adapters: ['release/ecs: tagTaskDefinition'] },
  { service: 'ECS', command: 'ListContainerInstances', adapters: ['scaling/ecs: listContainerInstances'] },
  {
    service: 'ECS',
    command: 'DescribeContainerInstances',
    adapters: ['scaling/ecs: describeContainerInstances', 'scaling/ecs: describeContainerInstance'],
  },
  {
    service: 'ECS',
    command: 'UpdateContainerInstancesState',
    adapters: ['scaling/ecs: setContainerInstanceState'],
  },
  {
    service: 'AutoScaling',
    command: 'DescribeAutoScalingGroups',
    adapters: ['scaling/autoscaling: describeGroup'],
  },
  {
    service: 'AutoScaling',
    command: 'SetDesiredCapacity',
    adapters: ['scaling/autoscaling: setDesiredCapacity'],
  },
  {
    service: 'AutoScaling',
    command: 'SetInstanceProtection',
    adapters: ['scaling/autoscaling: setInstanceProtection'],
  },
  {
    service: 'AutoScaling',
    command: 'TerminateInstanceInAutoScalingGroup',
    adapters: ['scaling/autoscaling: terminateInstanceInGroup'],
  },
  {
    service: 'CloudWatch',
    command: 'DescribeAlarms',
    adapters: ['scaling/cloudwatch: describeAlarmStates'],
  },
  { service: 'CloudWatch', command: 'SetAlarmState', adapters: ['scaling/cloudwatch: setAlarmState'] },
  {
    service: 'CodePipeline',
    command: 'StartPipelineExecution',
    adapters: ['pipeline/codepipeline: startPipelineExecution'],
  },
  {
    service: 'CodePipeline',
    command: 'GetPipelineExecution',
    adapters: ['pipeline/codepipeline: getPipelineExecution'],
  },
  {
    service: 'CodePipeline',
    command: 'ListActionExecutions',
    adapters: ['pipeline/codepipeline: listActionExecutions'],
  },
  {
    service: 'S3',
    command: 'ListObjectsV2',
    adapters: ['release/history-store: listHistoryKeys'],
  },
  {
    service: 'S3',
    command: 'PutObject',
    adapters: [
      'release/history-store: putRecord',
      'scaling/lease-store: acquireScalingLease (conditional writes)',
    ],
  },
  {
    service: 'S3',
    command: 'GetObject',
    adapters: ['scaling/lease-store: acquireScalingLease, releaseScalingLease'],
  },
  { service: 'S3', command: 'DeleteObject', adapters: ['scaling/lease-store: releaseScalingLease'] },
  { service: 'S3', command: 'AbortMultipartUpload', adapters: ['source/s3-upload: abortMultipartUpload'] },
  {
    service: 'S3',
    command: 'CreateMultipartUpload',
    adapters: ['source/s3-upload: uploadStream'],
    via: '@aws-sdk/lib-storage',
  },
  {
    service: 'S3',
    command: 'UploadPart',
    adapters: ['source/s3-upload: uploadStream'],
    via: '@aws-sdk/lib-storage',
  },
  {
    service: 'S3',
    command: 'CompleteMultipartUpload',
    adapters: ['source/s3-upload: uploadStream'],
    via: '@aws-sdk/lib-storage',
  },
  {
    service: 'SecretsManager',
    command: 'GetSecretValue',
    adapters: ['aws/secrets: getSecretText'],
    via: '@aws-lambda-powertools/parameters',
  },
  { service: 'SFN', command: 'StartExecution', adapters: ['aws/stepfunctions: startNamedExecution'] },
  { service: 'SFN', command: 'SendTaskSuccess', adapters: ['callbacks/task-tokens: resumeTask'] },
  { service: 'SFN', command: 'SendTaskFailure', adapters: ['callbacks/task-tokens: resumeTask'] },
  { service: 'SFN', command: 'DescribeExecution', adapters: ['release/lease-store: enterStage'] },
  { service: 'ECR', command: 'DescribeImages', adapters: ['release/ecr: imageInRepository'] },
  { service: 'EventBridge', command: 'PutEvents', adapters: ['alerts/event-bus: putReleaseFailed'] },
  { service: 'SSM', command: 'PutParameter', adapters: ['release/released-image: recordReleasedImage'] },
  // Previews (shared/preview/): the route, the service, the family, the front door.
  { service: 'SSM', command: 'GetParameter', adapters: ['preview/steps: readFrontDoor'] },
  { service: 'ECS', command: 'CreateService', adapters: ['preview/ecs: createService'] },
  { service: 'ECS', command: 'DeleteService', adapters: ['preview/ecs: deleteService'] },
  { service: 'ECS', command: 'ListTaskDefinitions', adapters: ['preview/ecs: deleteFamily'] },
  { service: 'ECS', command: 'DeregisterTaskDefinition', adapters: ['preview/ecs: deleteFamily'] },
  { service: 'ECS', command: 'DeleteTaskDefinitions', adapters: ['preview/ecs: deleteFamily'] },
  ...[
    'CreateIntegration',
    'GetIntegrations',
    'DeleteIntegration',
    'CreateRoute',
    'GetRoutes',
    'DeleteRoute',
  ].map((command) => ({
    service: 'ApiGatewayV2',
    command,
    adapters: ['preview/routes: ensureRoute, removeRoute'],
  })),
  ...['CreateService', 'ListServices', 'DeleteService'].map((command) => ({
    service: 'ServiceDiscovery',
    command,
    adapters: ['preview/routes: ensureRoute, removeRoute'],
  })),
  ...[
    'CreateTargetGroup',
    'DescribeTargetGroups',
    'DeleteTargetGroup',
    'CreateRule',
    'DescribeRules',
    'DeleteRule',
  ].map((command) => ({
    service: 'ElasticLoadBalancingV2',
    command,
    adapters: ['preview/routes: ensureRoute, removeRoute'],
  })),
];

export const inventoryKey = (entry: { service: string; command: string }) =>
  `${entry.service}:${entry.command}`;

/** `@aws-sdk/client-auto-scaling` -> `AutoScaling`: the client class's name without `Client`. */
const SERVICES: Readonly<Record<string, string>> = {
  apigatewayv2: 'ApiGatewayV2',
  'auto-scaling': 'AutoScaling',
  cloudwatch: 'CloudWatch',
  codepipeline: 'CodePipeline',
  ecr: 'ECR',
  ecs: 'ECS',
  'elastic-load-balancing-v2': 'ElasticLoadBalancingV2',
  eventbridge: 'EventBridge',
  s3: 'S3',
  'secrets-manager': 'SecretsManager',
  servicediscovery: 'ServiceDiscovery',
  sfn: 'SFN',
  ssm: 'SSM',
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/**
 * The commands the production sources import from SDK clients, by `service:command`, with the
 * files that import them. Type-only imports (`type XCommandInput`) do not count.
 */
export function importedCommands(root: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const importPattern = /import\s*\{([^}]*)\}\s*from\s*'@aws-sdk\/client-([a-z0-9-]+)'/g;
  for (const file of ['shared', 'functions'].flatMap((dir) => sourceFiles(join(root, dir)))) {
    for (const match of readFileSync(file, 'utf8').matchAll(importPattern)) {
      const service = SERVICES[match[2] ?? ''] ?? `unknown client ${match[2]}`;
      for (const name of (match[1] ?? '').split(',').map((n) => n.trim())) {
        const command = /^([A-Z][A-Za-z0-9]*)Command$/.exec(name)?.[1];
        if (!command) continue;
        const key = `${service}:${command}`;
        found.set(key, [...(found.get(key) ?? []), relative(root, file)]);
      }
    }
  }
  return found;
}
