/**
 * Source packaging, end to end: fetch the pushed commit, zip its tree and `.git` from the
 * object store, and stream the zip into S3 as it is written. The repository lives in a
 * temporary folder (Lambda's `/tmp`) that is removed afterwards; the zip is never on disk.
 */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { isTransient, TransientError } from '#shared/errors.ts';
import { logger } from '#shared/powertools.ts';
import { watchedPathChanged } from './changed-paths.ts';
import { SourceUploadFailed } from './errors.ts';
import { type FetchedCommit, fetchCommit, type GitCredentials } from './fetch-commit.ts';
import { collectGarbage } from './memory.ts';
import { uploadStream } from './s3-upload.ts';
import { DEFAULT_ZIP_LEVEL, zipCommit } from './zip-commit.ts';

export interface PackageSourceOptions {
  /** HTTPS clone URL (credentials in it are dropped). */
  readonly url: string;
  /** Full pushed ref, `refs/heads/<branch>`. */
  readonly ref: string;
  readonly commit: string;
  readonly bucket: string;
  readonly key: string;
  /** Stored as object metadata (`x-amz-meta-*`) next to the commit, e.g. app, stage, delivery id. */
  readonly metadata?: Record<string, string>;
  readonly credentials?: GitCredentials;
  readonly s3: S3Client;
  /** zlib level of compressible entries. */
  readonly level?: number;
  readonly partSize?: number;
  readonly queueSize?: number;
  /** Parent of the temporary repository folder. */
  readonly workDir?: string;
  /**
   * Monorepos: package only when a watched path changed since this commit (the push payload
   * could not tell); otherwise nothing is uploaded and the result says `skipped`.
   */
  readonly onlyIfChanged?: { readonly since: string; readonly matches: (path: string) => boolean };
}

export interface PackagedSource {
  readonly bucket: string;
  readonly key: string;
  /** Undefined when the bucket is not versioned. */
  readonly versionId: string | undefined;
  readonly commit: string;
  /** Size of the zip. */
  readonly bytes: number;
  /** Files and symlinks of the commit's tree in the zip (the `.git` files not counted). */
  readonly files: number;
  readonly fetchedBy: FetchedCommit['fetchedBy'];
  /** Set when `onlyIfChanged` found no watched path changed: nothing was uploaded (no version, no bytes). */
  readonly skipped?: string;
}

/**
 * Upload part size: S3's smallest. Each part is held while it is assembled and while it is
 * sent (two at a time), so this bounds a fifth of the function's memory; on a loopback or
 * in-region S3 a 5 MiB part costs no throughput against 8 MiB.
 */
const SOURCE_PART_SIZE = 5 * 1024 * 1024;

/** Prefix of the temporary repository folders. */
const WORK_PREFIX = 'stackpilot-source-';
/** Older work folders were left by an invocation that timed out (Lambda runs at most 15 minutes). */
const STALE_AFTER_MS = 20 * 60 * 1000;

/**
 * Removes work folders left behind by invocations that were killed (a Lambda timeout skips
 * `finally`), so a warm function's `/tmp` does not fill up. Folders of runs still in
 * progress (the sandbox runs several in one process) are younger and kept.
 */
export async function removeStaleWorkDirs(
  parent: string,
  // The process clock, not Date.now(): a test that fakes Date (the fault suite moves it with
  // emulated time) must not make another process's live work folder look stale.
  now = performance.timeOrigin + performance.now(),
): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(parent).catch(() => [] as string[])) {
    if (!name.startsWith(WORK_PREFIX)) continue;
    const path = join(parent, name);
    const info = await stat(path).catch(() => undefined);
    if (info && now - info.mtimeMs > STALE_AFTER_MS) {
      await rm(path, { recursive: true, force: true });
      removed.push(path);
    }
  }
  if (removed.length > 0) logger.warn('removed stale work folders', { removed });
  return removed;
}

/** Fetches `commit`, zips it with its `.git`, and uploads the zip to `s3://bucket/key`. */
export async function packageSource(options: PackageSourceOptions): Promise<PackagedSource> {
  const { url, commit, bucket, key } = options;
  const branch = options.ref.replace(/^refs\/heads\//, '');
  const workDir = options.workDir ?? tmpdir();
  await removeStaleWorkDirs(workDir);
  const dir = await mkdtemp(join(workDir, WORK_PREFIX));
  try {
    const fetchStarted = Date.now();
    const fetched = await fetchCommit({ url, branch, commit, dir, credentials: options.credentials });
    logger.info('fetched commit', {
      url,
      commit,
      fetchedBy: fetched.fetchedBy,
      ms: Date.now() - fetchStarted,
    });
    if (options.onlyIfChanged) {
      const change = await watchedPathChanged({
        url,
        branch,
        dir,
        commit,
        before: options.onlyIfChanged.since,
        matches: options.onlyIfChanged.matches,
        credentials: options.credentials,
        workDir,
      });
      logger.info('compared with the commit before the push', { ...change });
      if (!change.changed) {
        const skipped = { bucket, key, versionId: undefined, commit, bytes: 0, files: 0 };
        return { ...skipped, fetchedBy: fetched.fetchedBy, skipped: change.reason };
      }
    }
    // The fetch's garbage goes before the zip starts, so the two phases' peaks do not add up.
    collectGarbage();

    const zipStarted = Date.now();
    const body = new PassThrough();
    const stopZip = new AbortController();
    const zipping = zipCommit({
      dir,
      commit,
      output: body,
      level: options.level ?? DEFAULT_ZIP_LEVEL,
      signal: stopZip.signal,
    });
    zipping.catch(() => undefined);
    const uploading = uploadStream({
      client: options.s3,
      bucket,
      key,
      body,
      contentType: 'application/zip',
      metadata: { commit, ...options.metadata },
      partSize: options.partSize ?? SOURCE_PART_SIZE,
      queueSize: options.queueSize,
      onFailure: (error) => stopZip.abort(error),
    });
    uploading.catch(() => undefined);

    const [zipped, uploaded] = await Promise.allSettled([zipping, uploading]);
    if (zipped.status === 'rejected') {
      // The upload fails with the zip's error (or, when S3 failed first, the zip with the upload's).
      const cause = uploaded.status === 'rejected' ? uploaded.reason : zipped.reason;
      throw uploadError(cause, options);
    }
    if (uploaded.status === 'rejected') throw uploadError(uploaded.reason, options);
    const summary = zipped.value;
    logger.info('uploaded source zip', {
      bucket,
      key,
      commit,
      versionId: uploaded.value.versionId,
      bytes: summary.bytes,
      files: summary.files,
      ms: Date.now() - zipStarted,
    });
    return {
      bucket,
      key,
      versionId: uploaded.value.versionId,
      commit,
      bytes: summary.bytes,
      files: summary.files,
      fetchedBy: fetched.fetchedBy,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function uploadError(error: unknown, options: PackageSourceOptions): Error {
  const where = `s3://${options.bucket}/${options.key}`;
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  if (error instanceof TransientError) return error;
  if (isTransient(error)) {
    return new TransientError(
      `uploading the zip of commit ${options.commit} to ${where} failed: ${message}`,
      {
        cause: error,
      },
    );
  }
  return new SourceUploadFailed(
    `zipping commit ${options.commit} to ${where} failed (the multipart upload was aborted): ${message}`,
    { cause: error },
  );
}
