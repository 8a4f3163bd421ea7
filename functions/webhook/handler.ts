import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { instrument } from '#shared/powertools.ts';
import { answerWebhook, webhookDeps } from '#shared/webhook/steps.ts';

/**
 * Webhook endpoint (API Gateway HTTP API payload 2.0, or a Lambda function URL): `POST
 * /webhooks/github` and `POST /webhooks/gitlab`. An HTTP handler: the step checks the request
 * itself and answers every outcome with a response (`shared/webhook/steps.ts`).
 */
export const handler = instrument(async (event: APIGatewayProxyEventV2) =>
  answerWebhook(event, webhookDeps()),
);
