/**
 * The webhook's one step (API Gateway HTTP API payload 2.0, or a Lambda function URL):
 * `POST /webhooks/github` and `POST /webhooks/gitlab`. Verifies the delivery, decides whether
 * the push deploys anything, and starts one `deploy` execution per tracked stage, named after
 * the delivery so a redelivery answers with the execution it already started. Pull (merge)
 * request events deploy or remove previews (`preview-flow.ts`). Takes the HTTP event and
 * `{clients}`; answers with the HTTP response.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { type Clients, s3Client, secretsManagerClient, sfnClient } from '../aws/clients.ts';
import { getSecretText } from '../aws/secrets.ts';
import { startNamedExecution } from '../aws/stepfunctions.ts';
import { isTransient } from '../errors.ts';
import { logger } from '../powertools.ts';
import { listPreviewNumbers } from '../preview/records.ts';
import { classifyEvent, decidePush } from './decide.ts';
import { type WebhookEnvironment, webhookEnvironment } from './environment.ts';
import { answerPullRequest, type PreviewPorts } from './preview-flow.ts';
import { parseGithubPullRequest, parseGitlabMergeRequest } from './pull-request.ts';
import { parseGithubPush, parseGitlabPush, parseJsonBody } from './push.ts';
import { deliveryId, header, json, type Provider, rawBody, route } from './request.ts';
import { verifyGithubSignature, verifyGitlabToken } from './signature.ts';

type Response = APIGatewayProxyStructuredResultV2;

/** What the webhook uses: Secrets Manager (its secret), Step Functions (the starts), S3 (the open previews). */
export interface WebhookDeps {
  readonly clients: Pick<Clients, 's3' | 'secretsManager' | 'sfn'>;
}

/**
 * The deployed function's dependencies: the shared clients (the named ones, not the `clients`
 * record, so the bundle carries only the SDK clients it calls). The environment is read per
 * delivery: a misconfigured webhook answers 500 and logs the variable.
 */
export function webhookDeps(): WebhookDeps {
  return { clients: { s3: s3Client, secretsManager: secretsManagerClient, sfn: sfnClient } };
}

/** The production ports of the preview flow: the preview records in S3 and Step Functions. */
function previewPorts(env: WebhookEnvironment, deps: WebhookDeps): PreviewPorts | undefined {
  const { previews } = env;
  if (!previews) return undefined;
  const { s3, sfn } = deps.clients;
  return {
    listOpenPreviews: (app, stage) => listPreviewNumbers(previews.bucket, app, stage, s3),
    startDeploy: (name, input) => startNamedExecution(env.deployStateMachineArn, name, input, sfn),
    startPreview: (name, input) => startNamedExecution(previews.stateMachineArn, name, input, sfn),
  };
}

/** A real AWS failure: 503 (retry later) when transient, else 502; the details go to the log only. */
function awsFailure(what: string, error: unknown): Response {
  logger.error(`${what} failed`, { error: error as Error });
  return isTransient(error)
    ? json(503, { message: `${what} failed temporarily; redeliver later` }, { 'retry-after': '10' })
    : json(502, { message: `${what} failed (${(error as Error).name}); see the webhook's logs` });
}

function ignored(reason: string, delivery: string): Response {
  logger.info('delivery ignored', { deliveryId: delivery, reason });
  return json(200, { ignored: reason });
}

/** One delivery: route, body, environment, authentication, then a push or a pull request. */
export async function answerWebhook(event: APIGatewayProxyEventV2, deps: WebhookDeps): Promise<Response> {
  const target = route(event);
  if (!target.ok) return json(target.status, { message: target.message });
  const { provider } = target;
  const body = rawBody(event);
  if (!body.ok) return json(body.status, { message: body.message });

  let env: WebhookEnvironment;
  try {
    env = webhookEnvironment();
  } catch (error) {
    logger.error('webhook misconfigured', { error: error as Error });
    return json(500, { message: "the webhook is misconfigured; see the webhook's logs" });
  }

  // Authenticate before reading anything of the body.
  let secret: string;
  try {
    secret = await getSecretText(
      provider === 'github' ? env.githubSecretArn : env.gitlabTokenArn,
      deps.clients.secretsManager,
    );
  } catch (error) {
    return awsFailure('reading the webhook secret', error);
  }
  if (provider === 'github') {
    const signature = header(event.headers, 'x-hub-signature-256');
    if (!signature)
      return json(401, { message: 'missing X-Hub-Signature-256 header: set a secret on the webhook' });
    if (!verifyGithubSignature(secret, body.bytes, signature)) {
      return json(401, { message: 'X-Hub-Signature-256 does not match the body and the webhook secret' });
    }
  } else {
    const token = header(event.headers, 'x-gitlab-token');
    if (token === undefined)
      return json(401, { message: 'missing X-Gitlab-Token header: set a secret token on the webhook' });
    if (!verifyGitlabToken(secret, token))
      return json(401, { message: 'X-Gitlab-Token does not match the webhook token' });
  }

  const delivery = deliveryId(provider, event.headers, body.bytes);
  const kind = classifyEvent(
    provider,
    header(event.headers, provider === 'github' ? 'x-github-event' : 'x-gitlab-event'),
  );
  if (kind.kind === 'ignored') return ignored(kind.ignored, delivery);
  const document = parseJsonBody(body.bytes, header(event.headers, 'content-type'));
  if (!document.ok) return json(document.status, { message: document.message });
  if (kind.kind === 'pull-request') return pullRequest(env, provider, document.value, delivery, deps);
  const push = provider === 'github' ? parseGithubPush(document.value) : parseGitlabPush(document.value);
  if (!push.ok) return json(push.status, { message: push.message });

  const decision = decidePush(env.config, push.value, delivery);
  if (!decision.deploy) return ignored(decision.ignored, delivery);

  let executions: Array<{ app: string; stage: string; executionArn: string; executionName: string }>;
  try {
    executions = await Promise.all(
      decision.deployments.map(async ({ app, stage, executionName, input }) => {
        const started = await startNamedExecution(
          env.deployStateMachineArn,
          executionName,
          input,
          deps.clients.sfn,
        );
        return { app, stage, executionArn: started.executionArn, executionName: started.executionName };
      }),
    );
  } catch (error) {
    return awsFailure('starting the deploy', error);
  }
  const { skipped } = decision;
  logger.info('deploy started', { deliveryId: delivery, commit: push.value.commit, executions, skipped });
  // Stages of the branch this push leaves alone (promotion-only stages, monorepo apps it does not touch), with why.
  const more = skipped.length > 0 ? { skipped } : {};
  const [only] = executions;
  return json(202, executions.length === 1 && only ? { ...only, ...more } : { executions, ...more });
}

/** A pull (merge) request event: previews (docs/previews.md). */
async function pullRequest(
  env: WebhookEnvironment,
  provider: Provider,
  document: unknown,
  delivery: string,
  deps: WebhookDeps,
): Promise<Response> {
  const pr = provider === 'github' ? parseGithubPullRequest(document) : parseGitlabMergeRequest(document);
  if (!pr.ok) return json(pr.status, { message: pr.message });
  const answer = await answerPullRequest(env.config, pr.value, delivery, previewPorts(env, deps));
  if (answer.status === 'failed') return awsFailure(answer.what, answer.error);
  if (answer.status === 200) return ignored(answer.body.ignored, delivery);
  const { number, commit } = pr.value;
  if (answer.status === 409) logger.info('preview refused', { deliveryId: delivery, number, ...answer.body });
  else logger.info('preview started', { deliveryId: delivery, number, commit, executions: answer.started });
  return json(answer.status, answer.body);
}
