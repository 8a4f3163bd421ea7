import { CfnOutput, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import type { AppConfig, StageRef } from '#shared/config.ts';
import { ecrRepositoryName, previewImagesToKeep, previewRepositoryName } from '#shared/naming.ts';
import { AppStage } from '../constructs/app-stage.ts';
import type { ApiThrottle } from '../constructs/stage-front-door.ts';

/** Stack id (and CloudFormation stack name) of an app stage. */
export function appStageStackId(app: string, stage: string): string {
  return `Stackpilot-${app}-${stage}`;
}

/** Stack id of an app's ECR repository; a different prefix, so no app/stage pair can collide with it. */
export function appRepositoryStackId(app: string): string {
  return `StackpilotRepository-${app}`;
}

export interface AppRepositoryStackProps extends StackProps {
  readonly app: string;
  readonly appConfig: AppConfig;
}

/**
 * The ECR repository of one app, shared by its stages (an image built for `dev` can be
 * rolled out to `prod`). Its own stack, so adding or removing a stage never touches it.
 * Retained on deletion: the images are the rollback history.
 */
export class AppRepositoryStack extends Stack {
  readonly repository: ecr.Repository;
  /** The repository of the app's preview images, when the app runs previews. */
  readonly previewRepository?: ecr.Repository;

  constructor(scope: Construct, id: string, props: AppRepositoryStackProps) {
    super(scope, id, props);
    this.repository = new ecr.Repository(this, 'Repository', {
      repositoryName: ecrRepositoryName(props.app),
      imageScanOnPush: true,
      // Mutable: the default build (like TinyStacks' build.yml) also moves `latest`.
      imageTagMutability: ecr.TagMutability.MUTABLE,
      lifecycleRules: [
        {
          description: `keep the last ${props.appConfig.imagesToKeep} images so older revisions stay rollback-able`,
          maxImageCount: props.appConfig.imagesToKeep,
        },
      ],
    });
    const { previews } = props.appConfig;
    if (previews) {
      const keep = previewImagesToKeep(previews.max);
      this.previewRepository = new ecr.Repository(this, 'PreviewRepository', {
        repositoryName: previewRepositoryName(props.app),
        imageScanOnPush: true,
        imageTagMutability: ecr.TagMutability.MUTABLE,
        lifecycleRules: [
          {
            description: `keep the last ${keep} preview images (three per open preview, previews.max ${previews.max})`,
            maxImageCount: keep,
          },
        ],
      });
      new CfnOutput(this, 'PreviewRepositoryUri', { value: this.previewRepository.repositoryUri });
    }
    Tags.of(this).add('stackpilot:app', props.app);
    new CfnOutput(this, 'EcrRepositoryUri', { value: this.repository.repositoryUri });
  }
}

export interface AppStageStackProps extends StackProps {
  readonly stage: StageRef;
  /** The control plane's versioned bucket of source zips (`ControlPlaneStack.sourceBucket`). */
  readonly sourceBucket: s3.IBucket;
  /** @default DEFAULT_API_THROTTLE */
  readonly throttle?: ApiThrottle;
}

/**
 * One stack per (app, stage): `Stackpilot-<app>-<stage>`. It finds the app's repository and
 * the release state machine by name; the app adds the stack dependencies.
 */
export class AppStageStack extends Stack {
  readonly appStage: AppStage;

  constructor(scope: Construct, id: string, props: AppStageStackProps) {
    super(scope, id, {
      description: `stackpilot: app ${props.stage.app}, stage ${props.stage.stage} (${props.stage.stageConfig.scale})`,
      ...props,
    });
    const { app, stage } = props.stage;
    const repository = ecr.Repository.fromRepositoryName(this, 'Repository', ecrRepositoryName(app));
    const previewRepository =
      props.stage.appConfig.previews?.stage === stage
        ? ecr.Repository.fromRepositoryName(this, 'PreviewRepository', previewRepositoryName(app))
        : undefined;
    this.appStage = new AppStage(this, 'Stage', {
      stage: props.stage,
      sourceBucket: props.sourceBucket,
      repository,
      ...(previewRepository && { previewRepository }),
      throttle: props.throttle,
    });
    Tags.of(this).add('stackpilot:app', app);
    Tags.of(this).add('stackpilot:stage', stage);
  }
}
