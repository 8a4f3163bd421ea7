import { CfnOutput, Duration, RemovalPolicy, Size, Stack, Validations } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { allStages, type StackpilotConfig } from '#shared/config.ts';
import { stageNames } from '#shared/naming.ts';
import { PACKAGING_NODE_FLAGS } from '#shared/source/memory.ts';
import { secretArns } from './secret-arns.ts';
import { StackpilotFunction } from './stackpilot-function.ts';
import { definitionPath, StackpilotStateMachine } from './stackpilot-state-machine.ts';

/** The ASL file of the `deploy` state machine. */
export const DEPLOY_DEFINITION_PATH = definitionPath('deploy');

/** Webhook routes of the HTTP API, by git provider. */
export const WEBHOOK_ROUTES = { github: '/webhooks/github', gitlab: '/webhooks/gitlab' } as const;

export interface DeployWorkflowProps {
  /** The validated `stackpilot.yml`: the stages whose pipelines and source keys the functions may touch. */
  readonly config: StackpilotConfig;
  /** Versioned bucket of the source zips (`sources/<app>/<stage>/source.zip`). */
  readonly sourceBucket: s3.IBucket;
  /** Task of the `.waitForTaskToken` wait for the pipeline (stores the token for the relay). */
  readonly awaitEventFunction: lambda.IFunction;
  /** HMAC secret of the GitHub webhooks. */
  readonly githubWebhookSecret: secretsmanager.ISecret;
  /** Shared token of the GitLab webhooks. */
  readonly gitlabWebhookToken: secretsmanager.ISecret;
  /**
   * How long a deploy waits for its pipeline before failing with `PipelineTimedOut`.
   * @default 60
   */
  readonly pipelineTimeoutMinutes?: number;
  /**
   * Steady-state requests per second the webhook API accepts (bursts up to twice as many).
   * Pushes come at human pace; the limit keeps a flood of forged deliveries from costing much.
   * @default 10
   */
  readonly webhookRateLimit?: number;
}

/**
 * The push path: the webhook endpoint (API Gateway HTTP API -> webhook function), and the
 * `deploy` state machine (Package Source -> Start Pipeline -> wait for the pipeline's end
 * event, with a sparse fallback check) with its three functions and the shared await function, from `state-machines/deploy.asl.json`.
 *
 * Permissions name resources: the functions may write only the configured stages' source
 * keys and start and read only the configured stages' pipelines.
 */
export class DeployWorkflow extends Construct {
  readonly stateMachine: StackpilotStateMachine;
  readonly webhookFunction: StackpilotFunction;
  readonly packageSourceFunction: StackpilotFunction;
  readonly startPipelineFunction: StackpilotFunction;
  readonly checkPipelineFunction: StackpilotFunction;
  readonly api: apigwv2.HttpApi;
  /** `https://…/webhooks/github`: the Payload URL of the GitHub webhooks. */
  readonly githubWebhookUrl: string;
  /** `https://…/webhooks/gitlab`: the URL of the GitLab webhooks. */
  readonly gitlabWebhookUrl: string;

  constructor(scope: Construct, id: string, props: DeployWorkflowProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const stages = allStages(props.config);

    // --- Package Source: clone + zip + multipart upload, CPU- and I/O-bound.
    this.packageSourceFunction = new StackpilotFunction(this, 'PackageSource', {
      folder: 'package-source',
      workflow: 'deploy',
      description: 'stackpilot deploy: clones the pushed commit and uploads it as the stage source zip',
      // 1769 MB is one full vCPU: zipping is CPU-bound and single-threaded.
      memorySize: 1769,
      timeout: Duration.minutes(15),
      // Room for a checkout of a large repository if the function spills to /tmp.
      ephemeralStorageSize: Size.gibibytes(2),
      environment: {
        SOURCE_BUCKET: props.sourceBucket.bucketName,
        // Packaging's memory flags (explicit collections, a small young generation): peak RSS
        // 138 MB instead of 214 MB for 70,000 files (shared/source/memory.ts, the bench uses the same).
        NODE_OPTIONS: ['--enable-source-maps', ...PACKAGING_NODE_FLAGS].join(' '),
      },
      config: props.config,
    });
    this.packageSourceFunction.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'WriteStageSourceZips',
        // PutObject covers CreateMultipartUpload, UploadPart and CompleteMultipartUpload.
        actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
        resources: stages.map((s) => props.sourceBucket.arnForObjects(stageNames(s.app, s.stage).sourceKey)),
      }),
    );
    const tokenSecrets = [
      ...new Set(Object.values(props.config.apps).flatMap((a) => a.repository.tokenSecret ?? [])),
    ];
    if (tokenSecrets.length > 0) {
      this.packageSourceFunction.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'ReadRepositoryTokens',
          actions: ['secretsmanager:GetSecretValue'],
          resources: tokenSecrets.flatMap((secret) => secretArns(stack, secret)),
        }),
      );
    }

    // --- Start Pipeline and Check Pipeline: one CodePipeline call or two each.
    const pipelineArns = stages.map((s) =>
      stack.formatArn({ service: 'codepipeline', resource: stageNames(s.app, s.stage).pipeline }),
    );
    this.startPipelineFunction = new StackpilotFunction(this, 'StartPipeline', {
      folder: 'start-pipeline',
      workflow: 'deploy',
      description: 'stackpilot deploy: starts the stage pipeline on the uploaded source zip version',
      timeout: Duration.seconds(30),
    });
    this.startPipelineFunction.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'StartStagePipelines',
        actions: ['codepipeline:StartPipelineExecution'],
        resources: pipelineArns,
      }),
    );
    this.checkPipelineFunction = new StackpilotFunction(this, 'CheckPipeline', {
      folder: 'check-pipeline',
      workflow: 'deploy',
      description:
        'stackpilot deploy: reads the pipeline execution status and, on failure, the failed action',
      timeout: Duration.seconds(30),
      environment: { PIPELINE_TIMEOUT_MINUTES: String(props.pipelineTimeoutMinutes ?? 60) },
    });
    this.checkPipelineFunction.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadStagePipelineExecutions',
        actions: ['codepipeline:GetPipelineExecution', 'codepipeline:ListActionExecutions'],
        resources: pipelineArns,
      }),
    );

    // --- The state machine, from its ASL file (inputs carry a commit, a repository URL, S3 coordinates).
    this.stateMachine = new StackpilotStateMachine(this, 'StateMachine', {
      kind: 'deploy',
      comment: 'stackpilot deploy: source zip -> pipeline -> result',
      tasks: {
        PackageSourceFunctionArn: this.packageSourceFunction,
        StartPipelineFunctionArn: this.startPipelineFunction,
        CheckPipelineFunctionArn: this.checkPipelineFunction,
        AwaitEventFunctionArn: props.awaitEventFunction,
      },
    });

    // --- The webhook: verify, decide, start the state machine.
    this.webhookFunction = new StackpilotFunction(this, 'Webhook', {
      folder: 'webhook',
      workflow: 'deploy',
      description: 'stackpilot: verifies GitHub/GitLab push webhooks and starts the deploy state machine',
      timeout: Duration.seconds(15),
      environment: { DEPLOY_STATE_MACHINE_ARN: this.stateMachine.stateMachineArn },
      config: props.config,
    })
      .bindSecret('GITHUB_WEBHOOK_SECRET_ARN', props.githubWebhookSecret)
      .bindSecret('GITLAB_WEBHOOK_TOKEN_ARN', props.gitlabWebhookToken);
    this.webhookFunction.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'StartDeployExecutions',
        actions: ['states:StartExecution'],
        resources: [this.stateMachine.stateMachineArn],
      }),
    );

    // --- The HTTP API in front of the webhook.
    const rateLimit = props.webhookRateLimit ?? 10;
    this.api = new apigwv2.HttpApi(this, 'WebhookApi', {
      apiName: 'stackpilot-webhooks',
      description: 'stackpilot: GitHub and GitLab push webhooks',
      // The stage is declared below, with access logs and throttling.
      createDefaultStage: false,
    });
    const accessLogs = new logs.LogGroup(this, 'WebhookApiAccessLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const stage = new apigwv2.HttpStage(this, 'WebhookApiStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit, burstLimit: rateLimit * 2 },
      accessLogSettings: { destination: new apigwv2.LogGroupLogDestination(accessLogs) },
    });
    const integration = new HttpLambdaIntegration('WebhookIntegration', this.webhookFunction, {
      payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
    });
    for (const path of Object.values(WEBHOOK_ROUTES)) {
      for (const route of this.api.addRoutes({ path, methods: [apigwv2.HttpMethod.POST], integration })) {
        Validations.of(route).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason:
            'GitHub and GitLab cannot sign requests for IAM or send a JWT: the function authenticates every delivery itself (HMAC-SHA256 signature or shared token, constant-time) before reading it.',
        });
      }
    }

    const base = stage.url.replace(/\/$/, '');
    this.githubWebhookUrl = `${base}${WEBHOOK_ROUTES.github}`;
    this.gitlabWebhookUrl = `${base}${WEBHOOK_ROUTES.gitlab}`;
    // Plain output keys (no construct-path hash), so the docs and scripts can name them.
    const outputs: Record<string, { value: string; description: string }> = {
      GithubWebhookUrl: {
        value: this.githubWebhookUrl,
        description: 'Payload URL of the GitHub webhooks (content type application/json)',
      },
      GitlabWebhookUrl: {
        value: this.gitlabWebhookUrl,
        description: 'URL of the GitLab webhooks (push events)',
      },
      GithubWebhookSecretArn: {
        value: props.githubWebhookSecret.secretArn,
        description: 'Secret to paste as the GitHub webhook secret (aws secretsmanager get-secret-value)',
      },
      GitlabWebhookTokenArn: {
        value: props.gitlabWebhookToken.secretArn,
        description:
          'Secret to paste as the GitLab webhook secret token (aws secretsmanager get-secret-value)',
      },
      DeployStateMachineArn: {
        value: this.stateMachine.stateMachineArn,
        description:
          'The deploy state machine: start it with events/samples/deploy-input.json to deploy a commit',
      },
    };
    for (const [key, output] of Object.entries(outputs)) {
      new CfnOutput(this, key, output).overrideLogicalId(key);
    }
  }
}
