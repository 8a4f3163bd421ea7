/**
 * Writes the `.git/index` of the zipped commit, so that `git status` in the unzipped folder
 * shows a clean tree (without an index every file would show as deleted and untracked, and
 * `git describe --dirty` would call the build dirty). The entries carry no stat data (zeros)
 * but the size of the file as checked out: git notices the missing stat data on first use
 * and compares contents instead (converted back as `git add` would), which match. A size
 * that differs from the file's would make git call it modified without looking.
 */
import { createHash } from 'node:crypto';

/** One file of the index. */
export interface IndexEntry {
  /** The path's bytes, exactly as in the commit. */
  readonly path: Buffer;
  /** Canonical git mode: `0o100644`, `0o100755`, `0o120000`, `0o160000`. */
  readonly mode: number;
  readonly oid: string;
  /** Size of the file as checked out, in bytes (0 for submodules). */
  readonly size: number;
}

const HEADER = 12;
const FIXED = 62;

/** Encodes an index version 2 file (entries sorted by path bytes, as git requires), in one buffer. */
export function encodeIndex(entries: readonly IndexEntry[]): Buffer {
  const sorted = [...entries].sort((a, b) => Buffer.compare(a.path, b.path));
  // Each record: the fixed part plus the name, padded with 1 to 8 NULs to a multiple of 8 bytes.
  const recordLength = (entry: IndexEntry) => Math.ceil((FIXED + entry.path.length + 1) / 8) * 8;
  const total = sorted.reduce((sum, entry) => sum + recordLength(entry), HEADER);
  const index = Buffer.alloc(total + 20);
  index.write('DIRC', 0, 'latin1');
  index.writeUInt32BE(2, 4);
  index.writeUInt32BE(sorted.length, 8);
  let at = HEADER;
  for (const entry of sorted) {
    // ctime, mtime, dev, ino: zero (unknown); mode; uid, gid: zero; size.
    index.writeUInt32BE(entry.mode, at + 24);
    index.writeUInt32BE(entry.size >>> 0, at + 36);
    index.write(entry.oid, at + 40, 20, 'hex');
    index.writeUInt16BE(Math.min(entry.path.length, 0xfff), at + 60);
    entry.path.copy(index, at + FIXED);
    at += recordLength(entry);
  }
  createHash('sha1').update(index.subarray(0, total)).digest().copy(index, total);
  return index;
}
