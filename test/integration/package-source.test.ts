import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientResolvedConfig,
  type S3ServiceException,
  type ServiceInputTypes,
  type ServiceOutputTypes,
} from '@aws-sdk/client-s3';
import {
  GetSecretValueCommand,
  type ServiceInputTypes as SecretsInput,
  SecretsManagerClient,
  type SecretsManagerClientResolvedConfig,
  type ServiceOutputTypes as SecretsOutput,
} from '@aws-sdk/client-secrets-manager';
import { type AwsStub, mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_ENV } from '../../shared/config.ts';
import { InvalidInput, TransientError } from '../../shared/errors.ts';
import {
  CommitNotFound,
  RepositoryAccessDenied,
  RepositoryUnreachable,
  SourceBucketNotVersioned,
  SourceUploadFailed,
} from '../../shared/source/errors.ts';
import { tokenCredentials } from '../../shared/source/fetch-commit.ts';
import { ObjectStore } from '../../shared/source/object-store.ts';
import { packageSource } from '../../shared/source/package-source.ts';
import { commitFiles, createRepo, type RepoFile } from './support/git-repo.ts';
import { type GitServer, startGitServer } from './support/git-server.ts';
import { packageSourceTask } from './support/package-source.ts';
import { type S3Emulator, startS3rver } from './support/s3.ts';

const BUCKET = 'sources';
const TOKEN = 'ghs_integrationTestToken0123456789';

/** Deterministic bytes that do not compress (a SHA-256 chain). */
function pseudoRandom(bytes: number, seed: string): Buffer {
  const chunks: Buffer[] = [];
  let block = createHash('sha256').update(seed).digest();
  for (let size = 0; size < bytes; size += block.length) {
    chunks.push(block);
    block = createHash('sha256').update(block).digest();
  }
  return Buffer.concat(chunks).subarray(0, bytes);
}

const FILES: Record<string, RepoFile> = {
  'README.md': '# app\n',
  'empty.txt': '',
  'src/index.ts': 'export const answer = 42;\n',
  'src/lib/deep/nested/util.ts': `${'export const line = "compressible";\n'.repeat(500)}`,
  'assets/logo.png': pseudoRandom(20_000, 'png'),
  'assets/all-bytes.bin': Buffer.from(Array.from({ length: 1024 }, (_, i) => i % 256)),
  'scripts/build.sh': { content: '#!/bin/sh\necho building\n', executable: true },
  'docs/café ünïcode.md': 'non-ASCII file name\n',
  'docs/readme-link.md': { symlink: '../README.md' },
  current: { symlink: 'src/lib' },
};

let root: string;
let work: string;
let server: GitServer;
let privateServer: GitServer;
let s3: S3Emulator;
let commit: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'package-source-repos-'));
  work = await mkdtemp(join(tmpdir(), 'package-source-work-'));
  commit = await createRepo(join(root, 'app'), FILES);
  server = await startGitServer(root);
  privateServer = await startGitServer(root, { auth: { username: 'x-access-token', password: TOKEN } });
  s3 = await startS3rver({ buckets: [BUCKET] });
});

afterAll(async () => {
  await Promise.all([server?.close(), privateServer?.close(), s3?.close()]);
  await rm(root, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
});

afterEach(() => {
  server.setFault(undefined);
});

/** Downloads an object and unzips it with the system's `unzip` into a new folder. */
async function downloadAndUnzip(client: S3Client, key: string): Promise<string> {
  const object = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  const bytes = await object.Body?.transformToByteArray();
  const out = await mkdtemp(join(work, 'unzipped-'));
  const zip = join(out, '..', `${key.replaceAll('/', '_')}.zip`);
  await writeFile(zip, bytes ?? new Uint8Array());
  execFileSync('unzip', ['-q', zip, '-d', out]);
  return out;
}

async function packIndexes(repo: string): Promise<string[]> {
  const packDir = join(repo, '.git', 'objects', 'pack');
  return (await readdir(packDir)).filter((n) => n.endsWith('.idx')).map((n) => join(packDir, n));
}

/** Every path under `dir` that is a file or a symlink, `/`-separated, `.git` excluded. */
async function listTree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => !e.isDirectory())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .filter((path) => path !== '.git' && !path.startsWith('.git/'))
    .sort();
}

/** `git ls-tree -r` of a commit: path -> {mode, oid}. */
function commitTree(repo: string, rev: string): Map<string, { mode: string; oid: string }> {
  const out = execFileSync('git', ['ls-tree', '-r', '-z', rev], { cwd: repo, encoding: 'utf8' });
  const tree = new Map<string, { mode: string; oid: string }>();
  for (const line of out.split('\0').filter(Boolean)) {
    const [meta, path] = line.split('\t') as [string, string];
    const [mode, , oid] = meta.split(' ') as [string, string, string];
    tree.set(path, { mode, oid });
  }
  return tree;
}

/** Checks that `dir` holds exactly the tree of `rev` of `repo`: same paths, contents, modes and links. */
async function expectSameTree(dir: string, repo: string, rev: string): Promise<void> {
  const tree = commitTree(repo, rev);
  expect(await listTree(dir)).toEqual([...tree.keys()].sort());
  for (const [path, { mode, oid }] of tree) {
    const expected = execFileSync('git', ['cat-file', 'blob', oid], { cwd: repo });
    const stats = await lstat(join(dir, path));
    if (mode === '120000') {
      expect(stats.isSymbolicLink(), `${path} is a symlink`).toBe(true);
      expect(await readlink(join(dir, path))).toBe(expected.toString());
    } else {
      expect(stats.isFile(), `${path} is a file`).toBe(true);
      expect((await readFile(join(dir, path))).equals(expected), `${path} content`).toBe(true);
      expect((stats.mode & 0o111) !== 0, `${path} executable bit`).toBe(mode === '100755');
    }
  }
}

async function allText(dir: string): Promise<string> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const texts = await Promise.all(
    entries.filter((e) => e.isFile()).map((e) => readFile(join(e.parentPath, e.name), 'latin1')),
  );
  return texts.join('\n');
}

describe('ObjectStore against packs written by git', () => {
  it('reads every object of an aggressively delta-compressed pack exactly as git does, sizes included', async () => {
    const repo = join(root, 'deltas');
    const lines = Array.from({ length: 400 }, (_, i) => `line ${i}: ${'x'.repeat(i % 50)}\n`);
    await createRepo(repo, { 'a.txt': lines.join(''), 'bin/blob.bin': pseudoRandom(50_000, 'blob') });
    for (let version = 1; version <= 5; version++) {
      const edited = lines.map((line, i) => (i % 40 === version ? `edited ${version}\n` : line));
      await commitFiles(
        repo,
        { 'a.txt': edited.join(''), [`copy-${version}.txt`]: edited.join('') },
        `v${version}`,
      );
    }
    execFileSync('git', ['repack', '-a', '-d', '-f', '-q', '--depth=50', '--window=50'], { cwd: repo });
    const listing = execFileSync('git', ['cat-file', '--batch-all-objects', '--batch-check'], {
      cwd: repo,
      encoding: 'utf8',
    });
    const objects = listing
      .trim()
      .split('\n')
      .map((line) => line.split(' ') as [string, string, string]);
    const verify = execFileSync('git', ['verify-pack', '-v', ...(await packIndexes(repo))], {
      cwd: repo,
      encoding: 'utf8',
    });
    // The pack really holds deltas, so the delta paths of the reader are exercised.
    expect(verify).toMatch(/chain length = [1-9]/);

    const store = await ObjectStore.open(join(repo, '.git'));
    try {
      for (const [oid, type, size] of objects) {
        const object = await store.read(oid);
        expect(object.type, oid).toBe(type);
        expect(object.data.equals(execFileSync('git', ['cat-file', type, oid], { cwd: repo })), oid).toBe(
          true,
        );
        expect(await store.size(oid), oid).toBe(Number(size));
      }
    } finally {
      await store.close();
    }
  });
});

describe('packageSource against git http-backend and s3rver', () => {
  it('zips exactly the commit tree (contents, modes, symlinks, non-ASCII names) plus .git, and git rev-parse HEAD prints the commit', async () => {
    const result = await packageSource({
      url: server.url('app'),
      ref: 'refs/heads/main',
      commit,
      bucket: BUCKET,
      key: 'sources/app/dev/source.zip',
      metadata: { app: 'app', stage: 'dev' },
      s3: s3.client,
      workDir: work,
    });

    expect(result).toMatchObject({
      bucket: BUCKET,
      key: 'sources/app/dev/source.zip',
      commit,
      fetchedBy: 'branch',
    });
    expect(result.files).toBe(Object.keys(FILES).length);
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: result.key }));
    expect(head.ContentLength).toBe(result.bytes);
    expect(head.Metadata).toMatchObject({ commit, app: 'app', stage: 'dev' });

    const out = await downloadAndUnzip(s3.client, result.key);
    await expectSameTree(out, join(root, 'app'), commit);
    expect(execFileSync('git', ['rev-parse', 'HEAD'], { cwd: out, encoding: 'utf8' }).trim()).toBe(commit);
    // The zip carries an index: the unzipped folder is a clean checkout, not "everything deleted".
    expect(execFileSync('git', ['status', '--porcelain'], { cwd: out, encoding: 'utf8' })).toBe('');
    expect(
      execFileSync('git', ['describe', '--always', '--dirty'], { cwd: out, encoding: 'utf8' }).trim(),
    ).toBe(commit.slice(0, 7));
    expect(
      execFileSync('git', ['cat-file', '-t', `${commit}^{tree}`], { cwd: out, encoding: 'utf8' }).trim(),
    ).toBe('tree');
  });

  it('fetches the pushed commit by id when the branch has moved on since the push', async () => {
    const repo = join(root, 'moving');
    const first = await createRepo(repo, { 'version.txt': 'one\n', 'keep.txt': 'kept\n' });
    await commitFiles(repo, { 'version.txt': 'two\n', 'added.txt': 'new\n' }, 'second');

    const result = await packageSource({
      url: server.url('moving'),
      ref: 'refs/heads/main',
      commit: first,
      bucket: BUCKET,
      key: 'sources/moving/dev/source.zip',
      s3: s3.client,
      workDir: work,
    });

    expect(result.fetchedBy).toBe('commit');
    const out = await downloadAndUnzip(s3.client, result.key);
    await expectSameTree(out, repo, first);
    expect(execFileSync('git', ['rev-parse', 'HEAD'], { cwd: out, encoding: 'utf8' }).trim()).toBe(first);
  });

  it('fails with CommitNotFound naming the commit and the URL when the server does not have the commit', async () => {
    const missing = 'ab'.repeat(20);
    const attempt = packageSource({
      url: server.url('app'),
      ref: 'refs/heads/main',
      commit: missing,
      bucket: BUCKET,
      key: 'sources/app/missing/source.zip',
      s3: s3.client,
      workDir: work,
    });
    await expect(attempt).rejects.toBeInstanceOf(CommitNotFound);
    await expect(attempt).rejects.toThrow(missing);
    await expect(attempt).rejects.toThrow(server.url('app'));
  });

  it('still fetches the commit by id when its branch was deleted since the push', async () => {
    const result = await packageSource({
      url: server.url('app'),
      ref: 'refs/heads/deleted-since',
      commit,
      bucket: BUCKET,
      key: 'sources/app/deleted/source.zip',
      s3: s3.client,
      workDir: work,
    });
    expect(result.fetchedBy).toBe('commit');
    const out = await downloadAndUnzip(s3.client, result.key);
    expect(execFileSync('git', ['rev-parse', 'HEAD'], { cwd: out, encoding: 'utf8' }).trim()).toBe(commit);
    expect(execFileSync('git', ['symbolic-ref', 'HEAD'], { cwd: out, encoding: 'utf8' }).trim()).toBe(
      'refs/heads/deleted-since',
    );
  });

  it('fails with InvalidInput when the pushed ref is not a valid branch name', async () => {
    const attempt = packageSource({
      url: server.url('app'),
      ref: 'refs/heads/two words..here',
      commit,
      bucket: BUCKET,
      key: 'sources/app/invalid/source.zip',
      s3: s3.client,
      workDir: work,
    });
    await expect(attempt).rejects.toBeInstanceOf(InvalidInput);
    await expect(attempt).rejects.toThrow('refs/heads/two words..here is not a valid git branch name');
  });

  it('fails with RepositoryUnreachable when the repository does not exist', async () => {
    await expect(
      packageSource({
        url: server.url('no-such-repo'),
        ref: 'refs/heads/main',
        commit,
        bucket: BUCKET,
        key: 'sources/none/dev/source.zip',
        s3: s3.client,
        workDir: work,
      }),
    ).rejects.toBeInstanceOf(RepositoryUnreachable);
  });

  it('turns a 503 from the git server into a TransientError (retried by the state machine)', async () => {
    server.setFault(503);
    await expect(
      packageSource({
        url: server.url('app'),
        ref: 'refs/heads/main',
        commit,
        bucket: BUCKET,
        key: 'sources/app/dev/source.zip',
        s3: s3.client,
        workDir: work,
      }),
    ).rejects.toBeInstanceOf(TransientError);
  });

  it('fetches a private repository with the token, and keeps the token out of the zip and .git/config', async () => {
    const result = await packageSource({
      url: privateServer.url('app'),
      ref: 'refs/heads/main',
      commit,
      bucket: BUCKET,
      key: 'sources/private/dev/source.zip',
      credentials: tokenCredentials('github', TOKEN),
      s3: s3.client,
      workDir: work,
    });

    const out = await downloadAndUnzip(s3.client, result.key);
    expect(execFileSync('git', ['rev-parse', 'HEAD'], { cwd: out, encoding: 'utf8' }).trim()).toBe(commit);
    const config = await readFile(join(out, '.git', 'config'), 'utf8');
    expect(config).toContain(`url = ${privateServer.url('app')}`);
    expect(config).not.toContain('x-access-token');
    expect(await allText(out)).not.toContain(TOKEN);
  });

  it('fails with RepositoryAccessDenied when the token is missing or wrong', async () => {
    const base = {
      url: privateServer.url('app'),
      ref: 'refs/heads/main',
      commit,
      bucket: BUCKET,
      key: 'sources/private/denied/source.zip',
      s3: s3.client,
      workDir: work,
    };
    await expect(packageSource(base)).rejects.toBeInstanceOf(RepositoryAccessDenied);
    const wrong = packageSource({ ...base, credentials: tokenCredentials('github', 'wrong-token') });
    await expect(wrong).rejects.toBeInstanceOf(RepositoryAccessDenied);
    await expect(wrong).rejects.not.toThrow('wrong-token');
  });

  it('aborts the multipart upload and leaves no object when an upload fails midway', async () => {
    const repo = join(root, 'large');
    // Incompressible files and their pack: a zip of about 8 MB, two 5 MiB parts.
    const large = await createRepo(repo, {
      'a.bin': pseudoRandom(2_000_000, 'a'),
      'b.bin': pseudoRandom(2_000_000, 'b'),
    });
    const sent: string[] = [];
    const client = new S3Client({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      maxAttempts: 1,
    });
    // Fault injection: the second part is refused, as S3 would refuse a part with a bad checksum.
    client.middlewareStack.add(
      (next, context) => async (args) => {
        sent.push(context.commandName ?? '');
        const input = args.input as { PartNumber?: number };
        if (context.commandName === 'UploadPartCommand' && input.PartNumber === 2) {
          throw Object.assign(new Error('part 2 rejected'), { name: 'InvalidPart' });
        }
        return next(args);
      },
      { step: 'initialize', name: 'failSecondPart' },
    );

    const attempt = packageSource({
      url: server.url('large'),
      ref: 'refs/heads/main',
      commit: large,
      bucket: BUCKET,
      key: 'sources/large/dev/source.zip',
      s3: client,
      partSize: 5 * 1024 * 1024,
      queueSize: 1,
      workDir: work,
    });
    await expect(attempt).rejects.toBeInstanceOf(SourceUploadFailed);
    await expect(attempt).rejects.toThrow(/part 2 rejected/);

    expect(sent).toContain('CreateMultipartUploadCommand');
    // s3rver answers 405 to the abort: logged, not thrown, and the original error surfaced above.
    expect(sent).toContain('AbortMultipartUploadCommand');
    expect(sent).not.toContain('CompleteMultipartUploadCommand');
    const head = s3.client.send(
      new HeadObjectCommand({ Bucket: BUCKET, Key: 'sources/large/dev/source.zip' }),
    );
    await expect(head).rejects.toSatisfy((e: S3ServiceException) => e.$metadata.httpStatusCode === 404);
    client.destroy();
  });

  it('fails with SourceBucketNotVersioned when S3 returns no version id (s3rver has no versioning)', async () => {
    process.env.SOURCE_BUCKET = BUCKET;
    process.env[CONFIG_ENV] = JSON.stringify({
      apps: {
        app: {
          repository: { provider: 'github', url: server.url('app') },
          stages: { dev: { branch: 'main' } },
        },
      },
    });
    try {
      const attempt = packageSourceTask(
        {
          app: 'app',
          stage: 'dev',
          repository: { provider: 'github', url: server.url('app') },
          ref: 'refs/heads/main',
          commit,
          deliveryId: 'delivery-unversioned',
        },
        { clients: { s3: s3.client }, workDir: work },
      );
      await expect(attempt).rejects.toBeInstanceOf(SourceBucketNotVersioned);
      await expect(attempt).rejects.toThrow(/enable versioning on bucket sources/);
    } finally {
      delete process.env[CONFIG_ENV];
      delete process.env.SOURCE_BUCKET;
    }
  });
});

describe('Package Source handler', () => {
  // Created in beforeAll: mocking S3Client earlier would also mock the s3rver client of the tests above.
  let s3Mock: AwsStub<ServiceInputTypes, ServiceOutputTypes, S3ClientResolvedConfig>;
  let secretsMock: AwsStub<SecretsInput, SecretsOutput, SecretsManagerClientResolvedConfig>;
  const config = (url: string, tokenSecret?: string) => ({
    apps: {
      app: {
        repository: { provider: 'github', url, ...(tokenSecret ? { tokenSecret } : {}) },
        stages: { dev: { branch: 'main' } },
      },
    },
  });
  const input = (url: string) => ({
    app: 'app',
    stage: 'dev',
    repository: { provider: 'github', url },
    ref: 'refs/heads/main',
    commit,
    deliveryId: 'delivery-1',
  });

  beforeAll(() => {
    process.env.SOURCE_BUCKET = BUCKET;
    s3Mock = mockClient(S3Client);
    secretsMock = mockClient(SecretsManagerClient);
  });
  afterEach(() => {
    s3Mock.reset();
    secretsMock.reset();
    delete process.env[CONFIG_ENV];
  });
  afterAll(() => {
    s3Mock.restore();
    secretsMock.restore();
    delete process.env.SOURCE_BUCKET;
  });

  it('uploads to the stage key with commit metadata and returns the object version', async () => {
    process.env[CONFIG_ENV] = JSON.stringify(config(server.url('app')));
    s3Mock.on(PutObjectCommand).resolves({ VersionId: 'v-123', ETag: '"etag"' });

    const result = await packageSourceTask(input(server.url('app')), {
      clients: { s3: new S3Client({ region: 'us-east-1' }) },
      workDir: work,
    });

    expect(result).toEqual({
      bucket: BUCKET,
      key: 'sources/app/dev/source.zip',
      versionId: 'v-123',
      commit,
      bytes: expect.any(Number),
      files: Object.keys(FILES).length,
    });
    expect(s3Mock).toReceiveCommandWith(PutObjectCommand, {
      Bucket: BUCKET,
      Key: 'sources/app/dev/source.zip',
      ContentType: 'application/zip',
      Metadata: { commit, app: 'app', stage: 'dev', ref: 'refs%2Fheads%2Fmain', 'delivery-id': 'delivery-1' },
    });
  });

  it('reads the token of a private repository from its secret', async () => {
    process.env[CONFIG_ENV] = JSON.stringify(config(privateServer.url('app'), 'repo-token'));
    secretsMock.on(GetSecretValueCommand, { SecretId: 'repo-token' }).resolves({ SecretString: TOKEN });
    s3Mock.on(PutObjectCommand).resolves({ VersionId: 'v-private' });

    const result = await packageSourceTask(input(privateServer.url('app')), {
      clients: {
        s3: new S3Client({ region: 'us-east-1' }),
        secretsManager: new SecretsManagerClient({ region: 'us-east-1' }),
      },
      workDir: work,
    });
    expect(result).toMatchObject({ versionId: 'v-private' });
    expect(privateServer.requests.some((r) => r.endsWith(' 200'))).toBe(true);
  });

  it('refuses a repository that is not the app’s own (the app token must not reach another host)', async () => {
    process.env[CONFIG_ENV] = JSON.stringify(config(privateServer.url('app'), 'repo-token'));
    await expect(packageSourceTask(input('https://example.com/other/repo.git'))).rejects.toThrow(
      /is not the repository of app app/,
    );
    expect(secretsMock.calls()).toHaveLength(0);
  });

  it('keeps its message short when the app name is huge', async () => {
    process.env[CONFIG_ENV] = JSON.stringify(config(server.url('app')));
    const attempt = packageSourceTask({ ...input(server.url('app')), app: 'a'.repeat(70_000) });
    await expect(attempt).rejects.toBeInstanceOf(InvalidInput);
    await expect(attempt).rejects.toSatisfy((e: Error) => e.message.length < 1000);
  });

  it('rejects an input that does not match the deploy schema', async () => {
    await expect(packageSourceTask({ app: 'app' })).rejects.toThrow(/invalid deploy input/);
  });
});
