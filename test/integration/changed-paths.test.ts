/**
 * Monorepo pushes the payload could not describe: Package Source compares the pushed tree
 * with the tree before the push, over real smart HTTP (`git http-backend` on loopback), and
 * skips the zip when no watched path changed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_ENV } from '../../shared/config.ts';
import { watchedPathChanged } from '../../shared/source/changed-paths.ts';
import { fetchCommit } from '../../shared/source/fetch-commit.ts';
import { pathMatcher } from '../../shared/source/watch.ts';
import { commitFiles, createRepo, git } from './support/git-repo.ts';
import { type GitServer, startGitServer } from './support/git-server.ts';
import { packageSourceTask } from './support/package-source.ts';

let root: string;
let work: string;
let server: GitServer;
let repo: string;
const commits: Record<string, string> = {};

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'changed-paths-repos-'));
  work = await mkdtemp(join(tmpdir(), 'changed-paths-work-'));
  repo = join(root, 'mono');
  commits.initial = await createRepo(repo, {
    'api/Dockerfile': 'FROM node:20\n',
    'api/src/index.js': 'console.log("api")\n',
    'web/Dockerfile': 'FROM nginx\n',
    'web/public/index.html': '<h1>web</h1>\n',
    'README.md': '# mono\n',
  });
  commits.web = await commitFiles(repo, { 'web/public/index.html': '<h1>web 2</h1>\n' }, 'web only');
  commits.newFolder = await commitFiles(repo, { 'api/lib/deep/util.js': 'export {}\n' }, 'api folder');
  git(repo, ['rm', '--quiet', 'api/src/index.js']);
  commits.removal = await commitFiles(repo, {}, 'api removal');
  server = await startGitServer(root);
});

afterAll(async () => {
  await server?.close();
  await rm(root, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
});

/** Fetches `commit` as Package Source does and compares it with `before` for the `globs`. */
async function compare(commit: string, before: string, globs: string[]) {
  const dir = await mkdtemp(join(work, 'after-'));
  try {
    await fetchCommit({ url: server.url('mono'), branch: 'main', commit, dir });
    return await watchedPathChanged({
      url: server.url('mono'),
      branch: 'main',
      dir,
      commit,
      before,
      matches: pathMatcher(globs),
      workDir: work,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('watchedPathChanged', () => {
  it('finds no change of api/** in a commit that changed web/ only', async () => {
    expect(await compare(commits.web as string, commits.initial as string, ['api/**'])).toEqual({
      changed: false,
      reason: `none of the 1 paths changed since ${commits.initial} is watched by the app`,
      changedPaths: 1,
    });
  });

  it('finds the web change, naming the path', async () => {
    expect(await compare(commits.web as string, commits.initial as string, ['web/**'])).toMatchObject({
      changed: true,
      path: 'web/public/index.html',
    });
  });

  it('sees the files of a folder that appeared, and a removed file, across several commits', async () => {
    expect(await compare(commits.removal as string, commits.web as string, ['api/lib/**'])).toMatchObject({
      changed: true,
      path: 'api/lib/deep/util.js',
    });
    expect(
      await compare(commits.removal as string, commits.newFolder as string, ['api/src/**']),
    ).toMatchObject({
      changed: true,
      path: 'api/src/index.js',
    });
    expect(
      await compare(commits.removal as string, commits.web as string, ['web/**', 'README.md']),
    ).toMatchObject({
      changed: false,
      changedPaths: 2,
    });
  });

  it('counts the push as changing everything when the commit before cannot be fetched', async () => {
    const result = await compare(commits.web as string, 'f'.repeat(40), ['api/**']);
    expect(result.changed).toBe(true);
    expect(result.reason).toMatch(/^the commit before the push \(f{40}\) cannot be fetched/);
  });
});

describe('Package Source with changedSince', () => {
  const s3Mock = mockClient(S3Client);
  afterEach(() => {
    s3Mock.reset();
    delete process.env[CONFIG_ENV];
    delete process.env.SOURCE_BUCKET;
  });

  function configure() {
    process.env.SOURCE_BUCKET = 'sources';
    process.env[CONFIG_ENV] = JSON.stringify({
      apps: {
        api: {
          repository: { provider: 'github', url: server.url('mono') },
          path: 'api',
          stages: { dev: { branch: 'main' } },
        },
      },
    });
  }

  const input = (commit: string, changedSince: string) => ({
    app: 'api',
    stage: 'dev',
    repository: { provider: 'github', url: server.url('mono') },
    ref: 'refs/heads/main',
    commit,
    deliveryId: 'd-1',
    changedSince,
  });

  it('ends as skipped, uploading nothing, when the app path did not change', async () => {
    configure();
    const result = await packageSourceTask(input(commits.web as string, commits.initial as string), {
      clients: { s3: new S3Client({ region: 'us-east-1' }) },
      workDir: work,
    });
    expect(result).toEqual({
      skipped: true,
      commit: commits.web,
      comparedWith: commits.initial,
      reason: `none of the 1 paths changed since ${commits.initial} is watched by the app (api/**): nothing to deploy`,
    });
    expect(s3Mock).not.toHaveReceivedCommand(PutObjectCommand);
  });

  it('packages the commit when the app path changed', async () => {
    configure();
    s3Mock.on(PutObjectCommand).resolves({ VersionId: 'v-api' });
    const result = await packageSourceTask(input(commits.newFolder as string, commits.web as string), {
      clients: { s3: new S3Client({ region: 'us-east-1' }) },
      workDir: work,
    });
    expect(result).toMatchObject({ versionId: 'v-api', commit: commits.newFolder });
  });
});
