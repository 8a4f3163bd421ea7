/**
 * The HTTP side of a webhook delivery, from an API Gateway HTTP API (payload 2.0) or Lambda
 * function URL event: which provider it is for, its headers, its raw body bytes, and the
 * JSON responses the webhook answers with.
 */
import { createHash } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

export type Provider = 'github' | 'gitlab';

/** Deliveries larger than this are refused before any hashing (GitHub caps payloads at 25 MB). */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;

/** A JSON response. */
export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}) {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  } satisfies APIGatewayProxyStructuredResultV2;
}

export type Route = { ok: true; provider: Provider } | { ok: false; status: 404 | 405; message: string };

/** Routes `POST …/webhooks/github` and `POST …/webhooks/gitlab` (a stage or custom-domain prefix is fine). */
export function route(event: Pick<APIGatewayProxyEventV2, 'rawPath' | 'requestContext'>): Route {
  const path = (event.rawPath ?? '').replace(/\/+$/, '');
  const provider = path.endsWith('/webhooks/github')
    ? 'github'
    : path.endsWith('/webhooks/gitlab')
      ? 'gitlab'
      : undefined;
  if (!provider) {
    return {
      ok: false,
      status: 404,
      message: `no webhook at ${event.rawPath || '/'}; use POST /webhooks/github or POST /webhooks/gitlab`,
    };
  }
  const method = event.requestContext?.http?.method?.toUpperCase();
  if (method !== 'POST') {
    return {
      ok: false,
      status: 405,
      message: `${method ?? 'this method'} is not allowed on ${path}; webhooks are delivered with POST`,
    };
  }
  return { ok: true, provider };
}

/** A header's value, whatever the case of its name (payload 2.0 lowercases them, other callers may not). */
export function header(
  headers: APIGatewayProxyEventV2['headers'] | undefined,
  name: string,
): string | undefined {
  if (!headers) return undefined;
  const direct = headers[name.toLowerCase()];
  if (direct !== undefined) return direct;
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}

export type Body = { ok: true; bytes: Buffer } | { ok: false; status: 413; message: string };

/**
 * The raw body bytes, base64-decoded when the event says so. The size is checked on the
 * decoded length before decoding, so an oversized delivery costs neither memory nor an HMAC.
 */
export function rawBody(
  event: Pick<APIGatewayProxyEventV2, 'body' | 'isBase64Encoded'>,
  limit = MAX_BODY_BYTES,
): Body {
  const body = event.body ?? '';
  const encoding = event.isBase64Encoded ? 'base64' : 'utf8';
  const size = Buffer.byteLength(body, encoding);
  if (size > limit) {
    return { ok: false, status: 413, message: `body of ${size} bytes is over the ${limit}-byte limit` };
  }
  return { ok: true, bytes: Buffer.from(body, encoding) };
}

/** Delivery ids go into execution names and the deploy input (at most 128 printable ASCII characters). */
const PLAIN_ID = /^[\x21-\x7e]{1,128}$/;

/**
 * The id of a delivery, stable across redeliveries of it: GitHub's `X-GitHub-Delivery`; for
 * GitLab `Idempotency-Key` (kept across GitLab's retries and resends) else `X-Gitlab-Event-UUID`.
 * An unusual id is replaced by its hash; a delivery without one gets the hash of its body, so
 * resending the same body still maps to the same execution.
 */
export function deliveryId(
  provider: Provider,
  headers: APIGatewayProxyEventV2['headers'] | undefined,
  body: Uint8Array,
): string {
  const given =
    provider === 'github'
      ? header(headers, 'x-github-delivery')
      : (header(headers, 'idempotency-key') ?? header(headers, 'x-gitlab-event-uuid'));
  const id = given?.trim();
  if (id && PLAIN_ID.test(id)) return id;
  if (id) return `sha256-${sha256Hex(id).slice(0, 40)}`;
  return `body-sha256-${sha256Hex(body).slice(0, 40)}`;
}

/** Hex SHA-256 of a string or bytes. */
export function sha256Hex(value: string | Uint8Array): string {
  return createHash('sha256').update(value).digest('hex');
}
