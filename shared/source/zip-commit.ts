/**
 * Writes the zip of one commit straight from the git object store, as `git clone` +
 * `git checkout <commit>` would leave the folder: the commit's tree with each path's exact
 * bytes, each file's content after the conversions the commit's own `.gitattributes` ask
 * for (`ident`, `eol`/`text`, `working-tree-encoding`), the modes git checks out (a legacy
 * `100775` is executable, a zero-padded `040000` is a folder) and the symlink targets, plus
 * the repository's `.git` folder with an index, so `git rev-parse HEAD` gives the commit and
 * `git status` is clean. What a zip cannot hold fails the packaging with the path and the
 * reason; the zip never silently differs from the checkout.
 *
 * Small blobs are read, converted and deflated a window ahead of the writer (the main thread
 * parses and inflates while zlib deflates on the thread pool); large blobs are streamed from
 * the pack through the writer, so memory stays bounded whatever the files' sizes and count.
 */

import { createReadStream } from 'node:fs';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { deflateRaw as deflateRawCallback, deflateRawSync } from 'node:zlib';
import {
  type Conversion,
  conversionFor,
  isIdentity,
  NO_CONVERSION,
  toWorkingTree,
} from './checkout-conversion.ts';
import { shouldStore } from './compression.ts';
import { IndexBuilder } from './git-index.ts';
import { type AttributesFile, attributesOf, BUILT_IN_MACROS, parseAttributes } from './gitattributes.ts';
import { collectEvery } from './memory.ts';
import { type GitObject, ObjectStore, type RawTreeEntry } from './object-store.ts';
import { S_IFDIR, S_IFLNK, S_IFREG, UnrepresentablePath, ZipWriter } from './zip-writer.ts';

const deflateRaw = promisify(deflateRawCallback);

/** Canonical git modes (git's `canon_mode`). */
export const MODE_FILE = 0o100644;
export const MODE_EXECUTABLE = 0o100755;
export const MODE_SYMLINK = 0o120000;
export const MODE_TREE = 0o040000;
export const MODE_SUBMODULE = 0o160000;

/** One file, symlink or submodule of a commit's tree. */
export interface TreeEntry {
  /** The path's bytes, `/`-separated, exactly as in the commit. */
  readonly path: Buffer;
  /** Canonical mode: {@link MODE_FILE}, {@link MODE_EXECUTABLE}, {@link MODE_SYMLINK} or {@link MODE_SUBMODULE}. */
  readonly mode: number;
  readonly oid: string;
  /** What a checkout does to the content (from `.gitattributes`). */
  readonly conversion: Conversion;
}

export interface ZipCommitOptions {
  /** Repository folder (holding `.git`) created by `fetchCommit`. */
  readonly dir: string;
  readonly commit: string;
  /** Where the zip bytes go (a PassThrough feeding the S3 upload). Ended when the zip is complete. */
  readonly output: Writable;
  /** zlib level for compressible entries; 1-3 gives most of the size gain for a fraction of level 6's time. */
  readonly level?: number;
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
/** Blobs up to this size are read whole, converted and deflated ahead of the writer. */
const SMALL_BLOB_BYTES = 1024 * 1024;
/** Blobs prepared ahead of the writer at most, and their bytes. */
const WINDOW_ENTRIES = 32;
const WINDOW_BYTES = 4 * 1024 * 1024;
/** Smaller entries are deflated on the main thread: a trip to the thread pool costs more. */
const SYNC_DEFLATE_BYTES = 16 * 1024;
/**
 * Work between two garbage collections (see `memory.ts`), counted in zip bytes plus
 * {@link GARBAGE_PER_ENTRY} per entry: small files leave garbage (pack reads, headers,
 * deflate output) out of proportion to their bytes.
 */
const COLLECT_EVERY_BYTES = 8 * 1024 * 1024;
const GARBAGE_PER_ENTRY = 2048;

/** git's `canon_mode`: how a checkout reads a tree entry's mode, whatever its spelling. */
export function canonicalMode(mode: string, path: string): number {
  if (!/^[0-7]{1,7}$/.test(mode)) {
    throw new UnrepresentablePath(`${showPath(path)}: malformed mode ${JSON.stringify(mode)} in its tree`);
  }
  const value = Number.parseInt(mode, 8);
  switch (value & 0o170000) {
    case 0o100000:
      // Only the owner's executable bit counts (100775 and 100744 are executable, 100664 is not).
      return value & 0o100 ? MODE_EXECUTABLE : MODE_FILE;
    case MODE_SYMLINK:
      return MODE_SYMLINK;
    case MODE_TREE:
      return MODE_TREE;
    default:
      return MODE_SUBMODULE;
  }
}

/** A path for messages: JSON-quoted, bytes that are not UTF-8 shown as `\xNN`. */
export function showPath(path: Buffer | string): string {
  if (typeof path === 'string') return JSON.stringify(path);
  try {
    return JSON.stringify(new TextDecoder('utf-8', { fatal: true }).decode(path));
  } catch {
    let out = '';
    for (const byte of path)
      out +=
        byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`;
    return `"${out}"`;
  }
}

/**
 * Names a checkout refuses (git's `verify_path`) and that a zip must not hold either: they
 * would escape the folder (`..`) or overwrite the repository (`.git`).
 */
function checkName(name: Buffer, path: Buffer, mode: number): void {
  const text = name.toString('latin1');
  let reason: string | undefined;
  if (text === '' || text === '.' || text === '..') reason = 'a path component git refuses to check out';
  // git's is_ntfs_dotgit (core.protectNTFS is on by default): `.git` in any case, `git~1`,
  // followed by dots or spaces, or by `\` or `:`.
  else if (/^(\.git|git~1)[. ]*($|[\\:])/i.test(text))
    reason = 'a .git component (git refuses to check it out)';
  else if (mode === MODE_SYMLINK && text.toLowerCase() === '.gitmodules')
    reason = 'a .gitmodules symlink (git refuses to check it out)';
  else if (text.includes('/')) reason = 'a tree entry name holding "/" (git refuses to check it out)';
  // Info-ZIP's unzip drops these bytes from names when it extracts: the build would see another path.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  else if (/[\x01-\x1f\x7f]/.test(text)) reason = 'a control character in the name, which unzip tools drop';
  else if (text.includes('\xff')) reason = 'the byte 0xff in the name, which unzip tools drop';
  if (reason) throw new UnrepresentablePath(`${showPath(path)}: ${reason}`);
}

/** Lists the files, symlinks and submodules of a commit's tree, depth first, in git order, with their conversions. */
export async function* walkCommitTree(store: ObjectStore, commit: string): AsyncGenerator<TreeEntry> {
  const { tree } = await store.readCommit(commit);
  const macros = new Map(BUILT_IN_MACROS);
  async function* walk(treeOid: string, prefix: Buffer, frames: AttributesFile[]): AsyncGenerator<TreeEntry> {
    const entries: RawTreeEntry[] = await store.readTree(treeOid);
    const prefixText = prefix.toString('latin1');
    // The folder's .gitattributes applies to everything in it, whatever sorts before it.
    // Only a regular file counts: git does not follow a .gitattributes symlink.
    const attributesEntry = entries.find((e) => {
      if (e.name.toString('latin1') !== '.gitattributes') return false;
      const mode = canonicalMode(e.mode, `${prefixText}.gitattributes`);
      return mode === MODE_FILE || mode === MODE_EXECUTABLE;
    });
    let here = frames;
    if (attributesEntry) {
      const { data } = await store.read(attributesEntry.oid);
      here = [...frames, parseAttributes(data, prefixText, macros)];
    }
    for (const entry of entries) {
      const path = Buffer.concat([prefix, entry.name]);
      const mode = canonicalMode(entry.mode, path.toString('latin1'));
      checkName(entry.name, path, mode);
      if (mode === MODE_TREE) {
        yield* walk(entry.oid, Buffer.concat([path, Buffer.of(0x2f)]), here);
        continue;
      }
      let conversion = NO_CONVERSION;
      if (here.length > 0 && (mode === MODE_FILE || mode === MODE_EXECUTABLE)) {
        conversion = conversionFor(attributesOf(path.toString('latin1'), here), showPath(path));
      }
      yield { path, mode, oid: entry.oid, conversion };
    }
  }
  yield* walk(tree, Buffer.alloc(0), []);
}

/** An entry ready for the writer: its content converted and (maybe) deflated, or a large blob to stream. */
type Prepared =
  | { kind: 'entry'; entry: TreeEntry; raw: Buffer; data: Buffer; method: number; crc?: number }
  | { kind: 'submodule'; entry: TreeEntry }
  | { kind: 'large'; entry: TreeEntry; size: number };

async function compress(
  path: Buffer,
  content: Buffer,
  level: number,
): Promise<{ data: Buffer; method: number }> {
  if (shouldStore(path.toString('latin1'), content)) return { data: content, method: 0 };
  const deflated =
    content.length <= SYNC_DEFLATE_BYTES
      ? deflateRawSync(content, { level })
      : await deflateRaw(content, { level });
  // Deflate can grow data it cannot compress: stored is smaller then.
  return deflated.length < content.length ? { data: deflated, method: 8 } : { data: content, method: 0 };
}

async function prepare(store: ObjectStore, entry: TreeEntry, level: number): Promise<Prepared> {
  if (entry.mode === MODE_SUBMODULE) return { kind: 'submodule', entry };
  const object = await store.readUpTo(entry.oid, SMALL_BLOB_BYTES);
  if (!('data' in object)) return { kind: 'large', entry, size: object.size };
  const blob = checkBlob(object, entry);
  if (entry.mode === MODE_SYMLINK) return { kind: 'entry', entry, raw: blob, data: blob, method: 0 };
  const raw = isIdentity(entry.conversion)
    ? blob
    : toWorkingTree(blob, entry.conversion, entry.oid, showPath(entry.path));
  return { kind: 'entry', entry, raw, ...(await compress(entry.path, raw, level)) };
}

function checkBlob(object: GitObject, entry: TreeEntry): Buffer {
  if (object.type !== 'blob') {
    throw new Error(`${showPath(entry.path)} points to a ${object.type} (${entry.oid}), not a blob`);
  }
  return object.data;
}

/**
 * Prepares entries a window ahead, results in order. The window holds at most
 * `WINDOW_ENTRIES` entries and about `WINDOW_BYTES` of prepared content; a large blob is
 * not read here (its writer streams it).
 */
export async function* prepareAhead(
  entries: AsyncIterable<TreeEntry>,
  prepareOne: (entry: TreeEntry) => Promise<Prepared>,
  windowEntries = WINDOW_ENTRIES,
  windowBytes = WINDOW_BYTES,
): AsyncGenerator<Prepared> {
  const pending: Promise<Prepared>[] = [];
  let bytes = 0;
  const sizeOf = (p: Prepared) =>
    p.kind === 'entry' ? p.raw.length + (p.data === p.raw ? 0 : p.data.length) : 0;
  const next = async () => {
    const prepared = await (pending.shift() as Promise<Prepared>);
    bytes -= sizeOf(prepared);
    return prepared;
  };
  for await (const entry of entries) {
    while (pending.length >= windowEntries || (pending.length > 0 && bytes > windowBytes)) yield await next();
    const job = prepareOne(entry).then((prepared) => {
      bytes += sizeOf(prepared);
      return prepared;
    });
    // Errors surface when the consumer reaches this entry; never as an unhandled rejection meanwhile.
    job.catch(() => undefined);
    pending.push(job);
  }
  while (pending.length > 0) yield await next();
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

/** Prepends `first` to the rest of an iterator. */
async function* prepend(first: Buffer, rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  yield first;
  for (let r = await rest.next(); !r.done; r = await rest.next()) yield r.value;
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
  const level = options.level ?? DEFAULT_ZIP_LEVEL;
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('zip aborted');
  const { committedAt: date } = await store.readCommit(commit);
  const zip = new ZipWriter(output, date, signal);
  const collect = collectEvery(COLLECT_EVERY_BYTES);

  let files = 0;
  const index = new IndexBuilder();
  const prepared = prepareAhead(walkCommitTree(store, commit), (entry) => prepare(store, entry, level));
  for await (const item of prepared) {
    const { entry } = item;
    if (item.kind === 'submodule') {
      // A submodule: git leaves an empty folder where it goes; so does the zip.
      await zip.addEntry(
        { name: Buffer.concat([entry.path, Buffer.of(0x2f)]), mode: S_IFDIR | 0o755 },
        { raw: Buffer.alloc(0), data: Buffer.alloc(0), method: 0 },
      );
      index.add({ path: entry.path, mode: entry.mode, oid: entry.oid, size: 0 });
      continue;
    }
    const mode =
      entry.mode === MODE_SYMLINK
        ? S_IFLNK | 0o777
        : S_IFREG | (entry.mode === MODE_EXECUTABLE ? 0o755 : 0o644);
    let size: number;
    if (item.kind === 'entry') {
      await zip.addEntry({ name: entry.path, mode }, item);
      size = item.raw.length;
    } else {
      size = await writeLarge(store, zip, entry, mode, item.size, level);
    }
    index.add({ path: entry.path, mode: entry.mode, oid: entry.oid, size });
    files++;
    collect(zip.bytes + zip.entries * GARBAGE_PER_ENTRY);
  }

  // Before .git is listed: the index goes into the zip with the rest of .git.
  await writeFile(join(dir, '.git', 'index'), index.encode());
  const gitFiles = await listGitFolder(dir);
  for (const path of gitFiles) {
    const full = join(dir, path);
    const name = Buffer.from(path, 'utf8');
    const { size } = await stat(full);
    if (size <= SMALL_BLOB_BYTES) {
      const raw = await readFile(full);
      // Packs and their indexes are compressed or random already; the rest is a few small text files.
      const packed = path.startsWith('.git/objects/');
      await zip.addEntry(
        { name, mode: S_IFREG | 0o644 },
        packed ? { raw, data: raw, method: 0 } : { raw, ...(await compress(name, raw, level)) },
      );
    } else {
      await zip.addStream(
        { name, mode: S_IFREG | 0o644 },
        size,
        createReadStream(full, { highWaterMark: 1024 * 1024 }),
        {
          deflate: false,
          level,
        },
      );
    }
    collect(zip.bytes + zip.entries * GARBAGE_PER_ENTRY);
  }
  await zip.finish();
  return { files, gitFiles: gitFiles.length, bytes: zip.bytes };
}

/** A blob larger than the window: streamed from the pack when it needs no conversion, else converted whole. */
async function writeLarge(
  store: ObjectStore,
  zip: ZipWriter,
  entry: TreeEntry,
  mode: number,
  size: number,
  level: number,
): Promise<number> {
  const stream =
    entry.mode !== MODE_SYMLINK && isIdentity(entry.conversion) ? await store.stream(entry.oid) : undefined;
  if (!stream) {
    // A delta, or a file to convert: held whole (memory grows with this one file only).
    const blob = checkBlob(await store.read(entry.oid), entry);
    const raw =
      entry.mode === MODE_SYMLINK || isIdentity(entry.conversion)
        ? blob
        : toWorkingTree(blob, entry.conversion, entry.oid, showPath(entry.path));
    const compressed =
      entry.mode === MODE_SYMLINK ? { data: raw, method: 0 } : await compress(entry.path, raw, level);
    await zip.addEntry({ name: entry.path, mode }, { raw, ...compressed });
    return raw.length;
  }
  const iterator = stream[Symbol.asyncIterator]();
  const first = await iterator.next();
  const head = first.done ? Buffer.alloc(0) : first.value;
  const deflate = !shouldStore(entry.path.toString('latin1'), head);
  await zip.addStream({ name: entry.path, mode }, size, prepend(head, iterator), { deflate, level });
  return size;
}
