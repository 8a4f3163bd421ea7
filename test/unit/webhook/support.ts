/** Events, secrets and configuration shared by the webhook tests. */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { CONFIG_ENV, parseConfig } from '#shared/config.ts';

/** The `X-Hub-Signature-256` value GitHub sends for `body`: `sha256=` and the HMAC-SHA256 of its bytes under the secret. */
export function githubSignature(secret: string, body: Uint8Array | string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export const GITHUB_SECRET = "It's a Secret to Everybody";
export const GITLAB_TOKEN = 'glpat-webhook-token-0123456789';
export const GITHUB_SECRET_ARN =
  'arn:aws:secretsmanager:us-east-1:111122223333:secret:stackpilot-github-AbCdEf';
export const GITLAB_TOKEN_ARN =
  'arn:aws:secretsmanager:us-east-1:111122223333:secret:stackpilot-gitlab-GhIjKl';
export const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:111122223333:stateMachine:stackpilot-deploy';
export const PREVIEW_STATE_MACHINE_ARN =
  'arn:aws:states:us-east-1:111122223333:stateMachine:stackpilot-preview';
export const PREVIEW_BUCKET = 'stackpilot-control-sources-111122223333';

/** Hello-World (GitHub's documentation repository) on two stages, Diaspora (GitLab's sample) on one. */
export const config = parseConfig({
  apps: {
    hello: {
      repository: { provider: 'github', url: 'https://github.com/Codertocat/Hello-World.git' },
      stages: { prod: { branch: 'master' } },
    },
    diaspora: {
      repository: { provider: 'gitlab', url: 'https://gitlab.example.com/mike/diaspora.git' },
      stages: { prod: { branch: 'master' }, dev: { branch: 'develop' } },
    },
  },
});

/**
 * Previews of the repositories of GitHub's pull_request examples (Codertocat/Hello-World) and of
 * GitLab's documented merge request (the hook's project gitlabhq/gitlab-test), in stage `dev`.
 */
export const previewConfig = parseConfig({
  apps: {
    hello: {
      repository: { provider: 'github', url: 'https://github.com/Codertocat/Hello-World.git' },
      stages: { prod: { branch: 'master' }, dev: { branch: 'develop' } },
      previews: { stage: 'dev', max: 2 },
    },
    gitlab: {
      repository: { provider: 'gitlab', url: 'http://example.com/gitlabhq/gitlab-test.git' },
      stages: { dev: { branch: 'master' } },
      previews: { stage: 'dev' },
    },
  },
});

/** Sets the function's environment (the handler reads it on first use); the configuration travels inline, as in the sandbox. */
let secretArns = { github: GITHUB_SECRET_ARN, gitlab: GITLAB_TOKEN_ARN };
let secretsGiven = 0;

/**
 * Secret ARNs of their own for the next test, which {@link setEnvironment} then sets: the
 * webhook caches a secret per ARN for minutes, so a test reusing an ARN would read the last one's.
 */
export function newSecretArns(): { github: string; gitlab: string } {
  secretsGiven++;
  secretArns = {
    github: `${GITHUB_SECRET_ARN}-${secretsGiven}`,
    gitlab: `${GITLAB_TOKEN_ARN}-${secretsGiven}`,
  };
  return secretArns;
}

export function setEnvironment(value = config): void {
  process.env.PREVIEW_STATE_MACHINE_ARN = PREVIEW_STATE_MACHINE_ARN;
  process.env.PREVIEW_BUCKET = PREVIEW_BUCKET;
  process.env.DEPLOY_STATE_MACHINE_ARN = STATE_MACHINE_ARN;
  process.env.GITHUB_WEBHOOK_SECRET_ARN = secretArns.github;
  process.env.GITLAB_WEBHOOK_TOKEN_ARN = secretArns.gitlab;
  process.env[CONFIG_ENV] = JSON.stringify(value);
}

export function sample(name: string): string {
  return readFileSync(new URL(`../../../events/samples/${name}`, import.meta.url), 'utf8');
}

interface EventOptions {
  readonly method?: string;
  readonly path?: string;
  readonly headers?: Record<string, string>;
  readonly base64?: boolean;
}

/** An API Gateway HTTP API (payload 2.0) event carrying `body`. */
export function httpEvent(body: string | Buffer, options: EventOptions = {}): APIGatewayProxyEventV2 {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const path = options.path ?? '/webhooks/github';
  const method = options.method ?? 'POST';
  // Bytes travel base64-encoded unless the test asks for a text body (API Gateway's choice).
  const base64 = options.base64 ?? typeof body !== 'string';
  return {
    version: '2.0',
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: '',
    headers: { 'content-type': 'application/json', ...options.headers },
    requestContext: {
      accountId: '111122223333',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: {
        method,
        path,
        protocol: 'HTTP/1.1',
        sourceIp: '192.0.2.10',
        userAgent: 'GitHub-Hookshot/044aadd',
      },
      requestId: 'req-1',
      routeKey: `${method} ${path}`,
      stage: '$default',
      time: '21/Nov/2026:23:40:00 +0000',
      timeEpoch: 1_795_300_800_000,
    },
    body: base64 ? bytes.toString('base64') : bytes.toString('utf8'),
    isBase64Encoded: base64,
  };
}

/** A GitHub delivery, signed with {@link GITHUB_SECRET} unless the headers say otherwise. */
export function githubEvent(
  body: string | Buffer,
  options: EventOptions & { event?: string; delivery?: string } = {},
): APIGatewayProxyEventV2 {
  const event = httpEvent(body, {
    ...options,
    path: options.path ?? '/webhooks/github',
    headers: {
      'x-github-event': options.event ?? 'push',
      'x-github-delivery': options.delivery ?? '72d3162e-cc78-11e3-81ab-4c9367dc0958',
      'user-agent': 'GitHub-Hookshot/044aadd',
    },
  });
  // Sign the bytes the event carries (a text body holds the bytes as UTF-8 text).
  const carried = Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8');
  event.headers = {
    ...event.headers,
    'x-hub-signature-256': githubSignature(GITHUB_SECRET, carried),
    ...options.headers,
  };
  return event;
}

/** A GitLab delivery with the right token unless the headers say otherwise. */
export function gitlabEvent(
  body: string | Buffer,
  options: EventOptions & { event?: string; delivery?: string } = {},
): APIGatewayProxyEventV2 {
  return httpEvent(body, {
    ...options,
    path: options.path ?? '/webhooks/gitlab',
    headers: {
      'x-gitlab-event': options.event ?? 'Push Hook',
      'x-gitlab-event-uuid': options.delivery ?? '13792a34-cac6-4fda-95a8-c58e00a3954e',
      'x-gitlab-token': GITLAB_TOKEN,
      ...options.headers,
    },
  });
}

/** The Lambda context a test invocation runs with. */
export const context = {
  callbackWaitsForEmptyEventLoop: false,
  functionName: 'stackpilot-webhook',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:111122223333:function:stackpilot-webhook',
  memoryLimitInMB: '256',
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
  logGroupName: '/aws/lambda/stackpilot-webhook',
  logStreamName: '2026/11/21/[$LATEST]abcdef',
  getRemainingTimeInMillis: () => 30_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
} satisfies Context;
