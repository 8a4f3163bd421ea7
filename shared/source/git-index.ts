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

/** Bytes of the arena chunks that hold the encoded records. */
const ARENA_BYTES = 1024 * 1024;

/**
 * Builds the index as entries come, each record encoded at once into large arena chunks:
 * nothing per entry is kept but a view of its record. (Keeping each path as its own small
 * Buffer kept alive the 8 KiB pool slab it was cut from, with the garbage around it: on
 * 70,000 files that was tens of MB.)
 */
export class IndexBuilder {
  private readonly records: Buffer[] = [];
  private arena = Buffer.alloc(ARENA_BYTES);
  private used = 0;

  add(entry: IndexEntry): void {
    // The fixed part plus the name, padded with 1 to 8 NULs to a multiple of 8 bytes.
    const length = Math.ceil((FIXED + entry.path.length + 1) / 8) * 8;
    if (this.used + length > this.arena.length) {
      this.arena = Buffer.alloc(Math.max(ARENA_BYTES, length));
      this.used = 0;
    }
    const record = this.arena.subarray(this.used, this.used + length);
    this.used += length;
    // ctime, mtime, dev, ino: zero (unknown); mode; uid, gid: zero; size.
    record.writeUInt32BE(entry.mode, 24);
    record.writeUInt32BE(entry.size >>> 0, 36);
    record.write(entry.oid, 40, 20, 'hex');
    record.writeUInt16BE(Math.min(entry.path.length, 0xfff), 60);
    entry.path.copy(record, FIXED);
    this.records.push(record);
  }

  /** The index version 2 file: records sorted by path bytes (as git requires), then its SHA-1. */
  encode(): Buffer {
    const name = (record: Buffer) => record.subarray(FIXED, FIXED + record.readUInt16BE(60));
    const sorted = this.records.sort((a, b) => Buffer.compare(name(a), name(b)));
    const total = sorted.reduce((sum, record) => sum + record.length, HEADER);
    const index = Buffer.alloc(total + 20);
    index.write('DIRC', 0, 'latin1');
    index.writeUInt32BE(2, 4);
    index.writeUInt32BE(sorted.length, 8);
    let at = HEADER;
    for (const record of sorted) at += record.copy(index, at);
    createHash('sha1').update(index.subarray(0, total)).digest().copy(index, total);
    return index;
  }
}

/** Encodes an index version 2 file from its entries. */
export function encodeIndex(entries: readonly IndexEntry[]): Buffer {
  const builder = new IndexBuilder();
  for (const entry of entries) builder.add(entry);
  return builder.encode();
}
