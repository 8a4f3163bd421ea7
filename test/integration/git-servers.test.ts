/**
 * The fetch against real `git http-backend` servers configured as the git servers in the
 * wild are: protocol v2 only, v0 only, v1; SHA-1 and SHA-256 repositories; empty
 * repositories, unknown and force-pushed commits; broken and corrupted answers; and
 * redirects, to the same host and to another one (where the token must never go).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransientError } from '../../shared/errors.ts';
import { CommitNotFound, RepositoryAccessDenied, RepositoryUnsupported } from '../../shared/source/errors.ts';
import { type FetchCommitOptions, fetchCommit, tokenCredentials } from '../../shared/source/fetch-commit.ts';
import { commitFiles, createRepo, git } from './support/git-repo.ts';
import { type GitServer, startGitServer } from './support/git-server.ts';

const TOKEN = 'ghs_redirectTestToken0123456789';
const NEVER_EXISTED = 'ab'.repeat(20);

let root: string;
let work: string;
let commit: string;
let sha256Commit: string;
const servers: GitServer[] = [];
const proxies: Server[] = [];

async function serve(options: Parameters<typeof startGitServer>[1] = {}): Promise<GitServer> {
  const server = await startGitServer(root, options);
  servers.push(server);
  return server;
}

/** An HTTP server on 127.0.0.1 for the fault and redirect fronts; returns its base URL. */
async function front(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  proxies.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Forwards a request to `target` and hands the whole response body to `rewrite` before answering. */
function forward(
  target: string,
  rewrite: (body: Buffer, res: import('node:http').ServerResponse, status: number, headers: object) => void,
) {
  return (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    const upstream = request(
      `${target}${req.url}`,
      { method: req.method, headers: { ...req.headers, host: new URL(target).host } },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => rewrite(Buffer.concat(chunks), res, answer.statusCode ?? 500, answer.headers));
      },
    );
    req.pipe(upstream);
  };
}

let dirs = 0;
async function fetchInto(options: Omit<FetchCommitOptions, 'dir' | 'branch'> & { branch?: string }) {
  const dir = join(work, `fetch-${++dirs}`);
  await mkdir(dir);
  const fetched = await fetchCommit({ branch: 'main', ...options, dir });
  return { dir, ...fetched };
}

function head(dir: string): string {
  return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dir, encoding: 'utf8' }).trim();
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'git-servers-repos-'));
  work = await mkdtemp(join(tmpdir(), 'git-servers-work-'));
  commit = await createRepo(join(root, 'app'), { 'README.md': '# app\n', 'src/a.ts': 'export {};\n' });
  await commitFiles(join(root, 'app'), { 'src/b.ts': 'export const b = 1;\n' }, 'second');

  const sha256 = join(root, 'sha256');
  await mkdir(sha256);
  git(sha256, ['init', '--quiet', '--object-format=sha256', '--initial-branch=main']);
  sha256Commit = await commitFiles(sha256, { 'a.txt': 'a\n' }, 'sha256 commit');

  git(root, ['init', '--quiet', '--bare', 'empty.git']);
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  for (const proxy of proxies) {
    proxy.closeAllConnections();
    proxy.close();
  }
  await rm(root, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
});

describe('git protocol versions', () => {
  it('fetches from a server that speaks only protocol v2 (ls-refs, then fetch), by branch and by id', async () => {
    const server = await serve({ protocol: 'v2-only' });
    const tip = git(join(root, 'app'), ['rev-parse', 'HEAD']);
    const byBranch = await fetchInto({ url: server.url('app'), commit: tip });
    expect(byBranch.fetchedBy).toBe('branch');
    expect(head(byBranch.dir)).toBe(tip);
    expect(
      execFileSync('git', ['cat-file', '-t', `${tip}^{tree}`], { cwd: byBranch.dir, encoding: 'utf8' }),
    ).toBe('tree\n');
    const byId = await fetchInto({ url: server.url('app'), commit });
    expect(byId.fetchedBy).toBe('commit');
    expect(head(byId.dir)).toBe(commit);
    expect(
      execFileSync('git', ['cat-file', '-p', `${commit}:README.md`], { cwd: byId.dir, encoding: 'utf8' }),
    ).toBe('# app\n');
    // Every request asked for v2, and none was refused: the refs came from ls-refs.
    expect(server.log.every((r) => r.gitProtocol === 'version=2' && r.status === 200)).toBe(true);
    expect(server.log.filter((r) => r.method === 'POST')).toHaveLength(4);
  });

  it.each(['v0-only', 'v1'] as const)(
    'fetches from a server that speaks %s, by branch and by id',
    async (protocol) => {
      const server = await serve({ protocol });
      const tip = git(join(root, 'app'), ['rev-parse', 'HEAD']);
      expect((await fetchInto({ url: server.url('app'), commit: tip })).fetchedBy).toBe('branch');
      const byId = await fetchInto({ url: server.url('app'), commit });
      expect(head(byId.dir)).toBe(commit);
      // No ls-refs: one POST per fetch, the refs came with the advertisement.
      expect(server.log.filter((r) => r.method === 'POST')).toHaveLength(2);
    },
  );
});

describe('SHA-256 repositories', () => {
  it('refuses a 64-hex commit id before any request, as RepositoryUnsupported (not retried)', async () => {
    const server = await serve();
    const attempt = fetchInto({ url: server.url('sha256'), commit: sha256Commit });
    await expect(attempt).rejects.toBeInstanceOf(RepositoryUnsupported);
    await expect(attempt).rejects.toThrow(/SHA-256 repository/);
    expect(server.log).toHaveLength(0);
  });

  it.each(['any', 'v0-only'] as const)(
    'refuses a SHA-256 repository from its object-format capability before any pack is asked for (%s)',
    async (protocol) => {
      const server = await serve({ protocol });
      const attempt = fetchInto({ url: server.url('sha256'), commit });
      await expect(attempt).rejects.toBeInstanceOf(RepositoryUnsupported);
      await expect(attempt).rejects.toThrow(/object-format=sha256/);
      expect(server.log.map((r) => r.method)).toEqual(['GET']);
    },
  );
});

describe('what a failed fetch says', () => {
  it('says the repository is empty', async () => {
    const server = await serve();
    const attempt = fetchInto({ url: server.url('empty.git'), commit });
    await expect(attempt).rejects.toBeInstanceOf(CommitNotFound);
    await expect(attempt).rejects.toThrow(`${server.url('empty.git')} is an empty repository`);
  });

  it.each(['any', 'v0-only'] as const)(
    'says a commit that never existed is unknown to the repository, naming where the branch is (%s)',
    async (protocol) => {
      const server = await serve({ protocol });
      const tip = git(join(root, 'app'), ['rev-parse', 'HEAD']);
      const attempt = fetchInto({ url: server.url('app'), commit: NEVER_EXISTED });
      await expect(attempt).rejects.toBeInstanceOf(CommitNotFound);
      await expect(attempt).rejects.toThrow(`commit ${NEVER_EXISTED} is unknown to ${server.url('app')}`);
      await expect(attempt).rejects.toThrow(`now at ${tip}`);
      await expect(attempt).rejects.not.toThrow(/empty/);
    },
  );

  it('says the branch is gone when neither it nor any other ref reaches the commit', async () => {
    const server = await serve();
    const attempt = fetchInto({ url: server.url('app'), commit: NEVER_EXISTED, branch: 'gone' });
    await expect(attempt).rejects.toBeInstanceOf(CommitNotFound);
    await expect(attempt).rejects.toThrow('branch gone does not exist there');
  });

  it('a force-pushed commit: fetched by id where the server sends any object it holds (v2, allowAnySHA1InWant), CommitNotFound saying so where it sends reachable ones only', async () => {
    const repo = join(root, 'forced');
    const base = await createRepo(repo, { 'a.txt': 'one\n' });
    const pushed = await commitFiles(repo, { 'a.txt': 'two\n' }, 'pushed, then force-pushed away');
    git(repo, ['reset', '--quiet', '--hard', base]);
    const replaced = await commitFiles(repo, { 'a.txt': 'three\n' }, 'replacement');

    // git's protocol v2 serves any object the repository holds, reachable or not.
    const v2 = await fetchInto({ url: (await serve({ protocol: 'v2-only' })).url('forced'), commit: pushed });
    expect(v2.fetchedBy).toBe('commit');
    expect(head(v2.dir)).toBe(pushed);

    const v0 = await serve({ protocol: 'v0-only' });
    const refused = fetchInto({ url: v0.url('forced'), commit: pushed });
    await expect(refused).rejects.toBeInstanceOf(CommitNotFound);
    await expect(refused).rejects.toThrow(`not on branch main (now at ${replaced})`);
    await expect(refused).rejects.toThrow(/a force-push took it off the branch/);

    git(repo, ['config', 'uploadpack.allowAnySHA1InWant', 'true']);
    const fetched = await fetchInto({ url: v0.url('forced'), commit: pushed });
    expect(fetched.fetchedBy).toBe('commit');
    expect(head(fetched.dir)).toBe(pushed);
  });

  it('retries a connection that breaks in the middle of the pack (TransientError)', async () => {
    const server = await serve();
    const url = await front(
      forward(server.baseUrl, (body, res, status, headers) => {
        res.writeHead(status, headers as Record<string, string>);
        if (res.req.method === 'POST') {
          // Half the pack, then the connection drops.
          res.write(body.subarray(0, body.length >> 1), () => res.destroy());
        } else {
          res.end(body);
        }
      }),
    );
    const attempt = fetchInto({ url: `${url}/app`, commit });
    await expect(attempt).rejects.toBeInstanceOf(TransientError);
  });

  it('does not retry a complete answer whose pack does not verify (RepositoryUnsupported)', async () => {
    const server = await serve();
    const url = await front(
      forward(server.baseUrl, (body, res, status, headers) => {
        res.writeHead(status, headers as Record<string, string>);
        if (res.req.method === 'POST' && body.includes('PACK')) {
          // The byte before the final flush is the last byte of the pack's checksum.
          const corrupt = Buffer.from(body);
          const at = corrupt.length - 5;
          corrupt[at] = (corrupt[at] as number) ^ 0xff;
          res.end(corrupt);
        } else {
          res.end(body);
        }
      }),
    );
    const attempt = fetchInto({ url: `${url}/app`, commit });
    await expect(attempt).rejects.toBeInstanceOf(RepositoryUnsupported);
    await expect(attempt).rejects.toThrow(/does not match its own checksum/);
  });
});

describe('credentials and redirects', () => {
  const auth = { username: 'x-access-token', password: TOKEN };
  const credentials = tokenCredentials('github', TOKEN);

  /** The repository's host: asks for the token, then redirects every request to `target`. */
  async function redirectingHost(
    target: (path: string) => string,
  ): Promise<{ url: string; authorized: boolean[] }> {
    const authorized: boolean[] = [];
    const expected = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
    const url = await front((req, res) => {
      authorized.push(req.headers.authorization === expected);
      if (req.headers.authorization !== expected) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="git"' }).end();
        return;
      }
      res.writeHead(301, { location: target(req.url ?? '/') }).end();
    });
    return { url, authorized };
  }

  it('never sends the token to another host a redirect leads to (native git refuses too)', async () => {
    // 127.0.0.1 and localhost: two host names, two origins.
    const other = await serve({ auth });
    const otherBase = other.baseUrl.replace('127.0.0.1', 'localhost');
    const host = await redirectingHost((path) => `${otherBase}${path.replace(/^\/moved/, '')}`);

    const attempt = fetchInto({ url: `${host.url}/moved/app`, commit, credentials });
    await expect(attempt).rejects.toBeInstanceOf(RepositoryAccessDenied);
    await expect(attempt).rejects.toThrow(`redirected to ${otherBase}`);
    await expect(attempt).rejects.not.toThrow(TOKEN);
    // The repository's host got the token; the other host asked for it and never saw it.
    expect(host.authorized).toEqual([false, true]);
    expect(other.log.length).toBeGreaterThan(0);
    expect(other.log.some((r) => r.status === 401)).toBe(true);
    expect(other.log.every((r) => !r.authorization)).toBe(true);
  });

  it('keeps sending the token after a redirect within the repository host (a renamed repository)', async () => {
    const server = await serve({ auth });
    const expected = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
    const url = await front((req, res) => {
      if (req.url?.startsWith('/old/')) {
        if (req.headers.authorization !== expected) {
          res.writeHead(401, { 'www-authenticate': 'Basic realm="git"' }).end();
          return;
        }
        res.writeHead(301, { location: req.url.replace(/^\/old/, '') }).end();
        return;
      }
      forward(server.baseUrl, (body, out, status, headers) => {
        out.writeHead(status, headers as Record<string, string>).end(body);
      })(req, res);
    });
    const fetched = await fetchInto({ url: `${url}/old/app`, commit, credentials });
    expect(head(fetched.dir)).toBe(commit);
    // The token followed the redirect on its own host: the git server never had to ask for it.
    expect(server.log.length).toBeGreaterThan(0);
    expect(server.log.every((r) => r.authorization && r.status === 200)).toBe(true);
    expect(await readFile(join(fetched.dir, '.git', 'config'), 'utf8')).not.toContain(TOKEN);
  });
});
