/**
 * The AWS SDK v3 clients of the functions: created once per process, traced.
 *
 * Every adapter is handed its client from here (a required parameter, passed by the
 * feature's deps factory such as `releaseDeps()`), so there is one place to configure them
 * and one place where the sandbox attaches its emulated account (a middleware on each
 * client's stack) without touching the adapters.
 *
 * The deps factories (and the few handlers without one) import the named clients they use
 * (`ecsClient`): each is marked pure, so a function's bundle only carries the SDK clients it
 * really calls. The `clients` record holds them all, for the sandbox and tests that attach
 * to every client.
 */
import { ApiGatewayV2Client } from '@aws-sdk/client-apigatewayv2';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ServiceDiscoveryClient } from '@aws-sdk/client-servicediscovery';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { tracer } from '../powertools.ts';

/** Adaptive retry mode backs off on throttling across calls, not just within one. */
const common = { retryMode: 'adaptive', maxAttempts: 5 } as const;

export const apiGatewayV2Client = /* @__PURE__ */ tracer.captureAWSv3Client(
  /* @__PURE__ */ new ApiGatewayV2Client(common),
);
export const autoScalingClient = /* @__PURE__ */ tracer.captureAWSv3Client(
  /* @__PURE__ */ new AutoScalingClient(common),
);
export const cloudWatchClient = /* @__PURE__ */ tracer.captureAWSv3Client(
  /* @__PURE__ */ new CloudWatchClient(common),
);
export const codePipelineClient = /* @__PURE__ */ tracer.captureAWSv3Client(
  /* @__PURE__ */ new CodePipelineClient(common),
);
export const ecrClient = /* @__PURE__ */ tracer.captureAWSv3Client(/* @__PURE__ */ new ECRClient(common));
export const ecsClient = /* @__PURE__ */ tracer.captureAWSv3Client(/* @__PURE__ */ new ECSClient(common));
export const elbv2Client = /* @__PURE__ */ tracer.captureAWSv3Client(
  /* @__PURE__ */ new ElasticLoadBalancingV2Client(common),
);
export const eventBridgeClient = /* @__PURE__ */ tracer.captureAWSv3Client(
  /* @__PURE__ */ new EventBridgeClient(common),
);
export const s3Client = /* @__PURE__ */ tracer.captureAWSv3Client(/* @__PURE__ */ new S3Client(common));
export const secretsManagerClient = /* @__PURE__ */ tracer.captureAWSv3Client(
  /* @__PURE__ */ new SecretsManagerClient(common),
);
export const serviceDiscoveryClient = /* @__PURE__ */ tracer.captureAWSv3Client(
  /* @__PURE__ */ new ServiceDiscoveryClient(common),
);
export const sfnClient = /* @__PURE__ */ tracer.captureAWSv3Client(/* @__PURE__ */ new SFNClient(common));
export const ssmClient = /* @__PURE__ */ tracer.captureAWSv3Client(/* @__PURE__ */ new SSMClient(common));

/** Every client, by service: what the sandbox attaches its emulated account to. */
export const clients = {
  apiGatewayV2: apiGatewayV2Client,
  autoScaling: autoScalingClient,
  cloudWatch: cloudWatchClient,
  codePipeline: codePipelineClient,
  ecr: ecrClient,
  ecs: ecsClient,
  elbv2: elbv2Client,
  eventBridge: eventBridgeClient,
  s3: s3Client,
  secretsManager: secretsManagerClient,
  serviceDiscovery: serviceDiscoveryClient,
  sfn: sfnClient,
  ssm: ssmClient,
};

export type Clients = typeof clients;
