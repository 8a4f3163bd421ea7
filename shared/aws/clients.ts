/**
 * The AWS SDK v3 clients of the functions: created once per process, traced.
 *
 * Every adapter takes its client from here, so there is one place to configure them
 * and one place where the sandbox attaches its emulated account (a middleware on each
 * client's stack) without touching the adapters.
 */
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient } from '@aws-sdk/client-ecs';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { tracer } from '../powertools.ts';

/** Adaptive retry mode backs off on throttling across calls, not just within one. */
const common = { retryMode: 'adaptive', maxAttempts: 5 } as const;

export const clients = {
  autoScaling: tracer.captureAWSv3Client(new AutoScalingClient(common)),
  cloudWatch: tracer.captureAWSv3Client(new CloudWatchClient(common)),
  codePipeline: tracer.captureAWSv3Client(new CodePipelineClient(common)),
  ecr: tracer.captureAWSv3Client(new ECRClient(common)),
  ecs: tracer.captureAWSv3Client(new ECSClient(common)),
  eventBridge: tracer.captureAWSv3Client(new EventBridgeClient(common)),
  s3: tracer.captureAWSv3Client(
    new S3Client({ ...common, forcePathStyle: process.env.S3_FORCE_PATH_STYLE === 'true' }),
  ),
  secretsManager: tracer.captureAWSv3Client(new SecretsManagerClient(common)),
  sfn: tracer.captureAWSv3Client(new SFNClient(common)),
};

export type Clients = typeof clients;
