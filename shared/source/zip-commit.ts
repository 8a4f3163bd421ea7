/**
 * Writes the zip of one commit straight from the git object store: the commit's tree (file
 * contents, executable bits, symlinks) plus the repository's `.git` folder, without ever
 * checking out a working tree. Blobs are read a few at a time ahead of the archiver, so the
 * main thread inflates the next objects while zlib deflates the current one on the thread
 * pool, and memory stays bounded by the read-ahead window, not by the repository size.
 */
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { ZipArchive, type ZipEntryData } from 'archiver';
import { shouldStore } from './compression.ts';
import { encodeIndex, type IndexEntry } from './git-index.ts';
import { collectEvery } from './memory.ts';
import { ObjectStore } from './object-store.ts';

/** One entry of a commit's tree, with its full path. */
export interface TreeEntry {
  readonly path: string;
  /** Git mode: `100644`, `100755`, `120000` (symlink), `160000` (submodule). */
  readonly mode: string;
  readonly oid: string;
}

export interface ZipCommitOptions {
  /** Repository folder (holding `.git`) created by `fetchCommit`. */
  readonly dir: string;
  readonly commit: string;
  /** Where the zip bytes go (a PassThrough feeding the S3 upload). Ended when the zip is complete. */
  readonly output: Writable;
  /** zlib level for compressible entries; 1-3 gives most of the size gain for a fraction of level 6's time. */
  readonly level?: number;
  /** Blobs read ahead of the archiver. */
  readonly readAhead?: number;
  /** Stops the zip early (the upload failed). */
  readonly signal?: AbortSignal;
}

export interface ZipSummary {
  /** Files and symlinks of the commit's tree written to the zip. */
  readonly files: number;
  /** Entries under `.git/`. */
  readonly gitFiles: number;
  /** Size of the zip in bytes. */
  readonly bytes: number;
}

export const DEFAULT_ZIP_LEVEL = 2;
const DEFAULT_READ_AHEAD = 8;
/** Bytes of blobs read ahead at most (a larger blob is read alone). */
const READ_AHEAD_BYTES = 16 * 1024 * 1024;
/** Archiver entries queued at most before waiting for it: the queue holds whole blobs. */
const MAX_QUEUED_ENTRIES = 2;
/** Zip bytes between two garbage collections (see `memory.ts`). */
const COLLECT_EVERY_BYTES = 16 * 1024 * 1024;

/** Permission bits of the entries; the zip writer adds the file type (regular file, symlink) itself. */
const REGULAR_FILE = 0o644;
const EXECUTABLE_FILE = 0o755;
const SYMLINK = 0o777;

/** Lists the files, symlinks and submodules of a commit's tree, depth first, in git order. */
export async function* walkCommitTree(store: ObjectStore, commit: string): AsyncGenerator<TreeEntry> {
  const { tree } = await store.readCommit(commit);
  async function* walk(treeOid: string, prefix: string): AsyncGenerator<TreeEntry> {
    for (const entry of await store.readTree(treeOid)) {
      const path = prefix + entry.name;
      if (entry.mode === '40000') yield* walk(entry.oid, `${path}/`);
      else yield { path, mode: entry.mode, oid: entry.oid };
    }
  }
  yield* walk(tree, '');
}

/** Every file under `<dir>/.git`, as `/`-separated paths relative to `dir`, sorted. */
async function listGitFolder(dir: string): Promise<string[]> {
  const entries = await readdir(join(dir, '.git'), { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) =>
      join(e.parentPath, e.name)
        .slice(dir.length + 1)
        .split('\\')
        .join('/'),
    )
    .sort();
}

type ReadBlob = { entry: TreeEntry; content: Uint8Array | undefined };

/**
 * Reads blobs ahead of their consumer, results in order. A read starts only while fewer than
 * `window` blobs and fewer than `budget` bytes (sizes known before reading) are in flight or
 * waiting, and the window is never empty: memory stays at the budget or one blob, whichever
 * is larger, whatever the repository holds.
 */
export async function* readAheadBlobs(
  entries: AsyncIterable<TreeEntry>,
  store: { read(oid: string): Promise<{ data: Uint8Array }>; size(oid: string): Promise<number> },
  window: number,
  budget: number,
): AsyncGenerator<ReadBlob> {
  const pending: { job: Promise<ReadBlob>; size: number }[] = [];
  let pendingBytes = 0;
  const next = async (): Promise<ReadBlob> => {
    const head = pending.shift() as { job: Promise<ReadBlob>; size: number };
    pendingBytes -= head.size;
    return head.job;
  };
  for await (const entry of entries) {
    const submodule = entry.mode === '160000';
    const size = submodule ? 0 : await store.size(entry.oid);
    while (pending.length > 0 && (pending.length >= window || pendingBytes + size > budget))
      yield await next();
    const job = (submodule ? Promise.resolve(undefined) : store.read(entry.oid).then((o) => o.data)).then(
      (content) => ({ entry, content }),
    );
    // Errors surface when the consumer reaches this entry; never as an unhandled rejection meanwhile.
    job.catch(() => undefined);
    pending.push({ job, size });
    pendingBytes += size;
  }
  while (pending.length > 0) yield await next();
}

/**
 * Zips the commit's tree and `.git` into `output`. The archive is deterministic for a given
 * commit: entries in git order, every timestamp the committer date.
 */
export async function zipCommit(options: ZipCommitOptions): Promise<ZipSummary> {
  let store: ObjectStore | undefined;
  try {
    store = await ObjectStore.open(join(options.dir, '.git'));
    return await writeZip(store, options);
  } catch (error) {
    // Whatever failed, the consumer must see it: an output left open would keep the upload waiting forever.
    options.output.destroy(error as Error);
    throw error;
  } finally {
    await store?.close();
  }
}

async function writeZip(store: ObjectStore, options: ZipCommitOptions): Promise<ZipSummary> {
  const { dir, commit, output, signal } = options;
  const { committedAt: date } = await store.readCommit(commit);

  const archive = new ZipArchive({ zlib: { level: options.level ?? DEFAULT_ZIP_LEVEL } });

  // The first failure (archiver error, output error, abort) stops everything: the producer
  // waiting for room wakes up, and the waits for the archiver and the output (which would stay
  // pending forever once the consumer stopped reading) reject.
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  let rejectFailed: (error: Error) => void = () => undefined;
  const failed = new Promise<never>((_, reject) => {
    rejectFailed = reject;
  });
  failed.catch(() => undefined);
  const stop = (error: Error) => {
    failure ??= error;
    rejectFailed(failure);
    wake?.();
  };
  const onAbort = () => stop(signal?.reason instanceof Error ? signal.reason : new Error('zip aborted'));
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) onAbort();
  archive.on('error', stop);
  archive.on('warning', stop);
  output.once('error', stop);
  const finished = new Promise<void>((resolve) => {
    output.once('finish', resolve);
    output.once('close', resolve);
  });
  archive.pipe(output);

  // The archiver's queue holds whole entries: feed it a couple at a time.
  let queued = 0;
  const collect = collectEvery(COLLECT_EVERY_BYTES);
  archive.on('entry', () => {
    queued--;
    collect(archive.pointer());
    wake?.();
  });
  const check = () => {
    if (failure) throw failure;
  };
  const waitForRoom = async () => {
    while (queued >= MAX_QUEUED_ENTRIES && !failure) {
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = undefined;
    }
    check();
  };

  try {
    let files = 0;
    const indexEntries: IndexEntry[] = [];
    const blobs = readAheadBlobs(
      walkCommitTree(store, commit),
      store,
      options.readAhead ?? DEFAULT_READ_AHEAD,
      READ_AHEAD_BYTES,
    );
    for await (const { entry, content } of blobs) {
      await waitForRoom();
      indexEntries.push({
        path: entry.path,
        mode: entry.mode,
        oid: entry.oid,
        size: content?.byteLength ?? 0,
      });
      if (entry.mode === '160000' || content === undefined) {
        // A submodule: git leaves an empty folder where it goes; so does the zip.
        archive.append(Buffer.alloc(0), { name: `${entry.path}/`, type: 'directory', date, mode: 0o755 });
      } else if (entry.mode === '120000') {
        archive.symlink(entry.path, Buffer.from(content).toString('utf8'), SYMLINK);
        files++;
      } else {
        const buffer = Buffer.from(content.buffer, content.byteOffset, content.byteLength);
        archive.append(buffer, {
          name: entry.path,
          date,
          mode: entry.mode === '100755' ? EXECUTABLE_FILE : REGULAR_FILE,
          store: shouldStore(entry.path, content),
        });
        files++;
      }
      queued++;
    }

    // Before .git is listed: the index goes into the zip with the rest of .git.
    await writeFile(join(dir, '.git', 'index'), encodeIndex(indexEntries));
    const gitFiles = await listGitFolder(dir);
    for (const path of gitFiles) {
      await waitForRoom();
      // Packs and their indexes are compressed or random already; the rest is a few small text files.
      const data: ZipEntryData = {
        name: path,
        date,
        mode: REGULAR_FILE,
        store: path.startsWith('.git/objects/'),
      };
      archive.file(join(dir, path), data);
      queued++;
    }
    check();
    await Promise.race([archive.finalize(), failed]);
    check();
    await Promise.race([finished, failed]);
    check();
    return { files, gitFiles: gitFiles.length, bytes: archive.pointer() };
  } catch (error) {
    // Output first: once the archive is aborted it would end the output as if the zip were complete.
    output.destroy(error as Error);
    archive.abort();
    throw error;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
