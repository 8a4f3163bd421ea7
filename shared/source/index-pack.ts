/**
 * Writes the version 2 `.idx` of a fetched pack (what `git index-pack` does) by reading the
 * pack file once, object by object: each object is inflated on its own, deltas are applied
 * to their base (kept in a bounded cache, or read again from the file), and the result is
 * hashed for its id. An object larger than the window that is not a delta (a big binary
 * file) is inflated and hashed as a stream, never whole. Memory holds one object of at most
 * the window's size, the cache and 32 bytes per object, never the pack (isomorphic-git's
 * `indexPack` reads the whole pack into memory).
 */
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { crc32, createInflate, inflateSync } from 'node:zlib';
import { collectEvery } from './memory.ts';
import { applyDelta, type GitObject, parseObjectHeader, TYPES } from './object-store.ts';

/** Bytes of the pack read at once while scanning it. */
const WINDOW_BYTES = 4 * 1024 * 1024;
/** Longest object header: type and size (up to 10 bytes), then a delta's base (up to 20). */
const HEADER_PROBE_BYTES = 32;
/** Bytes inflated between two garbage collections (see `memory.ts`). */
const COLLECT_EVERY_BYTES = 8 * 1024 * 1024;
/** Resolved objects kept as delta bases. */
const CACHE_BYTES = 16 * 1024 * 1024;
/** Non-delta objects larger than this are inflated and hashed as a stream. */
const STREAM_ABOVE_BYTES = WINDOW_BYTES;
/** Deflated bytes of a streamed object between two garbage collections. */
const STREAM_COLLECT_EVERY_BYTES = 4 * 1024 * 1024;
/** Bytes of a streamed object read from the pack at once. */
const STREAM_READ_BYTES = 1024 * 1024;

/**
 * Inflates the object whose deflated data starts at `start` as a stream, handing each piece
 * of the result to `onData`; returns how many deflated bytes it took and their CRC32 (seeded
 * with `crc`, the CRC32 of the object's header). Memory holds a read buffer of `readBytes`
 * and zlib's output pieces, whatever the size of the object.
 *
 * The end of the object is where zlib's stream ends, which the pack does not record. Node's
 * inflater ends its output on its own only when it is handed bytes past that end; the last
 * object of a pack ends exactly at `end` (the trailing checksum is not read), so there are
 * none, and its output ends only once the input is closed. So the input is always closed
 * after the last write, and a stream that is cut short fails there ("unexpected end of file").
 */
async function inflateStreaming(
  file: FileHandle,
  start: number,
  end: number,
  crc: number,
  readBytes: number,
  onData: (piece: Buffer) => void,
): Promise<{ consumed: number; crc: number; produced: number }> {
  // Every output piece is a new buffer, garbage once hashed: collected often, or a big
  // object leaves tens of MB of them behind.
  const collect = collectEvery(STREAM_COLLECT_EVERY_BYTES);
  const inflater = createInflate({ chunkSize: 256 * 1024 });
  let produced = 0;
  inflater.on('data', (piece: Buffer) => {
    produced += piece.length;
    onData(piece);
  });
  const finished = new Promise<void>((resolve, reject) => {
    inflater.once('end', resolve);
    inflater.once('error', reject);
  });
  // Awaited below; a failure while still writing is also seen by the write callback.
  finished.catch(() => undefined);
  const buffer = Buffer.allocUnsafe(readBytes);
  let offset = start;
  try {
    while (offset < end) {
      const { bytesRead } = await file.read(buffer, 0, Math.min(buffer.length, end - offset), offset);
      if (bytesRead === 0) throw new Error(`short read in pack at offset ${offset}`);
      const chunk = buffer.subarray(0, bytesRead);
      const before = inflater.bytesWritten;
      await new Promise<void>((resolve, reject) =>
        inflater.write(chunk, (error) => (error ? reject(error) : resolve())),
      );
      // zlib stops at the end of the object's stream: only the bytes it took belong to the object.
      const taken = inflater.bytesWritten - before;
      crc = crc32(chunk.subarray(0, taken), crc);
      offset += bytesRead;
      collect(offset - start);
      if (taken < bytesRead) break;
    }
    inflater.end();
    await finished.catch((error: Error) => {
      throw new Error(
        `the object at pack offset ${start} does not end before the pack does (${error.message})`,
      );
    });
    return { consumed: inflater.bytesWritten, crc, produced };
  } finally {
    inflater.destroy();
  }
}

/**
 * Reads the pack sequentially through one window buffer, reused for the whole scan: small
 * objects do not each cost a read, and the process does not allocate (and fragment its
 * memory with) a new large buffer per window. A slice is valid until the next call.
 */
class PackWindow {
  private readonly window = Buffer.allocUnsafe(WINDOW_BYTES);
  private buffer = this.window.subarray(0, 0);
  private start = 0;

  constructor(
    private readonly file: FileHandle,
    private readonly end: number,
  ) {}

  async bytes(offset: number, length: number): Promise<Buffer> {
    const wanted = Math.min(length, this.end - offset);
    if (offset < this.start || offset + wanted > this.start + this.buffer.length) {
      const size = Math.min(Math.max(wanted, WINDOW_BYTES), this.end - offset);
      // An object larger than the window gets a buffer of its own.
      const buffer = size <= WINDOW_BYTES ? this.window.subarray(0, size) : Buffer.allocUnsafe(size);
      const { bytesRead } = await this.file.read(buffer, 0, size, offset);
      if (bytesRead !== size) throw new Error(`short read in pack at offset ${offset}`);
      this.buffer = buffer;
      this.start = offset;
    }
    return this.buffer.subarray(offset - this.start, offset - this.start + wanted);
  }
}

type Header = ReturnType<typeof parseObjectHeader>;

/** Sizes that tests shrink to reach the streamed path's read boundaries with small objects. */
export interface StreamTuning {
  /** Non-delta objects larger than this are inflated as a stream. @default 4 MiB */
  readonly streamAboveBytes?: number;
  /** Bytes of a streamed object read from the pack at once. @default 1 MiB */
  readonly streamReadBytes?: number;
}

/**
 * Indexes the pack in `file` (`packSize` bytes, whose trailing checksum was verified on
 * receipt) and returns the content of its `.idx`. `cacheBytes` bounds the delta bases kept.
 * Throws on a malformed pack or a delta whose base is not in it (a thin pack, which is never
 * asked for).
 */
export async function indexPack(
  file: FileHandle,
  packSize: number,
  cacheBytes = CACHE_BYTES,
  { streamAboveBytes = STREAM_ABOVE_BYTES, streamReadBytes = STREAM_READ_BYTES }: StreamTuning = {},
): Promise<Buffer> {
  const end = packSize - 20;
  const window = new PackWindow(file, end);
  const head = await window.bytes(0, 12);
  const version = head.readUInt32BE(4);
  if (head.toString('latin1', 0, 4) !== 'PACK' || (version !== 2 && version !== 3)) {
    throw new Error('the received data is not a git pack');
  }
  const count = head.readUInt32BE(8);
  const offsets = new Float64Array(count);
  const ids = Buffer.alloc(count * 20);
  const crcs = new Uint32Array(count);
  const cache = new Map<number, GitObject>();
  let cached = 0;
  let scanned = 0;
  let pos = 12;
  const collect = collectEvery(COLLECT_EVERY_BYTES);
  let inflatedBytes = 0;

  // Least recently used bases go first; a base is used by the next deltas of its chain.
  const remember = (offset: number, object: GitObject) => {
    if (object.data.length > cacheBytes / 4) return;
    cache.set(offset, object);
    cached += object.data.length;
    while (cached > cacheBytes) {
      const oldest = cache.keys().next().value as number;
      cached -= (cache.get(oldest) as GitObject).data.length;
      cache.delete(oldest);
    }
  };
  // An object scanned earlier, from the cache or read again (its end is the next object's offset).
  const load = async (offset: number): Promise<GitObject> => {
    const hit = cache.get(offset);
    if (hit) {
      cache.delete(offset);
      cache.set(offset, hit);
      return hit;
    }
    let lo = 0;
    let hi = scanned;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((offsets[mid] as number) <= offset) lo = mid + 1;
      else hi = mid;
    }
    if (lo === 0 || offsets[lo - 1] !== offset) throw new Error(`no object at pack offset ${offset}`);
    const raw = Buffer.allocUnsafe((lo < scanned ? (offsets[lo] as number) : pos) - offset);
    await file.read(raw, 0, raw.length, offset);
    const header = parseObjectHeader(raw);
    const data = inflateSync(raw.subarray(header.pos), { chunkSize: Math.max(64, header.size + 1) });
    const object = await materialize(header, data, offset);
    remember(offset, object);
    return object;
  };
  const materialize = async (header: Header, data: Buffer, offset: number): Promise<GitObject> => {
    let base: GitObject;
    if (header.distance !== undefined) {
      base = await load(offset - header.distance);
    } else if (header.baseOid !== undefined) {
      // A base named by id (servers send these only when ofs-delta is not offered; it is):
      // looked up among the objects scanned so far, rather than keeping a map of every id.
      const wanted = Buffer.from(header.baseOid, 'hex');
      let at = -1;
      for (let i = 0; i < scanned && at < 0; i++)
        if (wanted.equals(ids.subarray(i * 20, i * 20 + 20))) at = i;
      if (at < 0) throw new Error(`delta base ${header.baseOid} is not in the pack`);
      base = await load(offsets[at] as number);
    } else {
      const type = TYPES[header.type];
      if (!type) throw new Error(`unknown object type ${header.type} at pack offset ${offset}`);
      return { type, data };
    }
    return { type: base.type, data: applyDelta(base.data, data) };
  };

  for (let i = 0; i < count; i++) {
    if (pos >= end) throw new Error(`the pack ends after ${i} of its ${count} objects`);
    const probe = await window.bytes(pos, HEADER_PROBE_BYTES);
    const header = parseObjectHeader(probe);
    const type = TYPES[header.type];
    let length: number;
    let id: Buffer;
    if (type && header.size > streamAboveBytes) {
      // A big blob: hashed as it inflates, never whole in memory, and not kept as a base.
      const hash = createHash('sha1').update(`${type} ${header.size}\0`);
      const streamed = await inflateStreaming(
        file,
        pos + header.pos,
        end,
        crc32(probe.subarray(0, header.pos)),
        streamReadBytes,
        (piece) => hash.update(piece),
      );
      if (streamed.produced !== header.size) throw new Error(`bad object size at pack offset ${pos}`);
      length = header.pos + streamed.consumed;
      crcs[i] = streamed.crc;
      id = hash.digest();
      inflatedBytes += header.size;
    } else {
      // Deflated data is at most a little larger than the data itself.
      const raw = await window.bytes(pos, header.pos + header.size + (header.size >>> 10) + 64);
      // One output buffer of the known size, rather than 16 KiB chunks joined at the end.
      const chunkSize = Math.max(64, header.size + 1);
      const inflated = inflateSync(raw.subarray(header.pos), { info: true, chunkSize }) as unknown as {
        buffer: Buffer;
        engine: { bytesWritten: number };
      };
      if (inflated.buffer.length !== header.size) throw new Error(`bad object size at pack offset ${pos}`);
      length = header.pos + inflated.engine.bytesWritten;
      crcs[i] = crc32(raw.subarray(0, length));
      const object = await materialize(header, inflated.buffer, pos);
      id = createHash('sha1').update(`${object.type} ${object.data.length}\0`).update(object.data).digest();
      inflatedBytes += object.data.length;
      // Not cached here: most objects are no delta's base. Those that are get cached when a
      // delta first loads them, so each object is inflated at most twice however long its chain.
    }
    id.copy(ids, i * 20);
    offsets[i] = pos;
    scanned = i + 1;
    pos += length;
    // Bytes of objects, not of the pack: a well-compressed pack inflates to many times its size.
    collect(inflatedBytes);
  }
  if (pos !== end) throw new Error('the pack holds more data than its objects');
  return encodeIndex(ids, offsets, crcs, file, end);
}

/** The `.idx` version 2: fan-out, sorted ids, CRC32s, offsets, large offsets, pack checksum, own checksum. */
async function encodeIndex(
  ids: Buffer,
  offsets: Float64Array,
  crcs: Uint32Array,
  file: FileHandle,
  end: number,
): Promise<Buffer> {
  const count = offsets.length;
  // Sorted by the first 4 bytes as a number (a cheap comparison), the rest only on a tie.
  const prefixes = new Uint32Array(count);
  for (let i = 0; i < count; i++) prefixes[i] = ids.readUInt32BE(i * 20);
  const order = Array.from({ length: count }, (_, i) => i).sort(
    (a, b) =>
      (prefixes[a] as number) - (prefixes[b] as number) ||
      ids.compare(ids, b * 20, b * 20 + 20, a * 20, a * 20 + 20),
  );
  const large = order.filter((i) => (offsets[i] as number) >= 0x80000000);
  const idx = Buffer.alloc(8 + 256 * 4 + count * 28 + large.length * 8 + 40);
  idx.writeUInt32BE(0xff744f63, 0);
  idx.writeUInt32BE(2, 4);
  const fanout = new Uint32Array(256);
  for (const i of order) {
    const first = ids[i * 20] as number;
    fanout[first] = (fanout[first] as number) + 1;
  }
  for (let b = 0, total = 0; b < 256; b++) {
    total += fanout[b] as number;
    idx.writeUInt32BE(total, 8 + b * 4);
  }
  const idsAt = 8 + 256 * 4;
  const crcsAt = idsAt + count * 20;
  const offsetsAt = crcsAt + count * 4;
  const largeAt = offsetsAt + count * 4;
  let largeCount = 0;
  order.forEach((i, rank) => {
    ids.copy(idx, idsAt + rank * 20, i * 20, i * 20 + 20);
    idx.writeUInt32BE(crcs[i] as number, crcsAt + rank * 4);
    const offset = offsets[i] as number;
    if (offset < 0x80000000) {
      idx.writeUInt32BE(offset, offsetsAt + rank * 4);
    } else {
      idx.writeUInt32BE((0x80000000 | largeCount) >>> 0, offsetsAt + rank * 4);
      idx.writeBigUInt64BE(BigInt(offset), largeAt + largeCount * 8);
      largeCount++;
    }
  });
  const trailer = largeAt + large.length * 8;
  // The pack's checksum (verified on receipt) is copied from its last 20 bytes.
  await file.read(idx, trailer, 20, end);
  createHash('sha1')
    .update(idx.subarray(0, trailer + 20))
    .digest()
    .copy(idx, trailer + 20);
  return idx;
}
