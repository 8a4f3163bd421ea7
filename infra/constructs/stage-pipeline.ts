import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as actions from 'aws-cdk-lib/aws-codepipeline-actions';
import type * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { parse as parseYaml } from 'yaml';
import type { AppConfig } from '#shared/config.ts';
import { secretSource } from '#shared/environment.ts';
import {
  previewPipelineName,
  previewSourceKey,
  type StateMachineKind,
  stageNames,
  stateMachineName,
} from '#shared/naming.ts';
import { acknowledge, arnPrefix, arnToken, refToken, wildcardAction, wildcardResource } from './nag.ts';
import { PROJECT_ROOT } from './stackpilot-function.ts';

/** The buildspec every stage's CodeBuild project runs (it runs the repository's `build.yml` when there is one). */
export const DEFAULT_BUILDSPEC_PATH = join(PROJECT_ROOT, 'infra', 'buildspec', 'default.yml');

/** Names the deploy state machine uses to start a pipeline execution. */
export const PIPELINE_CONTRACT = {
  /** Source action whose S3 object version `StartPipelineExecution.sourceRevisions` pins. */
  sourceActionName: 'Source',
  /**
   * Pipeline variables set by `StartPipelineExecution.variables`; only the preview pipeline
   * declares `PREVIEW` (the pull request number).
   */
  variables: {
    commit: 'COMMIT',
    deliveryId: 'DELIVERY_ID',
    preview: 'PREVIEW',
    previewBranch: 'PREVIEW_BRANCH',
  },
  /** Namespace of the build's exported variables (`IMAGE_URI`, `COMMIT`). */
  buildNamespace: 'Build',
} as const;

export interface StagePipelineProps {
  readonly app: string;
  readonly stage: string;
  readonly appConfig: AppConfig;
  /** The control plane's versioned source bucket. */
  readonly sourceBucket: s3.IBucket;
  readonly repository: ecr.IRepository;
  /**
   * The app's repository of preview images, in the stage that runs its previews (the app's
   * `previews.stage`): a second pipeline then builds pull requests with the same project
   * ({@link StagePipeline.previewPipeline}), pushing to this repository.
   * @default - no previews in this stage
   */
  readonly previewRepository?: ecr.IRepository;
}

/**
 * The stage's CodePipeline (V2, SUPERSEDED: a newer push replaces an older one still waiting):
 * Source = the control plane's S3 object for this stage, no polling and no event trigger (the
 * deploy state machine starts the pipeline pinned to an object version) -> Build = CodeBuild
 * (privileged Docker) with TinyStacks' variables, exporting the image URI tagged with the
 * commit -> Release = the `release` state machine with `{app, stage, image, commit}`.
 *
 * In the stage that runs the app's previews, the preview pipeline
 * (`stackpilot-<app>-<stage>-previews`, PARALLEL: pull requests build side by side and never
 * supersede each other or the stage's pushes) has the same shape on the previews' source key,
 * with the same project and artifact bucket; its last stage starts the `preview` state machine.
 */
export class StagePipeline extends Construct {
  readonly pipeline: codepipeline.Pipeline;
  /** The preview pipeline, in the stage named by the app's `previews.stage` only. */
  readonly previewPipeline?: codepipeline.Pipeline;
  readonly project: codebuild.PipelineProject;

  constructor(scope: Construct, id: string, props: StagePipelineProps) {
    super(scope, id);
    const { app, stage, appConfig, sourceBucket, repository } = props;
    const names = stageNames(app, stage);
    const region = Stack.of(this).region;

    const artifacts = new s3.Bucket(this, 'Artifacts', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      // Artifacts only matter while their execution runs; the image in ECR is what a rollback uses.
      lifecycleRules: [{ expiration: Duration.days(14), noncurrentVersionExpiration: Duration.days(1) }],
    });
    Validations.of(artifacts).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Holds only transient pipeline artifacts (copies of the source zip, whose bucket is access-logged); CodePipeline and CodeBuild are its only readers.',
    });

    this.project = new codebuild.PipelineProject(this, 'Build', {
      projectName: names.pipeline,
      description: `stackpilot ${app}/${stage}: docker build and push`,
      environment: {
        buildImage: codebuild.LinuxBuildImage.STANDARD_7_0,
        computeType: codebuild.ComputeType.SMALL,
        // Docker-in-Docker needs a privileged build container.
        privileged: true,
      },
      buildSpec: codebuild.BuildSpec.fromObjectToYaml(
        parseYaml(readFileSync(DEFAULT_BUILDSPEC_PATH, 'utf8')),
      ),
      environmentVariables: {
        ECR_ENDPOINT: { value: `${Stack.of(this).account}.dkr.ecr.${region}.${Stack.of(this).urlSuffix}` },
        ECR_IMAGE_URL: { value: repository.repositoryUri },
        ECR_REPOSITORY: { value: repository.repositoryName },
        AWS_REGION: { value: region },
        S3_BUCKET: { value: sourceBucket.bucketName },
        DOCKERFILE_PATH: { value: appConfig.dockerfilePath },
        // A monorepo app builds in its folder: the buildspec changes into it before it looks
        // for build.yml, and DOCKERFILE_PATH is relative to it (docs/push-path.md, "Monorepos").
        ...(appConfig.path ? { STACKPILOT_APP_PATH: { value: appConfig.path } } : {}),
        STACKPILOT_APP: { value: app },
        STACKPILOT_STAGE: { value: stage },
      },
      timeout: Duration.minutes(30),
      logging: {
        cloudWatch: {
          logGroup: new logs.LogGroup(this, 'BuildLogs', { retention: logs.RetentionDays.ONE_MONTH }),
        },
      },
    });
    this.grantImages(repository);
    this.grantBuildSecrets(appConfig);
    Validations.of(this.project).acknowledge(
      {
        id: 'AwsSolutions-CB3',
        reason:
          'Building Docker images inside CodeBuild needs privileged mode (Docker daemon in the build container).',
      },
      {
        id: 'AwsSolutions-CB4',
        reason:
          'Build artifacts are encrypted with S3-managed keys; a customer-managed KMS key would cost $1 a month per stage for no added control here.',
      },
    );

    const shared = { project: this.project, artifactBucket: artifacts, sourceBucket };
    this.pipeline = sourceToStateMachine(this, 'Pipeline', {
      ...shared,
      pipelineName: names.pipeline,
      // A newer push replaces an older one still waiting: only the latest commit is released.
      executionMode: codepipeline.ExecutionMode.SUPERSEDED,
      sourceKey: names.sourceKey,
      variables: [],
      buildEnvironment: {},
      invoke: { stageName: 'Release', kind: 'release', input: { app, stage } },
    });
    const { previewRepository } = props;
    if (previewRepository) {
      this.grantImages(previewRepository);
      const preview = `#{variables.${PIPELINE_CONTRACT.variables.preview}}`;
      this.previewPipeline = sourceToStateMachine(this, 'PreviewPipeline', {
        ...shared,
        pipelineName: previewPipelineName(app, stage),
        // Each pull request builds on its own: one never supersedes another, nor a push to the stage.
        executionMode: codepipeline.ExecutionMode.PARALLEL,
        sourceKey: previewSourceKey(app, stage),
        variables: [
          new codepipeline.Variable({
            variableName: PIPELINE_CONTRACT.variables.preview,
            defaultValue: '0',
            description: 'Number of the pull (merge) request whose preview this execution builds',
          }),
          new codepipeline.Variable({
            variableName: PIPELINE_CONTRACT.variables.previewBranch,
            defaultValue: '-',
            description: 'Head branch of that pull request, for the preview list',
          }),
        ],
        // The build (build.yml included) pushes to the previews' repository: ECR_IMAGE_URL and
        // ECR_REPOSITORY name it for this action only, so a preview never moves the app's images.
        buildEnvironment: {
          STACKPILOT_PREVIEW: { value: preview },
          ECR_IMAGE_URL: { value: previewRepository.repositoryUri },
          ECR_REPOSITORY: { value: previewRepository.repositoryName },
        },
        // The number arrives as a digit string (CodePipeline substitutes text): the preview input accepts it.
        invoke: {
          stageName: 'Preview',
          kind: 'preview',
          input: {
            app,
            stage,
            number: preview,
            action: 'deploy',
            branch: `#{variables.${PIPELINE_CONTRACT.variables.previewBranch}}`,
          },
        },
      });
    }

    acknowledge(
      this.project,
      'CDK grants of this project only: objects of its own artifact bucket, its own log group and report groups (named after the project), and ecr:GetAuthorizationToken, which has no resource.',
      ...artifactFindings(artifacts),
      wildcardResource('*'),
      wildcardResource(`${arnPrefix(this, 'codebuild')}report-group/${refToken(this.project)}-*`),
      wildcardResource(`${arnPrefix(this, 'logs')}log-group:/aws/codebuild/${refToken(this.project)}:*`),
    );
  }

  /** The build pushes images to `repository` and reads them back (`aws ecr describe-images` checks the push). */
  private grantImages(repository: ecr.IRepository): void {
    repository.grantPullPush(this.project);
    this.project.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['ecr:DescribeImages'], resources: [repository.repositoryArn] }),
    );
  }

  /**
   * The build role may read the parameters and secrets the app's config lists for its `build.yml`
   * (`aws ssm get-parameter`, `aws secretsmanager get-secret-value`), exactly those.
   */
  private grantBuildSecrets(appConfig: AppConfig): void {
    const stack = Stack.of(this);
    const scope = { partition: stack.partition, region: stack.region, account: stack.account };
    const parameters = appConfig.build.parameterStore.map(
      (parameter) => secretSource({ parameter }, scope).resourceArn,
    );
    const secrets = appConfig.build.secretsManager.map(
      (secretsManager) => secretSource({ secretsManager }, scope).resourceArn,
    );
    if (parameters.length > 0) {
      this.project.addToRolePolicy(
        new iam.PolicyStatement({ actions: ['ssm:GetParameter'], resources: parameters }),
      );
    }
    if (secrets.length > 0) {
      this.project.addToRolePolicy(
        new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: secrets }),
      );
    }
  }
}

/** What {@link sourceToStateMachine} builds: the stage pipeline or the preview pipeline. */
interface PipelineSpec {
  readonly pipelineName: string;
  readonly executionMode: codepipeline.ExecutionMode;
  /** The build project (shared by a stage's pipelines). */
  readonly project: codebuild.IProject;
  readonly artifactBucket: s3.IBucket;
  readonly sourceBucket: s3.IBucket;
  /** Key of the source zip in the source bucket. */
  readonly sourceKey: string;
  /** Variables besides COMMIT and DELIVERY_ID. */
  readonly variables: codepipeline.Variable[];
  /** Build action variables besides COMMIT and DELIVERY_ID. */
  readonly buildEnvironment: Record<string, codebuild.BuildEnvironmentVariable>;
  /**
   * The last stage (and its one action): it starts `stackpilot-<kind>` with `input` followed
   * by the built `image` and `commit`.
   */
  readonly invoke: { readonly stageName: string; readonly kind: StateMachineKind; readonly input: object };
}

/**
 * A V2 pipeline: Source = the S3 object `sourceKey`, no polling and no event trigger (the deploy
 * state machine starts it pinned to an object version) -> Build = the project, with the pipeline's
 * COMMIT and DELIVERY_ID, exporting IMAGE_URI and COMMIT -> the state machine `stackpilot-<kind>`,
 * invoked by name.
 */
function sourceToStateMachine(scope: Construct, id: string, spec: PipelineSpec): codepipeline.Pipeline {
  const pipeline = new codepipeline.Pipeline(scope, id, {
    pipelineName: spec.pipelineName,
    pipelineType: codepipeline.PipelineType.V2,
    executionMode: spec.executionMode,
    artifactBucket: spec.artifactBucket,
    restartExecutionOnUpdate: false,
    variables: [
      new codepipeline.Variable({
        variableName: PIPELINE_CONTRACT.variables.commit,
        defaultValue: 'HEAD',
        description:
          'Commit being deployed (set by the deploy state machine; HEAD = the commit in the source zip)',
      }),
      new codepipeline.Variable({
        variableName: PIPELINE_CONTRACT.variables.deliveryId,
        defaultValue: 'manual',
        description: 'Webhook delivery that started this execution',
      }),
      ...spec.variables,
    ],
  });

  const source = new codepipeline.Artifact('Source');
  pipeline.addStage({
    stageName: 'Source',
    actions: [
      new actions.S3SourceAction({
        actionName: PIPELINE_CONTRACT.sourceActionName,
        bucket: spec.sourceBucket,
        bucketKey: spec.sourceKey,
        // The deploy state machine starts the pipeline with the exact object version it uploaded.
        trigger: actions.S3Trigger.NONE,
        output: source,
      }),
    ],
  });
  pipeline.addStage({
    stageName: 'Build',
    actions: [
      new actions.CodeBuildAction({
        actionName: 'Build',
        project: spec.project,
        input: source,
        variablesNamespace: PIPELINE_CONTRACT.buildNamespace,
        environmentVariables: {
          COMMIT: { value: `#{variables.${PIPELINE_CONTRACT.variables.commit}}` },
          DELIVERY_ID: { value: `#{variables.${PIPELINE_CONTRACT.variables.deliveryId}}` },
          ...spec.buildEnvironment,
        },
      }),
    ],
  });
  // By name, not by reference: the state machines live in the control plane stack.
  const { stageName, kind, input } = spec.invoke;
  const stateMachine = sfn.StateMachine.fromStateMachineName(
    scope,
    `${stageName}StateMachine`,
    stateMachineName(kind),
  );
  pipeline.addStage({
    stageName,
    actions: [
      new actions.StepFunctionInvokeAction({
        actionName: stageName,
        stateMachine,
        // CodePipeline resolves #{…} variables inside the action's configuration, including this input.
        stateMachineInput: actions.StateMachineInput.literal({
          ...input,
          image: `#{${PIPELINE_CONTRACT.buildNamespace}.IMAGE_URI}`,
          commit: `#{${PIPELINE_CONTRACT.buildNamespace}.COMMIT}`,
        }),
      }),
    ],
  });

  acknowledge(
    pipeline,
    `CDK grants of this pipeline only: objects of its artifact bucket, versions of the source zip key in the source bucket, and the executions of the ${kind} state machine it starts (execution ARNs are only known at run time).`,
    ...artifactFindings(spec.artifactBucket),
    wildcardResource(`${arnPrefix(scope, 'states')}execution:${stateMachineName(kind)}:*`),
  );
  return pipeline;
}

/** The IAM5 findings of CDK's grants on the objects of a pipeline artifact bucket. */
function artifactFindings(artifacts: s3.IBucket): string[] {
  return [
    wildcardAction('s3:GetObject*'),
    wildcardAction('s3:GetBucket*'),
    wildcardAction('s3:List*'),
    wildcardAction('s3:DeleteObject*'),
    wildcardAction('s3:Abort*'),
    wildcardResource(`${arnToken(artifacts)}/*`),
  ];
}
