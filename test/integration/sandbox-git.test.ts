import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verify } from '@octokit/webhooks-methods';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PushNotice, serveGit } from '../../sandbox/git/http-backend.ts';
import { deliverGithubWebhook, githubPushPayload } from '../../sandbox/git/push-webhook.ts';
import { ensureStarterRepository } from '../../sandbox/git/repo.ts';

const identity = {
  GIT_AUTHOR_NAME: 'Ada Developer',
  GIT_AUTHOR_EMAIL: 'ada@example.com',
  GIT_COMMITTER_NAME: 'Ada Developer',
  GIT_COMMITTER_EMAIL: 'ada@example.com',
};

/** The real git client, asynchronous: the server under test runs in this same process. */
function run(args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      args,
      { cwd, env: { ...process.env, ...identity, GIT_TERMINAL_PROMPT: '0' } },
      (error, stdout) => (error ? reject(error) : resolve(stdout.trim())),
    );
  });
}

describe('sandbox git server (real git http-backend)', () => {
  let dir: string;
  let server: Server;
  let base: string;
  const pushes: PushNotice[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sandbox-git-'));
    expect(await ensureStarterRepository(join(dir, 'repos'), 'starter')).toBe(true);
    server = createServer((req, res) => {
      const url = req.url ?? '/';
      if (!url.startsWith('/git/')) return void res.writeHead(404).end();
      void serveGit({ root: join(dir, 'repos'), onPush: (p) => pushes.push(p) }, req, res, url.slice(4));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/git`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps an existing starter repository on a second start', async () => {
    expect(await ensureStarterRepository(join(dir, 'repos'), 'starter')).toBe(false);
  });

  it('serves a clone of the starter app and reports a push with its ref updates', async () => {
    const work = join(dir, 'clone');
    await run(['clone', '--quiet', `${base}/starter.git`, work], dir);
    expect(readFileSync(join(work, 'build.yml'), 'utf8')).toContain('git rev-parse HEAD');
    const before = await run(['rev-parse', 'HEAD'], work);

    writeFileSync(join(work, 'CHANGELOG.md'), '# Changes\n');
    writeFileSync(join(work, 'server.js'), `${readFileSync(join(work, 'server.js'), 'utf8')}\n// changed\n`);
    await run(['add', '--all'], work);
    await run(['commit', '--quiet', '-m', 'Add a changelog'], work);
    const after = await run(['rev-parse', 'HEAD'], work);
    await run(['push', '--quiet', 'origin', 'main'], work);

    await expect.poll(() => pushes.length).toBe(1);
    expect(pushes[0]?.repository).toBe('starter.git');
    expect(pushes[0]?.updates).toEqual([{ ref: 'refs/heads/main', before, after }]);

    const payload = await githubPushPayload({
      gitDir: pushes[0]?.gitDir as string,
      fullName: 'stackpilot-examples/starter',
      cloneUrl: `${base}/starter.git`,
      update: pushes[0]?.updates[0] as never,
    });
    expect(payload).toMatchObject({
      ref: 'refs/heads/main',
      before,
      after,
      created: false,
      deleted: false,
      forced: false,
      repository: {
        full_name: 'stackpilot-examples/starter',
        clone_url: `${base}/starter.git`,
        default_branch: 'main',
      },
      head_commit: {
        id: after,
        message: 'Add a changelog',
        author: { name: 'Ada Developer', email: 'ada@example.com' },
        added: ['CHANGELOG.md'],
        modified: ['server.js'],
      },
    });
    expect(payload.commits).toHaveLength(1);
  });

  it('reports a new branch and a deletion, and nothing for a refused push', async () => {
    const work = join(dir, 'clone');
    await run(['push', '--quiet', 'origin', 'main:release'], work);
    await expect.poll(() => pushes.length).toBe(2);
    const created = pushes[1]?.updates[0];
    expect(created?.ref).toBe('refs/heads/release');
    expect(created?.before).toMatch(/^0{40}$/);
    const payload = await githubPushPayload({
      gitDir: pushes[1]?.gitDir as string,
      fullName: 'o/starter',
      cloneUrl: `${base}/starter.git`,
      update: created as never,
    });
    // The new branch brings no commit that another branch does not already have.
    expect(payload).toMatchObject({ created: true, commits: [], head_commit: { id: created?.after } });

    await run(['push', '--quiet', 'origin', ':release'], work);
    await expect.poll(() => pushes.length).toBe(3);
    expect(pushes[2]?.updates[0]?.after).toMatch(/^0{40}$/);

    // A non-fast-forward push is refused by git: no webhook.
    await run(['reset', '--quiet', '--hard', 'HEAD~1'], work);
    await run(['commit', '--quiet', '--allow-empty', '-m', 'diverge'], work);
    await expect(run(['push', '--quiet', 'origin', 'main'], work)).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 200));
    expect(pushes).toHaveLength(3);
  });

  it('delivers the payload signed as GitHub signs it', async () => {
    const received: { headers: Record<string, string | string[] | undefined>; body: string }[] = [];
    const hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(202, { 'content-type': 'application/json' }).end('{"started":true}');
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/webhooks/github`;
    const result = await deliverGithubWebhook(url, 'It is a secret', 'push', { ref: 'refs/heads/main' });
    await new Promise((resolve) => hook.close(resolve));

    expect(result).toMatchObject({ status: 202, ref: 'refs/heads/main', body: '{"started":true}' });
    const headers = received[0]?.headers ?? {};
    expect(headers['x-github-event']).toBe('push');
    expect(headers['x-github-delivery']).toBe(result.deliveryId);
    expect(
      await verify('It is a secret', received[0]?.body ?? '', String(headers['x-hub-signature-256'])),
    ).toBe(true);
  });
});
