import { Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import type { StackpilotConfig } from '#shared/config.ts';
import { previewPipelineName, previewPrefix, previewSourceKey } from '#shared/naming.ts';
import { PREVIEW_STATE_MACHINE_ARN_ENV } from '#shared/preview/model.ts';
import { PREVIEW_BUCKET_ENV } from '#shared/preview/records.ts';
import { DeployWorkflow } from '../constructs/deploy-workflow.ts';
import { ExecutionNotifications } from '../constructs/execution-notifications.ts';
import { PreviewWorkflow, previewStages } from '../constructs/preview-workflow.ts';
import { ReleaseWorkflow } from '../constructs/release-workflow.ts';
import { ScaleWorkflow } from '../constructs/scale-workflow.ts';
import { TaskCallbacks } from '../constructs/task-callbacks.ts';

export interface ControlPlaneStackProps extends StackProps {
  /** The validated `stackpilot.yml`. */
  readonly config: StackpilotConfig;
}

/**
 * The control plane: the webhook endpoint, the source bucket, the state machines and the
 * rules that start them. One per account and region; the app stages refer to it.
 */
export class ControlPlaneStack extends Stack {
  /** Versioned, encrypted bucket of source zips (`sources/<app>/<stage>/source.zip`), the pipelines' source. */
  readonly sourceBucket: s3.Bucket;
  /** HMAC secret of GitHub webhooks (`X-Hub-Signature-256`). */
  readonly githubWebhookSecret: secretsmanager.Secret;
  /** Shared token of GitLab webhooks (`X-Gitlab-Token`). */
  readonly gitlabWebhookToken: secretsmanager.Secret;
  /** The push path: webhook API and function, the `deploy` state machine and its functions. */
  readonly deploy: DeployWorkflow;
  /** The `release` state machine (`stackpilot-release`) and its functions. */
  readonly release: ReleaseWorkflow;
  /** The `scale` state machine, its functions and the rules that start it. */
  readonly scale: ScaleWorkflow;
  /** Commit statuses of deploys and alerts of failed releases, from the executions' events. */
  readonly notifications: ExecutionNotifications;
  /** The `preview` state machine (`stackpilot-preview`), its functions and the expiry; only when an app has `previews`. */
  readonly preview?: PreviewWorkflow;

  constructor(scope: Construct, id: string, props: ControlPlaneStackProps) {
    super(scope, id, props);

    const accessLogs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      lifecycleRules: [{ expiration: Duration.days(90) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.sourceBucket = new s3.Bucket(this, 'Sources', {
      versioned: true,
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'sources/',
      lifecycleRules: [
        // Old source versions are only needed while a pipeline may still read them.
        { noncurrentVersionExpiration: Duration.days(30) },
        // A multipart upload that was neither completed nor aborted (a killed Lambda) is cleaned up.
        { abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.githubWebhookSecret = new secretsmanager.Secret(this, 'GithubWebhookSecret', {
      description: 'stackpilot: secret of the GitHub webhooks (Settings > Webhooks > Secret)',
      generateSecretString: { passwordLength: 40, excludePunctuation: true },
    });
    this.gitlabWebhookToken = new secretsmanager.Secret(this, 'GitlabWebhookToken', {
      description: 'stackpilot: secret token of the GitLab webhooks (Settings > Webhooks > Secret token)',
      generateSecretString: { passwordLength: 40, excludePunctuation: true },
    });
    for (const secret of [this.githubWebhookSecret, this.gitlabWebhookToken]) {
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'A webhook secret is also stored at the git provider; rotating it here alone would break deliveries. Rotate both by hand (docs/push-path.md, "Secrets and rotation").',
      });
    }
    // Waits resume on the pipeline's and the deployment's end events (tokens under callbacks/).
    const callbacks = new TaskCallbacks(this, 'Callbacks', { bucket: this.sourceBucket });
    this.deploy = new DeployWorkflow(this, 'Deploy', {
      config: props.config,
      sourceBucket: this.sourceBucket,
      awaitEventFunction: callbacks.awaitFunction,
      githubWebhookSecret: this.githubWebhookSecret,
      gitlabWebhookToken: this.gitlabWebhookToken,
    });
    this.scale = new ScaleWorkflow(this, 'Scale', { config: props.config });
    this.release = new ReleaseWorkflow(this, 'Release', {
      config: props.config,
      awaitEventFunction: callbacks.awaitFunction,
      historyBucket: this.sourceBucket,
    });
    this.notifications = new ExecutionNotifications(this, 'Notifications', {
      config: props.config,
      deployStateMachine: this.deploy.stateMachine,
      releaseStateMachine: this.release.stateMachine,
    });
    if (previewStages(props.config).length > 0) {
      this.preview = new PreviewWorkflow(this, 'Preview', {
        config: props.config,
        bucket: this.sourceBucket,
      });
      this.connectPreviews(props.config, this.preview);
    }
  }

  /**
   * The push path's part in previews: the webhook counts a stage's open previews (its records)
   * and starts the `preview` state machine (removals) or a deploy (builds); the deploy packages a
   * pull request as the stage's previews source zip and starts the stage's preview pipeline.
   */
  private connectPreviews(config: StackpilotConfig, preview: PreviewWorkflow): void {
    const stages = previewStages(config);
    const { webhookFunction, packageSourceFunction, startPipelineFunction, checkPipelineFunction } =
      this.deploy;
    webhookFunction.addEnvironment(PREVIEW_STATE_MACHINE_ARN_ENV, preview.stateMachine.stateMachineArn);
    webhookFunction.addEnvironment(PREVIEW_BUCKET_ENV, this.sourceBucket.bucketName);
    webhookFunction.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'StartPreviewExecutions',
        actions: ['states:StartExecution'],
        resources: [preview.stateMachine.stateMachineArn],
      }),
    );
    const recordPrefixes = stages.map((s) => `${previewPrefix(s.app, s.stage)}*`);
    webhookFunction.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'CountOpenPreviews',
        actions: ['s3:ListBucket'],
        resources: [this.sourceBucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': recordPrefixes } },
      }),
    );
    packageSourceFunction.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'WritePreviewSourceZips',
        // PutObject covers CreateMultipartUpload, UploadPart and CompleteMultipartUpload.
        actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
        resources: stages.map((s) => this.sourceBucket.arnForObjects(previewSourceKey(s.app, s.stage))),
      }),
    );
    const pipelines = stages.map((s) =>
      this.formatArn({ service: 'codepipeline', resource: previewPipelineName(s.app, s.stage) }),
    );
    startPipelineFunction.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'StartPreviewPipelines',
        actions: ['codepipeline:StartPipelineExecution'],
        resources: pipelines,
      }),
    );
    // The deploy waits for the preview pipeline as for a stage's (and checks it the same way).
    checkPipelineFunction.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadPreviewPipelineExecutions',
        actions: ['codepipeline:GetPipelineExecution', 'codepipeline:ListActionExecutions'],
        resources: pipelines,
      }),
    );
  }
}
