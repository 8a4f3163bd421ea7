/**
 * Reads objects of a local git repository straight from its pack files (and loose objects),
 * one object at a time: the `.idx` gives each object's offset, only that slice of the pack is
 * read, and it is inflated with Node's native zlib on the thread pool. isomorphic-git's own
 * reader loads whole packs into memory and inflates in JavaScript; for zipping a fetched
 * commit this reader is several times faster and its memory does not grow with the pack.
 *
 * The objects were verified (hashed) when the pack was indexed after the fetch, so reads do
 * not hash them again.
 */
import { constants } from 'node:fs';
import { type FileHandle, open, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  createInflate,
  inflate as inflateCallback,
  inflateSync,
  constants as zlibConstants,
} from 'node:zlib';

const inflate = promisify(inflateCallback);

export type GitObjectType = 'commit' | 'tree' | 'blob' | 'tag';

export interface GitObject {
  readonly type: GitObjectType;
  readonly data: Buffer;
}

/** A tree entry as git stores it. */
export interface RawTreeEntry {
  /**
   * The mode as written: `40000` (tree; older tools wrote `040000`), `100644`, `100755`,
   * `120000` (symlink), `160000` (submodule), or a legacy file mode such as `100664`.
   */
  readonly mode: string;
  /** The name's bytes: git allows any byte but NUL and `/`, in no particular encoding. */
  readonly name: Buffer;
  readonly oid: string;
}

/** The object is in neither a pack nor the loose objects. */
export class ObjectNotFound extends Error {
  override readonly name = 'ObjectNotFound';
}

export const TYPES: Record<number, GitObjectType> = { 1: 'commit', 2: 'tree', 3: 'blob', 4: 'tag' };
const OFS_DELTA = 6;
const REF_DELTA = 7;
const IDX_MAGIC = 0xff744f63;
const IDX_HEADER = 8 + 256 * 4;
/** Bytes read from the start of an object to learn its size. */
const SIZE_PROBE_BYTES = 64;
/** Resolved delta bases kept for the next deltas of the same chain. */
const BASE_CACHE_BYTES = 8 * 1024 * 1024;

/** One pack and its version 2 index. */
class Pack {
  private readonly count: number;
  /** Object offsets in pack order, then the end of the last object, to find each object's length. */
  private readonly sortedOffsets: Float64Array;

  constructor(
    /** Distinguishes packs in the base cache's keys. */
    readonly id: number,
    private readonly idx: Buffer,
    private readonly file: FileHandle,
    packSize: number,
  ) {
    if (idx.readUInt32BE(0) !== IDX_MAGIC || idx.readUInt32BE(4) !== 2) {
      throw new Error('unsupported pack index (only version 2 is read)');
    }
    this.count = idx.readUInt32BE(IDX_HEADER - 4);
    const offsets = new Float64Array(this.count + 1);
    for (let i = 0; i < this.count; i++) offsets[i] = this.offsetAt(i);
    offsets[this.count] = packSize - 20;
    this.sortedOffsets = offsets.sort();
  }

  private offsetAt(index: number): number {
    const base = IDX_HEADER + this.count * 24;
    const small = this.idx.readUInt32BE(base + index * 4);
    if ((small & 0x80000000) === 0) return small;
    const large = base + this.count * 4 + (small & 0x7fffffff) * 8;
    return Number(this.idx.readBigUInt64BE(large));
  }

  /** The offset of `oid` in this pack, or undefined. */
  find(oid: Buffer): number | undefined {
    const first = oid[0] as number;
    let lo = first === 0 ? 0 : this.idx.readUInt32BE(8 + (first - 1) * 4);
    let hi = this.idx.readUInt32BE(8 + first * 4);
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const at = IDX_HEADER + mid * 20;
      const cmp = this.idx.compare(oid, 0, 20, at, at + 20);
      if (cmp === 0) return this.offsetAt(mid);
      if (cmp > 0) hi = mid;
      else lo = mid + 1;
    }
    return undefined;
  }

  /** Where the object starting at `offset` ends (the next object's offset, or the pack's trailer). */
  end(offset: number): number {
    const offsets = this.sortedOffsets;
    let lo = 0;
    let hi = offsets.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((offsets[mid] as number) <= offset) lo = mid + 1;
      else hi = mid;
    }
    return offsets[lo] as number;
  }

  /** Reads `length` bytes at `position` into a new buffer. */
  async readAt(position: number, length: number): Promise<Buffer> {
    const buffer = Buffer.allocUnsafe(length);
    const { bytesRead } = await this.file.read(buffer, 0, length, position);
    if (bytesRead !== length) throw new Error(`short read in pack at offset ${position}`);
    return buffer;
  }

  /** The raw bytes of the object starting at `offset` (header and deflated data), at most `limit` of them. */
  async slice(offset: number, limit = Number.POSITIVE_INFINITY): Promise<Buffer> {
    return this.readAt(offset, Math.min(this.end(offset), offset + limit) - offset);
  }

  close(): Promise<void> {
    return this.file.close();
  }
}

/** The header of a packed object: type, inflated size, and where its (deflated) data starts. */
export function parseObjectHeader(raw: Buffer): {
  type: number;
  size: number;
  pos: number;
  distance?: number;
  baseOid?: string;
} {
  let pos = 0;
  let byte = raw[pos++] as number;
  const type = (byte >> 4) & 0b111;
  let size = byte & 0b1111;
  let shift = 4;
  while (byte & 0x80) {
    byte = raw[pos++] as number;
    size += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  }
  if (type === OFS_DELTA) {
    byte = raw[pos++] as number;
    let distance = byte & 0x7f;
    while (byte & 0x80) {
      byte = raw[pos++] as number;
      distance = (distance + 1) * 128 + (byte & 0x7f);
    }
    return { type, size, pos, distance };
  }
  if (type === REF_DELTA) return { type, size, pos: pos + 20, baseOid: raw.toString('hex', pos, pos + 20) };
  return { type, size, pos };
}

/**
 * The two size varints at the start of a delta (the base's size and the result's) and where
 * its instructions start; undefined when the delta ends first (a truncated read-ahead).
 */
function deltaHeader(delta: Buffer): { baseSize: number; resultSize: number; pos: number } | undefined {
  let pos = 0;
  const varint = () => {
    let value = 0;
    let shift = 0;
    let byte: number;
    do {
      if (pos >= delta.length) return undefined;
      byte = delta[pos++] as number;
      value += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return value;
  };
  const baseSize = varint();
  const resultSize = varint();
  return baseSize === undefined || resultSize === undefined ? undefined : { baseSize, resultSize, pos };
}

/** Applies a git delta to its base. */
export function applyDelta(base: Buffer, delta: Buffer): Buffer {
  const header = deltaHeader(delta);
  if (!header) throw new Error('delta ends inside its header');
  const { baseSize, resultSize } = header;
  let pos = header.pos;
  if (baseSize !== base.length) throw new Error(`delta base size ${baseSize} does not match ${base.length}`);
  const result = Buffer.allocUnsafe(resultSize);
  let out = 0;
  while (pos < delta.length) {
    const op = delta[pos++] as number;
    if (op & 0x80) {
      let offset = 0;
      let size = 0;
      for (let bit = 0; bit < 4; bit++)
        if (op & (1 << bit)) offset += (delta[pos++] as number) * 2 ** (8 * bit);
      for (let bit = 0; bit < 3; bit++) if (op & (0x10 << bit)) size += (delta[pos++] as number) << (8 * bit);
      if (size === 0) size = 0x10000;
      out += base.copy(result, out, offset, offset + size);
    } else if (op > 0) {
      out += delta.copy(result, out, pos, pos + op);
      pos += op;
    } else {
      throw new Error('invalid delta opcode 0');
    }
  }
  if (out !== result.length) throw new Error(`delta produced ${out} bytes, expected ${result.length}`);
  return result;
}

/** Reads the objects of the repository whose git directory is `gitdir`. Close it when done. */
export class ObjectStore {
  private readonly baseCache = new Map<string, GitObject>();
  private baseCacheBytes = 0;

  private constructor(
    private readonly gitdir: string,
    private readonly packs: Pack[],
  ) {}

  static async open(gitdir: string): Promise<ObjectStore> {
    const packDir = join(gitdir, 'objects', 'pack');
    const names = await readdir(packDir).catch(() => [] as string[]);
    const packs: Pack[] = [];
    try {
      for (const name of names.filter((n) => n.endsWith('.idx')).sort()) {
        const idx = await readFile(join(packDir, name));
        const file = await open(join(packDir, name.replace(/\.idx$/, '.pack')), constants.O_RDONLY);
        const { size } = await file.stat();
        packs.push(new Pack(packs.length, idx, file, size));
      }
    } catch (error) {
      await Promise.all(packs.map((p) => p.close()));
      throw error;
    }
    return new ObjectStore(gitdir, packs);
  }

  async close(): Promise<void> {
    await Promise.all(this.packs.map((p) => p.close()));
    this.baseCache.clear();
    this.baseCacheBytes = 0;
  }

  /**
   * The object `oid` when its content is at most `limit` bytes, else only its size (read it
   * with `stream` or `read`). A packed object is read with one file read: its stored length
   * is known from the index, and its header gives its size before anything is inflated.
   */
  async readUpTo(oid: string, limit: number): Promise<GitObject | { size: number }> {
    const located = this.locate(oid);
    if (!located) {
      const object = await this.readLoose(oid);
      return object.data.length <= limit ? object : { size: object.data.length };
    }
    const { pack, offset } = located;
    if (pack.end(offset) - offset > limit + SIZE_PROBE_BYTES) return { size: await this.size(oid) };
    const raw = await pack.slice(offset);
    const header = parseObjectHeader(raw);
    if (header.type === OFS_DELTA || header.type === REF_DELTA) {
      const size = await this.size(oid);
      return size <= limit ? this.readPacked(pack, offset) : { size };
    }
    if (header.size > limit) return { size: header.size };
    const type = TYPES[header.type];
    if (!type) throw new Error(`unknown object type ${header.type} at offset ${offset}`);
    const data = await inflate(raw.subarray(header.pos));
    if (data.length !== header.size)
      throw new Error(`object at offset ${offset} inflated to ${data.length} bytes, not ${header.size}`);
    return { type, data };
  }

  /** The object `oid` (40 hex digits). */
  async read(oid: string): Promise<GitObject> {
    const located = this.locate(oid);
    return located ? this.readPacked(located.pack, located.offset) : this.readLoose(oid);
  }

  private locate(oid: string): { pack: Pack; offset: number } | undefined {
    const key = Buffer.from(oid, 'hex');
    for (const pack of this.packs) {
      const offset = pack.find(key);
      if (offset !== undefined) return { pack, offset };
    }
    return undefined;
  }

  private async readLoose(oid: string): Promise<GitObject> {
    let raw: Buffer;
    try {
      raw = await inflate(await readFile(join(this.gitdir, 'objects', oid.slice(0, 2), oid.slice(2))));
    } catch {
      throw new ObjectNotFound(`object ${oid} is not in the repository`);
    }
    const nul = raw.indexOf(0);
    const [type] = raw.subarray(0, nul).toString('latin1').split(' ');
    return { type: type as GitObjectType, data: raw.subarray(nul + 1) };
  }

  private async readPacked(pack: Pack, offset: number): Promise<GitObject> {
    const key = `${pack.id}:${offset}`;
    const cached = this.baseCache.get(key);
    if (cached) {
      // Most recently used last: eviction takes the oldest first.
      this.baseCache.delete(key);
      this.baseCache.set(key, cached);
      return cached;
    }
    const raw = await pack.slice(offset);
    const { type, size, pos, distance, baseOid } = parseObjectHeader(raw);
    let base: Promise<GitObject> | undefined;
    let baseKey: string | undefined;
    if (distance !== undefined) {
      baseKey = `${pack.id}:${offset - distance}`;
      base = this.readPacked(pack, offset - distance);
    } else if (baseOid !== undefined) {
      const located = this.locate(baseOid);
      if (located) {
        baseKey = `${located.pack.id}:${located.offset}`;
        base = this.readPacked(located.pack, located.offset);
      } else {
        base = this.readLoose(baseOid);
      }
    }
    const data = await inflate(raw.subarray(pos));
    if (data.length !== size)
      throw new Error(`object at offset ${offset} inflated to ${data.length} bytes, not ${size}`);
    if (!base) {
      const objectType = TYPES[type];
      if (!objectType) throw new Error(`unknown object type ${type} at offset ${offset}`);
      return { type: objectType, data };
    }
    const resolvedBase = await base;
    if (baseKey) this.remember(baseKey, resolvedBase);
    return { type: resolvedBase.type, data: applyDelta(resolvedBase.data, data) };
  }

  /** Keeps a delta base for the other deltas of its chain (least recently used evicted first, bounded in bytes). */
  private remember(key: string, object: GitObject): void {
    if (this.baseCache.has(key) || object.data.length > BASE_CACHE_BYTES / 4) return;
    this.baseCache.set(key, object);
    this.baseCacheBytes += object.data.length;
    for (const [oldKey, old] of this.baseCache) {
      if (this.baseCacheBytes <= BASE_CACHE_BYTES) break;
      this.baseCache.delete(oldKey);
      this.baseCacheBytes -= old.data.length;
    }
  }

  /**
   * The size of an object's content without reading it whole: from the pack header, or for a
   * delta from the first bytes of its data. Lets a reader bound its memory before reading.
   */
  async size(oid: string): Promise<number> {
    const located = this.locate(oid);
    if (!located) return (await this.readLoose(oid)).data.length;
    const head = await located.pack.slice(located.offset, SIZE_PROBE_BYTES);
    const { type, size, pos } = parseObjectHeader(head);
    if (type !== OFS_DELTA && type !== REF_DELTA) return size;
    // A truncated deflate stream inflates as far as it goes with a sync flush.
    const start = inflateSync(head.subarray(pos), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    const header = deltaHeader(start);
    return header ? header.resultSize : (await this.read(oid)).data.length;
  }

  /**
   * The content of a blob stored whole (not as a delta) in a pack, inflated as it is read in
   * chunks of `chunkBytes`: a large file never sits in memory whole. Undefined for a delta or
   * a loose object (read those with `read`).
   */
  async stream(oid: string, chunkBytes = 1024 * 1024): Promise<AsyncIterable<Buffer> | undefined> {
    const located = this.locate(oid);
    if (!located) return undefined;
    const { pack, offset } = located;
    const header = parseObjectHeader(await pack.slice(offset, SIZE_PROBE_BYTES));
    if (header.type === OFS_DELTA || header.type === REF_DELTA) return undefined;
    const start = offset + header.pos;
    const end = pack.end(offset);
    return (async function* () {
      const inflater = createInflate();
      const feeding = (async () => {
        try {
          for (let at = start; at < end; at += chunkBytes) {
            const piece = await pack.readAt(at, Math.min(chunkBytes, end - at));
            if (!inflater.write(piece)) await new Promise((resolve) => inflater.once('drain', resolve));
          }
          inflater.end();
        } catch (error) {
          inflater.destroy(error as Error);
        }
      })();
      yield* inflater as AsyncIterable<Buffer>;
      await feeding;
    })();
  }

  /** A commit's tree id and committer time. */
  async readCommit(oid: string): Promise<{ tree: string; committedAt: Date }> {
    const { type, data } = await this.read(oid);
    if (type !== 'commit') throw new Error(`object ${oid} is a ${type}, not a commit`);
    const headers = data.subarray(0, data.indexOf('\n\n')).toString('utf8');
    const tree = /^tree ([0-9a-f]{40,64})$/m.exec(headers)?.[1];
    const committer = /^committer .* (\d+) [+-]\d{4}$/m.exec(headers)?.[1];
    if (!tree) throw new Error(`commit ${oid} has no tree`);
    return { tree, committedAt: new Date(Number(committer ?? 0) * 1000) };
  }

  /** The entries of a tree object. */
  async readTree(oid: string): Promise<RawTreeEntry[]> {
    const { type, data } = await this.read(oid);
    if (type !== 'tree') throw new Error(`object ${oid} is a ${type}, not a tree`);
    return parseTree(data);
  }
}

/** Parses a tree object's content: `<mode> <name>\0<20-byte id>` repeated. */
export function parseTree(data: Buffer): RawTreeEntry[] {
  const entries: RawTreeEntry[] = [];
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    const nul = data.indexOf(0, space);
    if (space < 0 || nul < 0 || nul + 21 > data.length) throw new Error('malformed tree object');
    entries.push({
      mode: data.toString('latin1', pos, space),
      name: Buffer.from(data.subarray(space + 1, nul)),
      oid: data.toString('hex', nul + 1, nul + 21),
    });
    pos = nul + 21;
  }
  return entries;
}
