/**
 * The step against a GitHub-shaped API on loopback (real fetch, real HTTP): what it sends,
 * and that no failure (no token, an unreadable secret, a 5xx, a refused connection) escapes.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buffer } from 'node:stream/consumers';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { sendStatusRequest } from '../../../shared/commit-status/request.ts';
import { STATUS_FAILED_METRIC } from '../../../shared/commit-status/status.ts';
import {
  type CommitStatusDeps,
  commitStatusDeps,
  reportCommitStatus,
} from '../../../shared/commit-status/steps.ts';
import { parseConfig } from '../../../shared/config.ts';
import { logger } from '../../../shared/powertools.ts';

interface Received {
  method: string;
  url: string;
  authorization?: string;
  body: Record<string, unknown>;
}

let server: Server;
let origin: string;
let answer = 201;
const received: Received[] = [];

beforeAll(async () => {
  server = createServer(async (req: IncomingMessage, res) => {
    const body = (await buffer(req)).toString('utf8');
    received.push({
      method: req.method ?? '',
      url: req.url ?? '',
      authorization: req.headers.authorization,
      body: JSON.parse(body || '{}'),
    });
    res.writeHead(answer, { 'content-type': 'application/json' }).end('{"message":"from the test server"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  received.length = 0;
  answer = 201;
});

const event = (status = 'RUNNING', repositoryUrl = `${origin}/acme/starter.git`) => {
  const sample = JSON.parse(
    readFileSync(
      new URL('../../../events/samples/step-functions-execution-running.json', import.meta.url),
      'utf8',
    ),
  );
  const input = JSON.parse(sample.detail.input);
  input.repository.url = repositoryUrl;
  return { ...sample, detail: { ...sample.detail, status, input: JSON.stringify(input) } };
};

interface Line {
  level: 'info' | 'warn' | 'error';
  message: string;
  attributes?: Record<string, unknown>;
}

afterEach(() => vi.restoreAllMocks());

/**
 * The step with fresh deps (a Secrets Manager client of its own, mocked; a fresh "told no token"
 * memory) and the log lines it writes from now on: each call points the logger spies at its
 * own `lines`.
 */
function testDeps(options: { tokenSecret?: string; secretError?: Error } = {}) {
  const lines: Line[] = [];
  for (const level of ['info', 'warn', 'error'] as const) {
    vi.spyOn(logger, level).mockImplementation((message, ...attributes) => {
      lines.push({ level, message: String(message), attributes: attributes[0] as Record<string, unknown> });
    });
  }
  const config = parseConfig({
    apps: {
      starter: {
        repository: { provider: 'github', url: 'https://github.com/acme/starter.git' },
        ...(options.tokenSecret && { commitStatus: { tokenSecret: options.tokenSecret } }),
        stages: { dev: { branch: 'main' } },
      },
    },
  });
  const secretsManager = new SecretsManagerClient({});
  const secrets = mockClient(secretsManager).on(GetSecretValueCommand);
  if (options.secretError) secrets.rejects(options.secretError);
  else secrets.resolves({ SecretString: 'ghp_secret\n' });
  const deps: CommitStatusDeps = {
    ...commitStatusDeps(),
    clients: { secretsManager },
    config: () => config,
    send: (request) => sendStatusRequest(request, fetch, 2000),
  };
  return { deps, lines };
}

describe('reportCommitStatus', () => {
  it('sets pending, then success, on the GitHub API of the repository host', async () => {
    const { deps } = testDeps({ tokenSecret: 'stackpilot/status-token' });
    expect(await reportCommitStatus(event('RUNNING'), deps)).toEqual({
      reported: true,
      state: 'pending',
      context: 'stackpilot/starter/dev',
      httpStatus: 201,
    });
    await reportCommitStatus(event('SUCCEEDED'), deps);
    expect(received.map((c) => [c.method, c.url, c.authorization, c.body.state])).toEqual([
      [
        'POST',
        '/api/v3/repos/acme/starter/statuses/9fceb02d0ae598e95dc970b74767f19372d61af8',
        'Bearer ghp_secret',
        'pending',
      ],
      [
        'POST',
        '/api/v3/repos/acme/starter/statuses/9fceb02d0ae598e95dc970b74767f19372d61af8',
        'Bearer ghp_secret',
        'success',
      ],
    ]);
  });

  it('says once per app that there is no token, and calls nothing', async () => {
    const { deps, lines } = testDeps();
    const first = await reportCommitStatus(event('RUNNING'), deps);
    await reportCommitStatus(event('SUCCEEDED'), deps);
    expect(first).toMatchObject({
      reported: false,
      reason: expect.stringContaining('no commit status token'),
    });
    expect(lines.filter((l) => l.level === 'warn')).toHaveLength(1);
    expect(received).toEqual([]);
  });

  it('logs and counts a refused call (5xx) without throwing, and never logs the token', async () => {
    answer = 502;
    const { deps, lines } = testDeps({ tokenSecret: 's' });
    const outcome = await reportCommitStatus(event('FAILED'), deps);
    expect(outcome).toMatchObject({ reported: false, reason: expect.stringContaining('answered 502') });
    const [line] = lines.filter((l) => l.level === 'error');
    expect(line?.attributes).toMatchObject({
      metric: STATUS_FAILED_METRIC,
      app: 'starter',
      state: 'failure',
    });
    expect(JSON.stringify(lines)).not.toContain('ghp_secret');
  });

  it('logs and counts an unreadable token secret and a refused connection', async () => {
    const denied = testDeps({
      tokenSecret: 's',
      secretError: Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }),
    });
    expect(await reportCommitStatus(event(), denied.deps)).toMatchObject({
      reported: false,
      reason: expect.stringContaining('AccessDeniedException'),
    });
    const closed = testDeps({ tokenSecret: 's' });
    expect(
      await reportCommitStatus(event('RUNNING', 'http://127.0.0.1:1/acme/starter.git'), closed.deps),
    ).toMatchObject({
      reported: false,
      reason: expect.stringContaining('did not complete'),
    });
    expect(
      [...denied.lines, ...closed.lines].filter((l) => l.attributes?.metric === STATUS_FAILED_METRIC),
    ).toHaveLength(2);
  });

  it('ignores what is not an execution status change', async () => {
    const { deps } = testDeps({ tokenSecret: 's' });
    expect(await reportCommitStatus({ hello: 'world' }, deps)).toMatchObject({ reported: false });
    expect(received).toEqual([]);
  });
});
