/**
 * Property tests of the webhook handler: whatever arrives, nothing starts without a verified
 * delivery, and a verified delivery never makes the function fail.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/webhook/handler.ts';
import {
  context,
  GITHUB_SECRET,
  GITLAB_TOKEN,
  githubEvent,
  githubSignature,
  gitlabEvent,
  newSecretArns,
  sample,
  setEnvironment,
} from './support.ts';

const sfn = mockClient(SFNClient);
const secrets = mockClient(SecretsManagerClient);
const RUNS = { numRuns: 150 };

const githubPush = Buffer.from(sample('github-push.json'), 'utf8');
const gitlabPush = Buffer.from(sample('gitlab-push.json'), 'utf8');

async function respond(event: Parameters<typeof handler>[0]) {
  const response = await handler(event, context);
  if (typeof response !== 'object' || response === null) throw new Error('expected a structured response');
  return {
    status: response.statusCode ?? 0,
    body: JSON.parse(String(response.body)) as Record<string, unknown>,
  };
}

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

beforeEach(() => sfn.resetHistory());

afterAll(() => {
  sfn.reset();
  secrets.reset();
});

/** A change to a byte string that always changes it: flip a bit, insert, delete, truncate, append. */
const bytesMutation = (original: Uint8Array) =>
  fc
    .oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
      fc.record({
        kind: fc.constant('insert' as const),
        at: fc.nat(),
        byte: fc.integer({ min: 0, max: 255 }),
      }),
      fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
      fc.record({
        kind: fc.constant('append' as const),
        extra: fc.uint8Array({ minLength: 1, maxLength: 8 }),
      }),
    )
    .map((m) => {
      const bytes = Buffer.from(original);
      const at = 'at' in m ? m.at % bytes.length : 0;
      switch (m.kind) {
        case 'flip':
          bytes[at] = (bytes[at] ?? 0) ^ (1 << m.bit);
          return bytes;
        case 'insert':
          return Buffer.concat([bytes.subarray(0, at), Buffer.from([m.byte]), bytes.subarray(at)]);
        case 'delete':
          return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1)]);
        case 'truncate':
          return bytes.subarray(0, at);
        default:
          return Buffer.concat([bytes, m.extra]);
      }
    });

describe('no execution without a verified delivery', () => {
  it('refuses any change to a signed GitHub body with 401', async () => {
    const signature = githubSignature(GITHUB_SECRET, githubPush);
    await fc.assert(
      fc.asyncProperty(bytesMutation(githubPush), fc.boolean(), async (body, base64) => {
        const event = githubEvent(body, { base64, headers: { 'x-hub-signature-256': signature } });
        const { status, body: answer } = await respond(event);
        expect(status).toBe(401);
        expect(answer.message).toMatch(/X-Hub-Signature-256/);
        expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
      }),
      RUNS,
    );
  });

  it('refuses any change to the signature with 401', async () => {
    const digest = Buffer.from(githubSignature(GITHUB_SECRET, githubPush).slice('sha256='.length), 'hex');
    const changedSignature = fc.oneof(
      bytesMutation(digest).map((d) => `sha256=${d.toString('hex')}`),
      fc.constantFrom('sha1=', 'sha512=', 'SHA256:', '').map((prefix) => prefix + digest.toString('hex')),
      fc.string(),
    );
    await fc.assert(
      fc.asyncProperty(changedSignature, async (signature) => {
        const { status } = await respond(
          githubEvent(githubPush, { headers: { 'x-hub-signature-256': signature } }),
        );
        expect(status).toBe(401);
        expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
      }),
      RUNS,
    );
  });

  it('refuses a signature under any header name but X-Hub-Signature-256', async () => {
    const signature = githubSignature(GITHUB_SECRET, githubPush);
    const otherName = fc.stringMatching(/^x-[a-z0-9-]{1,30}$/).filter((n) => n !== 'x-hub-signature-256');
    await fc.assert(
      fc.asyncProperty(otherName, async (name) => {
        const event = githubEvent(githubPush);
        delete event.headers['x-hub-signature-256'];
        event.headers[name] = signature;
        expect((await respond(event)).status).toBe(401);
        expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
      }),
      RUNS,
    );
  });

  it('refuses any GitLab token but the configured one with 401', async () => {
    const token = fc.oneof(
      bytesMutation(Buffer.from(GITLAB_TOKEN)).map((b) => b.toString('latin1')),
      fc.string(),
    );
    await fc.assert(
      fc.asyncProperty(
        token.filter((t) => t !== GITLAB_TOKEN),
        async (given) => {
          const { status } = await respond(gitlabEvent(gitlabPush, { headers: { 'x-gitlab-token': given } }));
          expect(status).toBe(401);
          expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
        },
      ),
      RUNS,
    );
  });

  it('starts executions only for deliveries whose signature verifies, whatever the body and headers', async () => {
    const body = fc.oneof(
      fc.constant(githubPush),
      bytesMutation(githubPush),
      fc.uint8Array({ maxLength: 64 }).map(Buffer.from),
    );
    const signatureOf = fc.oneof(
      fc.constant((b: Buffer) => githubSignature(GITHUB_SECRET, b)),
      fc.constant((b: Buffer) => githubSignature('another secret', b)),
      fc.constant((_b: Buffer) => githubSignature(GITHUB_SECRET, githubPush)),
    );
    await fc.assert(
      fc.asyncProperty(
        body,
        signatureOf,
        fc.constantFrom('push', 'ping', 'Push'),
        async (bytes, sign, event) => {
          sfn.resetHistory();
          const signature = sign(bytes);
          const { status } = await respond(
            githubEvent(bytes, { event, headers: { 'x-hub-signature-256': signature } }),
          );
          const verified = signature === githubSignature(GITHUB_SECRET, bytes);
          if (!verified) expect(status).toBe(401);
          if (sfn.commandCalls(StartExecutionCommand).length > 0) expect(verified).toBe(true);
        },
      ),
      RUNS,
    );
  });
});

/** The sample push with one field replaced by any JSON value (or removed). */
const alteredPush = fc
  .record({
    path: fc.constantFrom(
      ['ref'],
      ['after'],
      ['before'],
      ['deleted'],
      ['created'],
      ['repository'],
      ['repository', 'clone_url'],
      ['repository', 'html_url'],
      ['head_commit'],
      ['commits'],
    ),
    value: fc.option(fc.jsonValue(), { nil: undefined }),
  })
  .map(({ path, value }) => {
    const push = JSON.parse(sample('github-push.json'));
    let target = push;
    for (const key of path.slice(0, -1)) target = target[key];
    const last = path.at(-1) as string;
    if (value === undefined) delete target[last];
    else target[last] = value;
    return Buffer.from(JSON.stringify(push), 'utf8');
  });

describe('a verified delivery never fails the function', () => {
  it('answers 200, 202 or 400 with a readable message for any signed body', async () => {
    const body = fc.oneof(
      alteredPush,
      fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? '', 'utf8')),
      fc.uint8Array({ maxLength: 256 }).map(Buffer.from),
      bytesMutation(githubPush),
      fc.string().map((s) => Buffer.from(s, 'utf8')),
    );
    await fc.assert(
      fc.asyncProperty(
        body,
        fc.boolean(),
        fc.string({ minLength: 1, maxLength: 100 }),
        async (bytes, base64, delivery) => {
          sfn.resetHistory();
          const { status, body: answer } = await respond(githubEvent(bytes, { base64, delivery }));
          expect([200, 202, 400]).toContain(status);
          if (status === 400) expect(answer.message).toEqual(expect.stringMatching(/^body (is|of)/));
          if (status === 200) expect(answer.ignored).toEqual(expect.any(String));
          if (status === 202) {
            expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
            expect(answer.executionName).toMatch(/^hello-prod-[A-Za-z0-9_-]+$/);
          } else {
            expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
