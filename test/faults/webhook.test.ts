/**
 * Bad-input suite of the webhook: 10,000 generated deliveries (seeded, so a failure
 * replays) mixing valid and invalid signatures and tokens, truncated, mutated, unicode and
 * oversized (> 10 MiB) bodies, wrong content types, base64 flags that lie, odd routes and
 * headers. Whatever arrives: never a 5xx, never a StartExecution without a verified
 * delivery, and every refusal is a 4xx carrying a readable JSON message.
 *
 * "Verified" is decided here independently of the handler: the GitHub signature header
 * equals the HMAC of the bytes the event really carries, or the GitLab token equals the
 * configured one.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES } from '#shared/webhook/request.ts';
import { handler } from '../../functions/webhook/handler.ts';
import {
  context,
  GITHUB_SECRET,
  GITLAB_TOKEN,
  githubSignature,
  httpEvent,
  newSecretArns,
  sample,
  setEnvironment,
} from '../unit/webhook/support.ts';

const sfn = mockClient(SFNClient);
const secrets = mockClient(SecretsManagerClient);

const DELIVERIES = 10_000;
const SEED = 20261121;

const githubPush = Buffer.from(sample('github-push.json'), 'utf8');
const gitlabPush = Buffer.from(sample('gitlab-push.json'), 'utf8');
const gitlabTagPush = Buffer.from(sample('gitlab-tag-push.json'), 'utf8');

// Oversized bodies are built once and shared: 10,000 fresh 10 MiB strings would dominate the run.
const oversized = Buffer.alloc(MAX_BODY_BYTES + 4096, '{"ref":"refs/heads/master"}');
const oversizedText = oversized.toString('utf8');
const oversizedBase64 = oversized.toString('base64');
const oversizedSignature = githubSignature(GITHUB_SECRET, oversized);

type Provider = 'github' | 'gitlab';

/** One generated delivery, before it becomes an API Gateway event. */
interface Delivery {
  readonly route: { provider: Provider; path: string; method: string };
  readonly body: { kind: string; bytes: Buffer } | { kind: 'oversized' };
  readonly base64: boolean;
  readonly flipBase64: boolean;
  readonly contentType: string | undefined;
  readonly signature: string;
  readonly eventName: string | undefined;
  readonly delivery: string | undefined;
  readonly mixedCaseHeaders: boolean;
}

const unicode = fc.string({ unit: 'grapheme', maxLength: 40 });

/** A change to some bytes: flip a bit, insert, delete, truncate, append. */
const mutated = (original: Buffer) =>
  fc
    .oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
      fc.record({
        kind: fc.constant('insert' as const),
        at: fc.nat(),
        byte: fc.integer({ min: 0, max: 255 }),
      }),
      fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
      fc.record({
        kind: fc.constant('append' as const),
        extra: fc.uint8Array({ minLength: 1, maxLength: 8 }),
      }),
    )
    .map((m) => {
      const bytes = Buffer.from(original);
      const at = 'at' in m ? m.at % bytes.length : 0;
      if (m.kind === 'flip') {
        bytes[at] = (bytes[at] ?? 0) ^ (1 << m.bit);
        return bytes;
      }
      if (m.kind === 'insert')
        return Buffer.concat([bytes.subarray(0, at), Buffer.from([m.byte]), bytes.subarray(at)]);
      if (m.kind === 'delete') return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1)]);
      return Buffer.concat([bytes, m.extra]);
    });

/** The sample with one field replaced by any JSON value, unicode text, or removed. */
const alteredField = (original: Buffer, paths: readonly string[][]) =>
  fc
    .record({
      path: fc.constantFrom(...paths),
      value: fc.option(fc.oneof(fc.jsonValue({ maxDepth: 2 }), unicode), { nil: undefined }),
    })
    .map(({ path, value }) => {
      const document = JSON.parse(original.toString('utf8'));
      let target = document;
      for (const key of path.slice(0, -1)) target = target?.[key];
      const last = path.at(-1) as string;
      if (target && typeof target === 'object') {
        if (value === undefined) delete target[last];
        else target[last] = value;
      }
      return Buffer.from(JSON.stringify(document), 'utf8');
    });

const GITHUB_FIELDS = [
  ['ref'],
  ['after'],
  ['before'],
  ['deleted'],
  ['repository'],
  ['repository', 'clone_url'],
  ['head_commit'],
  ['commits'],
];
const GITLAB_FIELDS = [
  ['ref'],
  ['checkout_sha'],
  ['after'],
  ['object_kind'],
  ['project'],
  ['project', 'git_http_url'],
  ['commits'],
];

const bodyFor = (provider: Provider) => {
  const fields = provider === 'github' ? GITHUB_FIELDS : GITLAB_FIELDS;
  const bytes = (kind: string, arbitrary: fc.Arbitrary<Buffer>) => arbitrary.map((b) => ({ kind, bytes: b }));
  // GitLab sends tag pushes to the same hook: they must be ignored, never deployed.
  const samples = provider === 'github' ? [githubPush] : [gitlabPush, gitlabTagPush];
  const original = samples[0] as Buffer;
  return fc.oneof(
    { weight: 8, arbitrary: bytes('sample', fc.constantFrom(...samples)) },
    { weight: 8, arbitrary: bytes('mutated', mutated(original)) },
    {
      weight: 4,
      arbitrary: bytes(
        'truncated',
        fc.nat({ max: original.length - 1 }).map((n) => original.subarray(0, n)),
      ),
    },
    { weight: 8, arbitrary: bytes('altered', alteredField(original, fields)) },
    {
      weight: 4,
      arbitrary: bytes(
        'unicode-ref',
        unicode.map((branch) => {
          const document = JSON.parse(original.toString('utf8'));
          document.ref = `refs/heads/${branch}`;
          return Buffer.from(JSON.stringify(document), 'utf8');
        }),
      ),
    },
    {
      weight: 4,
      arbitrary: bytes(
        'unicode',
        unicode.map((s) => Buffer.from(s, 'utf8')),
      ),
    },
    {
      weight: 2,
      arbitrary: bytes(
        'random',
        fc.uint8Array({ maxLength: 128 }).map((b) => Buffer.from(b)),
      ),
    },
    { weight: 2, arbitrary: bytes('empty', fc.constant(Buffer.alloc(0))) },
    {
      weight: 2,
      arbitrary: bytes(
        'form',
        fc.constant(Buffer.from(`payload=${encodeURIComponent(original.toString('utf8'))}`, 'utf8')),
      ),
    },
    // About 2% oversized: enough to cover every route and flag, few enough to keep the run short.
    { weight: 1, arbitrary: fc.constant({ kind: 'oversized' as const }) },
  );
};

const routeArbitrary = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.constant({ provider: 'github' as const, path: '/webhooks/github', method: 'POST' }),
  },
  {
    weight: 6,
    arbitrary: fc.constant({ provider: 'gitlab' as const, path: '/webhooks/gitlab', method: 'POST' }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      provider: fc.constantFrom<Provider>('github', 'gitlab'),
      path: fc.constantFrom(
        '/',
        '/webhooks',
        '/webhooks/bitbucket',
        '/webhooks/github/extra',
        '/WEBHOOKS/GITHUB',
      ),
      method: fc.constant('POST'),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      provider: fc.constantFrom<Provider>('github', 'gitlab'),
      path: fc.constantFrom('/webhooks/github', '/webhooks/gitlab'),
      method: fc.constantFrom('GET', 'PUT', 'DELETE', 'post'),
    }),
  },
);

/** How the signature (GitHub) or token (GitLab) header is chosen; resolved against the real bytes later. */
const signatureMode = fc.oneof(
  { weight: 6, arbitrary: fc.constant('valid') },
  { weight: 1, arbitrary: fc.constant('valid-uppercase') },
  { weight: 2, arbitrary: fc.constant('of-the-sample') },
  { weight: 2, arbitrary: fc.constant('wrong-secret') },
  { weight: 2, arbitrary: fc.constant('missing') },
  { weight: 1, arbitrary: fc.constant('empty') },
  { weight: 1, arbitrary: unicode.map((s) => `garbage:${s}`) },
);

const deliveryArbitrary: fc.Arbitrary<Delivery> = routeArbitrary.chain((route) =>
  fc.record({
    route: fc.constant(route),
    body: bodyFor(route.provider),
    base64: fc.boolean(),
    flipBase64: fc.oneof(
      { weight: 9, arbitrary: fc.constant(false) },
      { weight: 1, arbitrary: fc.constant(true) },
    ),
    contentType: fc.oneof(
      { weight: 6, arbitrary: fc.constant('application/json') },
      {
        weight: 3,
        arbitrary: fc.constantFrom(
          'application/json; charset=utf-8',
          'application/x-www-form-urlencoded',
          'text/plain',
          'multipart/form-data; boundary=x',
          'application/xml',
          '',
          'ÄPPLICATION/JSÖN',
        ),
      },
      { weight: 1, arbitrary: fc.constant(undefined) },
    ),
    signature: signatureMode,
    eventName: fc.oneof(
      { weight: 6, arbitrary: fc.constant(route.provider === 'github' ? 'push' : 'Push Hook') },
      {
        weight: 3,
        arbitrary: fc.constantFrom<string | undefined>(
          'ping',
          'Push',
          'Tag Push Hook',
          'Merge Request Hook',
          'issues',
          undefined,
        ),
      },
      { weight: 1, arbitrary: unicode },
    ),
    delivery: fc.oneof(
      { weight: 6, arbitrary: fc.uuid() },
      { weight: 2, arbitrary: unicode },
      { weight: 1, arbitrary: fc.constant('d'.repeat(600)) },
      { weight: 1, arbitrary: fc.constant(undefined) },
    ),
    mixedCaseHeaders: fc.boolean(),
  }),
);

function headerValue(headers: APIGatewayProxyEventV2['headers'], name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value;
  return undefined;
}

/** The API Gateway event of a delivery, and whether it is verified (decided without the handler's code). */
function toEvent(d: Delivery): { event: APIGatewayProxyEventV2; verified: boolean; carriedBytes: number } {
  const { provider, path, method } = d.route;
  const intended = 'bytes' in d.body ? d.body.bytes : oversized;
  const event = httpEvent(Buffer.alloc(0), { path, method, base64: d.base64 });
  if ('bytes' in d.body) event.body = d.body.bytes.toString(d.base64 ? 'base64' : 'utf8');
  else event.body = d.base64 ? oversizedBase64 : oversizedText;
  // A lying flag: the body is encoded one way and flagged the other.
  event.isBase64Encoded = d.flipBase64 ? !d.base64 : d.base64;

  const name = (lower: string) =>
    d.mixedCaseHeaders
      ? lower.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase())
      : lower;
  const headers: Record<string, string> = {};
  if (d.contentType !== undefined) headers[name('content-type')] = d.contentType;
  if (d.eventName !== undefined)
    headers[name(provider === 'github' ? 'x-github-event' : 'x-gitlab-event')] = d.eventName;
  if (d.delivery !== undefined)
    headers[name(provider === 'github' ? 'x-github-delivery' : 'x-gitlab-event-uuid')] = d.delivery;

  const signatureOf = (bytes: Buffer) =>
    d.body.kind === 'oversized' && bytes === oversized
      ? oversizedSignature
      : githubSignature(GITHUB_SECRET, bytes);
  if (provider === 'github') {
    const value =
      d.signature === 'valid'
        ? signatureOf(intended)
        : d.signature === 'valid-uppercase'
          ? signatureOf(intended).toUpperCase()
          : d.signature === 'of-the-sample'
            ? githubSignature(GITHUB_SECRET, githubPush)
            : d.signature === 'wrong-secret'
              ? githubSignature('not the secret', intended)
              : d.signature === 'empty'
                ? ''
                : d.signature === 'missing'
                  ? undefined
                  : d.signature;
    if (value !== undefined) headers[name('x-hub-signature-256')] = value;
  } else {
    const value =
      d.signature === 'valid' || d.signature === 'of-the-sample'
        ? GITLAB_TOKEN
        : d.signature === 'valid-uppercase'
          ? GITLAB_TOKEN.toUpperCase()
          : d.signature === 'wrong-secret'
            ? `${GITLAB_TOKEN}x`
            : d.signature === 'empty'
              ? ''
              : d.signature === 'missing'
                ? undefined
                : d.signature;
    if (value !== undefined) headers[name('x-gitlab-token')] = value;
  }
  event.headers = headers;

  // The oracle: what the event really carries, checked against the secret.
  // API Gateway and the handler take the method in any case and the provider from the path.
  const routedTo =
    method.toUpperCase() !== 'POST'
      ? undefined
      : path === '/webhooks/github'
        ? 'github'
        : path === '/webhooks/gitlab'
          ? 'gitlab'
          : undefined;
  let verified = false;
  if (routedTo === 'github') {
    const carried =
      d.body.kind === 'oversized' && !d.flipBase64
        ? oversized
        : Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8');
    const given = headerValue(event.headers, 'x-hub-signature-256')?.trim().toLowerCase();
    verified = given !== undefined && given === signatureOf(carried);
  } else if (routedTo === 'gitlab') {
    verified = headerValue(event.headers, 'x-gitlab-token') === GITLAB_TOKEN;
  }
  const carriedBytes = Buffer.byteLength(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8');
  return { event, verified, carriedBytes };
}

const tally = {
  deliveries: 0,
  byStatus: new Map<number, number>(),
  verified: 0,
  started: 0,
  serverErrors: 0,
  unverifiedStarts: 0,
  oversized: 0,
};

beforeAll(() => {
  const arns = newSecretArns();
  setEnvironment();
  secrets.on(GetSecretValueCommand, { SecretId: arns.github }).resolves({ SecretString: GITHUB_SECRET });
  secrets.on(GetSecretValueCommand, { SecretId: arns.gitlab }).resolves({ SecretString: GITLAB_TOKEN });
  sfn.on(StartExecutionCommand).callsFake((input: { name: string }) => ({
    executionArn: `arn:aws:states:us-east-1:111122223333:execution:stackpilot-deploy:${input.name}`,
    startDate: new Date(),
  }));
});

afterAll(() => {
  sfn.reset();
  secrets.reset();
  const statuses = [...tally.byStatus.entries()]
    .sort(([a], [b]) => a - b)
    .map(([status, n]) => `${n}x${status}`)
    .join(' ');
  console.log(
    `webhook faults: ${tally.deliveries} deliveries (${statuses}; ${tally.oversized} oversized), ` +
      `${tally.serverErrors} 5xx, ${tally.unverifiedStarts} executions without a verified delivery`,
  );
});

describe('webhook under 10,000 generated deliveries', () => {
  it('never answers 5xx, never starts an unverified delivery, and refuses with a readable JSON 4xx', async () => {
    const result = await fc.check(
      fc.asyncProperty(deliveryArbitrary, async (delivery) => {
        sfn.resetHistory();
        const { event, verified, carriedBytes } = toEvent(delivery);
        const response = await handler(event, context);
        if (typeof response !== 'object' || response === null)
          throw new Error('expected a structured response');
        const status = response.statusCode ?? 0;
        const starts = sfn.commandCalls(StartExecutionCommand).length;

        tally.deliveries += 1;
        tally.byStatus.set(status, (tally.byStatus.get(status) ?? 0) + 1);
        if (verified) tally.verified += 1;
        if (starts > 0) tally.started += 1;
        if (status >= 500) tally.serverErrors += 1;
        if (starts > 0 && !verified) tally.unverifiedStarts += 1;
        if (carriedBytes > MAX_BODY_BYTES) tally.oversized += 1;

        expect(status).toBeGreaterThanOrEqual(200);
        expect(status).toBeLessThan(500);
        expect([200, 202].includes(status) || (status >= 400 && status < 500)).toBe(true);
        expect(response.headers?.['content-type']).toBe('application/json');
        const answer = JSON.parse(String(response.body)) as Record<string, unknown>;
        if (status >= 400) {
          expect(answer.message).toEqual(expect.any(String));
          const message = answer.message as string;
          expect(message.length).toBeGreaterThan(10);
          expect(message.length).toBeLessThan(1000);
          expect(message).not.toMatch(/\n\s+at |\[object Object\]/);
        }
        if (!verified) {
          expect(starts).toBe(0);
          expect([401, 404, 405, 413]).toContain(status);
        }
        if (status === 202) expect(starts).toBeGreaterThanOrEqual(1);
        else expect(starts).toBe(0);
        if (carriedBytes > MAX_BODY_BYTES) expect([404, 405, 413]).toContain(status);
      }),
      { numRuns: DELIVERIES, seed: SEED, endOnFailure: true },
    );
    // A short account of the failing delivery: the full counterexample holds megabytes of body.
    if (result.failed) {
      const [delivery] = result.counterexample ?? [];
      const { body, ...rest } = delivery ?? ({} as Partial<Delivery>);
      const size = body && 'bytes' in body ? body.bytes.length : MAX_BODY_BYTES;
      throw new Error(
        `delivery ${result.numRuns} of seed ${SEED} failed: ${JSON.stringify({ ...rest, body: { kind: body?.kind, size } })}: ${String((result.errorInstance as Error | undefined)?.message ?? result.errorInstance)}`,
      );
    }

    // The generator must reach every kind of answer, or the property proves little.
    for (const status of [200, 202, 400, 401, 404, 405, 413])
      expect(tally.byStatus.get(status) ?? 0).toBeGreaterThan(0);
    expect(tally.deliveries).toBe(DELIVERIES);
    expect(tally.serverErrors).toBe(0);
    expect(tally.unverifiedStarts).toBe(0);
  }, 120_000);
});
