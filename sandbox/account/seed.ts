/**
 * What `cdk deploy` would leave in the account for each (app, stage) of `stackpilot.yml`:
 * cluster, Auto Scaling group with its minimum of instances registered in the cluster, a
 * first task-definition revision on a placeholder image, the service at its minimum task
 * count, the pipeline, the alarms and the ECR repository. Idempotent: what exists stays.
 */
import { allStages, type StackpilotConfig } from '#shared/config.ts';
import { ecrRepositoryName, stageNames } from '#shared/naming.ts';
import type { AutoScalingEmulator } from './auto-scaling.ts';
import type { CloudWatchEmulator } from './cloudwatch.ts';
import type { CodePipelineEmulator } from './codepipeline.ts';
import type { EcrEmulator } from './ecr.ts';
import type { EcsEmulator } from './ecs.ts';
import type { S3Emulator } from './s3.ts';

/** The tag of the placeholder image the first revision runs before the first push. */
export const INITIAL_IMAGE_TAG = 'initial';
/** The app's container in the task definition (as the CDK app names it). */
export const APP_CONTAINER_NAME = 'app';

export interface SeedTargets {
  accountId: string;
  region: string;
  sourceBucket: string;
  s3: S3Emulator;
  ecs: EcsEmulator;
  ecr: EcrEmulator;
  autoScaling: AutoScalingEmulator;
  codePipeline: CodePipelineEmulator;
  cloudWatch: CloudWatchEmulator;
}

export function seedFromConfig(account: SeedTargets, config: StackpilotConfig): void {
  account.s3.ensureBucket(account.sourceBucket, 'Enabled');
  for (const { app, stage, appConfig, stageConfig } of allStages(config)) {
    const names = stageNames(app, stage);
    const repository = ecrRepositoryName(app);
    account.ecr.ensureRepository(repository, appConfig.imagesToKeep);
    const image = `${account.ecr.repositoryUri(repository)}:${INITIAL_IMAGE_TAG}`;
    const ecr = account.ecr.commands.DescribeImages({ repositoryName: repository });
    if (!ecr.imageDetails?.some((i) => i.imageTags?.includes(INITIAL_IMAGE_TAG))) {
      account.ecr.pushImage(repository, INITIAL_IMAGE_TAG, `${app}:${INITIAL_IMAGE_TAG}`);
    }

    const ecs = account.ecs.commands;
    ecs.CreateCluster({
      clusterName: names.cluster,
      tags: [
        { key: 'stackpilot:app', value: app },
        { key: 'stackpilot:stage', value: stage },
      ],
    });
    account.autoScaling.ensureGroup({
      name: names.autoScalingGroup,
      clusterName: names.cluster,
      instanceType: stageConfig.instanceType,
      min: stageConfig.instances.min,
      max: stageConfig.instances.max,
      // The CDK app protects new instances: only the scale state machine chooses which one leaves.
      newInstancesProtected: true,
    });

    const hasDefinition =
      (ecs.ListTaskDefinitions({ familyPrefix: names.taskFamily }).taskDefinitionArns ?? []).length > 0;
    if (!hasDefinition) {
      // As infra/constructs/stage-cluster.ts registers it: bridge mode, one essential container
      // named `app` with container-level cpu and memory, on a placeholder image of the app's repository.
      ecs.RegisterTaskDefinition({
        family: names.taskFamily,
        networkMode: 'bridge',
        requiresCompatibilities: ['EC2'],
        taskRoleArn: `arn:aws:iam::${account.accountId}:role/${names.taskFamily}-task`,
        executionRoleArn: `arn:aws:iam::${account.accountId}:role/${names.taskFamily}-execution`,
        containerDefinitions: [
          {
            name: APP_CONTAINER_NAME,
            image,
            essential: true,
            cpu: appConfig.cpu,
            memory: appConfig.memory,
            portMappings: [{ containerPort: appConfig.containerPort, hostPort: 0, protocol: 'tcp' }],
            environment: [
              { name: 'PORT', value: String(appConfig.containerPort) },
              { name: 'STACKPILOT_APP', value: app },
              { name: 'STACKPILOT_STAGE', value: stage },
            ],
            linuxParameters: { initProcessEnabled: true },
            logConfiguration: {
              logDriver: 'awslogs',
              options: {
                'awslogs-group': `/stackpilot/${app}/${stage}`,
                'awslogs-region': account.region,
                'awslogs-stream-prefix': stage,
              },
            },
          },
        ],
        tags: [
          { key: 'stackpilot:app', value: app },
          { key: 'stackpilot:stage', value: stage },
        ],
      });
    }

    const exists =
      (ecs.DescribeServices({ cluster: names.cluster, services: [names.service] }).services ?? []).length > 0;
    if (!exists) {
      ecs.CreateService({
        cluster: names.cluster,
        serviceName: names.service,
        taskDefinition: names.taskFamily,
        desiredCount: stageConfig.tasks.min,
        launchType: 'EC2',
        deploymentConfiguration: {
          minimumHealthyPercent: stageConfig.deployment.minHealthyPercent,
          maximumPercent: stageConfig.deployment.maxPercent,
          deploymentCircuitBreaker: { enable: true, rollback: true },
        },
        tags: [
          { key: 'stackpilot:app', value: app },
          { key: 'stackpilot:stage', value: stage },
        ],
      });
      account.ecs.settle(names.cluster, names.service);
    }

    account.codePipeline.ensurePipeline(names.pipeline, {
      app,
      stage,
      bucket: account.sourceBucket,
      key: names.sourceKey,
    });
    account.cloudWatch.ensureStageAlarms(app, stage);
  }
}
