/**
 * The sandbox's pull requests (`stackpilot pr`): numbering, reopen, update, close and merge on a
 * real bare repository, `refs/pull/<n>/head` as GitHub keeps it, and a `pull_request` payload
 * with the fields of GitHub's own examples (`@octokit/webhooks-examples`).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import examples from '@octokit/webhooks-examples/api.github.com/index.json' with { type: 'json' };
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  githubPullRequestPayload,
  PullRequestError,
  PullRequestStore,
} from '../../../sandbox/git/pull-request.ts';

const run = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 't',
      GIT_AUTHOR_EMAIL: 't@e',
      GIT_COMMITTER_NAME: 't',
      GIT_COMMITTER_EMAIL: 't@e',
    },
  }).trim();

let root: string;
let gitDir: string;
let work: string;

function commit(branch: string, file: string): string {
  run(work, 'checkout', '-q', '-B', branch);
  writeFileSync(join(work, file), `${file} ${Math.random()}\n`);
  run(work, 'add', file);
  run(work, 'commit', '-q', '-m', `change ${file}`);
  run(work, 'push', '-q', 'origin', `${branch}:refs/heads/${branch}`);
  return run(work, 'rev-parse', 'HEAD');
}

const at = (minute: number) => new Date(Date.UTC(2026, 11, 2, 12, minute));

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'stackpilot-pulls-'));
  gitDir = join(root, 'starter.git');
  work = join(root, 'work');
  run(root, 'init', '-q', '--bare', '-b', 'main', gitDir);
  run(root, 'clone', '-q', gitDir, work);
  commit('main', 'README.md');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('PullRequestStore', () => {
  it('opens, updates, closes and reopens a pull request, keeping refs/pull/<n>/head at its head', async () => {
    const store = new PullRequestStore(gitDir);
    const first = commit('feature', 'a.txt');
    const opened = await store.change({ action: 'open', branch: 'feature' }, at(0));
    expect(opened).toMatchObject({
      action: 'opened',
      pull: { number: 1, head: 'feature', base: 'main', sha: first },
    });
    expect(run(root, '--git-dir', gitDir, 'rev-parse', 'refs/pull/1/head')).toBe(first);

    const second = commit('feature', 'b.txt');
    const updated = await store.change({ action: 'update', branch: 'feature' }, at(1));
    expect(updated).toMatchObject({ action: 'synchronize', pull: { number: 1, sha: second } });
    expect(run(root, '--git-dir', gitDir, 'rev-parse', 'refs/pull/1/head')).toBe(second);

    expect(await store.change({ action: 'close', number: 1 }, at(2))).toMatchObject({
      action: 'closed',
      pull: { state: 'closed', merged: false, closedAt: at(2).toISOString() },
    });
    expect(await store.change({ action: 'open', branch: 'feature' }, at(3))).toMatchObject({
      action: 'reopened',
      pull: { number: 1, state: 'open', closedAt: null },
    });
    // Merged: a new pull request of the same branch gets the next number.
    await store.change({ action: 'close', branch: 'feature', merged: true }, at(4));
    expect(await store.change({ action: 'open', branch: 'feature' }, at(5))).toMatchObject({
      action: 'opened',
      pull: { number: 2 },
    });
  });

  it('refuses what GitHub would not do, with the status to answer', async () => {
    const store = new PullRequestStore(gitDir);
    const refused = async (request: Parameters<PullRequestStore['change']>[0]) => {
      const error = await store.change(request, at(0)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PullRequestError);
      return { status: (error as PullRequestError).status, message: (error as Error).message };
    };
    expect(await refused({ action: 'open', branch: 'nope' })).toEqual({
      status: 404,
      message: 'no branch nope in the repository: push it first',
    });
    expect((await refused({ action: 'open', branch: 'main' })).status).toBe(400);
    expect(await refused({ action: 'update', branch: 'feature' })).toMatchObject({ status: 404 });
    commit('feature', 'a.txt');
    await store.change({ action: 'open', branch: 'feature' }, at(0));
    expect(await refused({ action: 'open', branch: 'feature' })).toMatchObject({ status: 409 });
    await store.change({ action: 'close', branch: 'feature' }, at(1));
    expect(await refused({ action: 'update', number: 1 })).toMatchObject({ status: 409 });
  });
});

describe('githubPullRequestPayload', () => {
  const example = examples
    .find((e) => e.name === 'pull_request')
    ?.examples.find((e) => (e as { action?: string }).action === 'opened') as unknown as {
    pull_request: Record<string, unknown> & { head: Record<string, unknown> };
  } & Record<string, unknown>;

  it('has the fields of GitHub’s own opened example where stackpilot reads them, with the same types', async () => {
    const sha = commit('feature', 'a.txt');
    const { pull, action } = await new PullRequestStore(gitDir).change(
      { action: 'open', branch: 'feature' },
      at(0),
    );
    const payload = await githubPullRequestPayload({
      gitDir,
      fullName: 'acme/starter',
      cloneUrl: 'http://127.0.0.1:4010/git/starter.git',
      pull,
      action,
    });
    for (const key of ['action', 'number', 'pull_request', 'repository', 'sender'])
      expect(typeof payload[key], key).toBe(typeof example[key]);
    for (const key of ['number', 'state', 'merged', 'head', 'base', 'html_url', 'draft', 'commits'])
      expect(typeof payload.pull_request[key], key).toBe(typeof example.pull_request[key]);
    for (const key of ['label', 'ref', 'sha', 'repo'])
      expect(typeof payload.pull_request.head[key], key).toBe(typeof example.pull_request.head[key]);
    expect(payload).toMatchObject({
      action: 'opened',
      number: 1,
      pull_request: {
        state: 'open',
        merged: false,
        commits: 1,
        head: { ref: 'feature', sha, repo: { full_name: 'acme/starter' } },
        base: { ref: 'main', repo: { clone_url: 'http://127.0.0.1:4010/git/starter.git' } },
      },
      repository: { full_name: 'acme/starter', clone_url: 'http://127.0.0.1:4010/git/starter.git' },
    });
  });
});
