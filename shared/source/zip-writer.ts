/**
 * A streaming zip writer made for one job: a commit's files, byte-exact. Names are written as
 * the raw bytes git holds (the UTF-8 flag set only when they are UTF-8), never normalised:
 * archiver rewrote backslashes to `/`, stripped a `name:` prefix as if it were a drive letter,
 * and replaced bytes that are not UTF-8 with U+FFFD. Headers and small entries are gathered
 * in one buffer and handed to the output in large chunks (archiver made about 33 writes of a
 * few bytes per entry, which dominated the time on repositories of many small files).
 * Entries larger than the read budget are streamed with a data descriptor, so memory does
 * not grow with a file's size. ZIP64 records are written where the counts or offsets need
 * them (more than 65,535 entries, or past 4 GiB).
 */
import type { Writable } from 'node:stream';
import { crc32, createDeflateRaw } from 'node:zlib';

/** Unix file types in a zip's external attributes (the high 16 bits). */
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
export const S_IFLNK = 0o120000;

const LOCAL_HEADER = 0x04034b50;
const CENTRAL_HEADER = 0x02014b50;
const DATA_DESCRIPTOR = 0x08074b50;
const ZIP64_END = 0x06064b50;
const ZIP64_LOCATOR = 0x07064b50;
const END = 0x06054b50;
/** Version made by: Unix (3) in the high byte, zip spec 6.3 in the low byte. */
const MADE_BY = (3 << 8) | 63;
const VERSION_NEEDED = 20;
const VERSION_NEEDED_ZIP64 = 45;
/** General purpose flags. */
const FLAG_DESCRIPTOR = 1 << 3;
const FLAG_UTF8 = 1 << 11;
const STORED = 0;
const DEFLATED = 8;
const MAX32 = 0xffffffff;
const MAX16 = 0xffff;
/** Extended timestamp extra field: the exact UTC mtime (DOS times are local and 2 s coarse). */
const EXTENDED_TIMESTAMP = 0x5455;
const ZIP64_EXTRA = 0x0001;
/** Output chunk size: small entries and headers are batched into writes of about this size. */
const CHUNK_BYTES = 256 * 1024;
/** The central directory is kept in chunks of this size. */
const CENTRAL_CHUNK_BYTES = 1024 * 1024;
/** A single zip entry must stay below this (4 GiB): larger ones would need ZIP64 sizes in local headers. */
const MAX_ENTRY_BYTES = MAX32 - 1;

/** Why a name cannot go into the zip as it is: the deploy fails naming the path. */
export class UnrepresentablePath extends Error {
  override readonly name = 'UnrepresentablePath';
}

export interface ZipEntryHeader {
  /** The entry's name, as raw bytes. */
  readonly name: Buffer;
  /** Unix mode with its file type, e.g. `0o100755`, `0o120777`. */
  readonly mode: number;
}

interface CentralRecord {
  readonly name: Buffer;
  readonly utf8: boolean;
  readonly mode: number;
  readonly method: number;
  readonly flags: number;
  readonly crc: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly offset: number;
}

/** True when `bytes` are valid UTF-8 (the UTF-8 flag may be set) and not plain ASCII (no need to). */
function needsUtf8Flag(bytes: Buffer): boolean {
  let ascii = true;
  for (const byte of bytes) {
    if (byte >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return false;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** DOS date and time (local fields as UTC, as Info-ZIP reads them when the extended timestamp is absent). */
function dosDateTime(date: Date): { time: number; date: number } {
  const year = Math.max(1980, Math.min(2107, date.getUTCFullYear()));
  return {
    time: (date.getUTCHours() << 11) | (date.getUTCMinutes() << 5) | Math.floor(date.getUTCSeconds() / 2),
    date: ((year - 1980) << 9) | ((date.getUTCMonth() + 1) << 5) | date.getUTCDate(),
  };
}

/**
 * Writes entries one after the other into `output`, waiting for it to drain, then the
 * central directory on `finish()`. Not re-entrant: await each call before the next.
 */
export class ZipWriter {
  /** The central directory, encoded as entries are added (a few dozen bytes each, no object per entry). */
  private readonly central: Buffer[] = [];
  private centralChunk = Buffer.allocUnsafe(CENTRAL_CHUNK_BYTES);
  private centralUsed = 0;
  private count = 0;
  private chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  private used = 0;
  private offset = 0;
  private readonly dos: { time: number; date: number };
  private readonly unixTime: number;

  constructor(
    private readonly output: Writable,
    /** Every entry's modification time (the committer date: the same commit gives the same zip). */
    date: Date,
    private readonly signal?: AbortSignal,
  ) {
    this.dos = dosDateTime(date);
    this.unixTime = Math.max(0, Math.min(MAX32, Math.floor(date.getTime() / 1000)));
  }

  /** Bytes of zip written so far (the output may still hold some of them). */
  get bytes(): number {
    return this.offset;
  }

  /** Entries written so far. */
  get entries(): number {
    return this.count;
  }

  private record(record: CentralRecord): void {
    const header = this.centralHeader(record);
    if (this.centralUsed + header.length > this.centralChunk.length) {
      this.central.push(this.centralChunk.subarray(0, this.centralUsed));
      this.centralChunk = Buffer.allocUnsafe(Math.max(CENTRAL_CHUNK_BYTES, header.length));
      this.centralUsed = 0;
    }
    header.copy(this.centralChunk, this.centralUsed);
    this.centralUsed += header.length;
    this.count++;
  }

  /**
   * A whole entry whose content is in memory: `data` is what goes into the zip, deflated
   * already when `method` is 8 (`raw` gives the size and CRC of the original bytes).
   */
  async addEntry(
    header: ZipEntryHeader,
    content: { raw: Buffer; data: Buffer; method: number; crc?: number },
  ): Promise<void> {
    const { raw, data, method } = content;
    if (raw.length > MAX_ENTRY_BYTES) throw new Error('an entry of 4 GiB or more cannot be zipped');
    const crc = content.crc ?? crc32(raw);
    const utf8 = needsUtf8Flag(header.name);
    const record: CentralRecord = {
      name: header.name,
      utf8,
      mode: header.mode,
      method,
      flags: utf8 ? FLAG_UTF8 : 0,
      crc,
      compressedSize: data.length,
      size: raw.length,
      offset: this.offset,
    };
    this.put(this.localHeader(record));
    this.put(data);
    this.record(record);
    await this.flushIfFull();
  }

  /**
   * An entry streamed from `source` (`size` bytes known up front): deflated on the fly or
   * stored, followed by a data descriptor with its CRC and sizes.
   */
  async addStream(
    header: ZipEntryHeader,
    size: number,
    source: AsyncIterable<Buffer>,
    options: { deflate: boolean; level: number },
  ): Promise<void> {
    if (size > MAX_ENTRY_BYTES) throw new Error('an entry of 4 GiB or more cannot be zipped');
    const utf8 = needsUtf8Flag(header.name);
    const start = this.offset;
    const method = options.deflate ? DEFLATED : STORED;
    const flags = (utf8 ? FLAG_UTF8 : 0) | FLAG_DESCRIPTOR;
    this.put(
      this.localHeader({
        name: header.name,
        utf8,
        mode: header.mode,
        method,
        flags,
        crc: 0,
        compressedSize: 0,
        size: 0,
        offset: start,
      }),
    );
    let crc = 0;
    let read = 0;
    let compressedSize = 0;
    if (options.deflate) {
      const deflater = createDeflateRaw({ level: options.level });
      const feeding = (async () => {
        try {
          for await (const piece of source) {
            crc = crc32(piece, crc);
            read += piece.length;
            if (!deflater.write(piece)) await new Promise((resolve) => deflater.once('drain', resolve));
          }
          deflater.end();
        } catch (error) {
          deflater.destroy(error as Error);
        }
      })();
      for await (const out of deflater as AsyncIterable<Buffer>) {
        compressedSize += out.length;
        this.put(out);
        await this.flushIfFull();
      }
      await feeding;
    } else {
      for await (const piece of source) {
        crc = crc32(piece, crc);
        read += piece.length;
        this.put(piece);
        await this.flushIfFull();
      }
      compressedSize = read;
    }
    if (read !== size) throw new Error(`entry ${header.name.toString()} had ${read} bytes, not ${size}`);
    const descriptor = Buffer.allocUnsafe(16);
    descriptor.writeUInt32LE(DATA_DESCRIPTOR, 0);
    descriptor.writeUInt32LE(crc >>> 0, 4);
    descriptor.writeUInt32LE(compressedSize, 8);
    descriptor.writeUInt32LE(read, 12);
    this.put(descriptor);
    this.record({
      name: header.name,
      utf8,
      mode: header.mode,
      method,
      flags,
      crc: crc >>> 0,
      compressedSize,
      size: read,
      offset: start,
    });
    await this.flushIfFull();
  }

  /** Writes the central directory and its end records, and ends the output. */
  async finish(): Promise<void> {
    const centralStart = this.offset;
    this.central.push(this.centralChunk.subarray(0, this.centralUsed));
    for (const chunk of this.central.splice(0)) {
      this.put(chunk);
      await this.flushIfFull();
    }
    const centralSize = this.offset - centralStart;
    const count = this.count;
    if (count >= MAX16 || centralStart >= MAX32 || centralSize >= MAX32) {
      const zip64End = this.offset;
      const record = Buffer.alloc(56);
      record.writeUInt32LE(ZIP64_END, 0);
      record.writeBigUInt64LE(44n, 4);
      record.writeUInt16LE(MADE_BY, 12);
      record.writeUInt16LE(VERSION_NEEDED_ZIP64, 14);
      record.writeBigUInt64LE(BigInt(count), 24);
      record.writeBigUInt64LE(BigInt(count), 32);
      record.writeBigUInt64LE(BigInt(centralSize), 40);
      record.writeBigUInt64LE(BigInt(centralStart), 48);
      this.put(record);
      const locator = Buffer.alloc(20);
      locator.writeUInt32LE(ZIP64_LOCATOR, 0);
      locator.writeBigUInt64LE(BigInt(zip64End), 8);
      locator.writeUInt32LE(1, 16);
      this.put(locator);
    }
    const end = Buffer.alloc(22);
    end.writeUInt32LE(END, 0);
    end.writeUInt16LE(Math.min(count, MAX16), 8);
    end.writeUInt16LE(Math.min(count, MAX16), 10);
    end.writeUInt32LE(Math.min(centralSize, MAX32), 12);
    end.writeUInt32LE(Math.min(centralStart, MAX32), 16);
    this.put(end);
    await this.flush();
    await new Promise<void>((resolve, reject) => {
      this.output.once('error', reject);
      this.output.end(resolve);
    });
  }

  private localHeader(record: CentralRecord): Buffer {
    const header = Buffer.allocUnsafe(30 + record.name.length + 9);
    header.writeUInt32LE(LOCAL_HEADER, 0);
    header.writeUInt16LE(VERSION_NEEDED, 4);
    header.writeUInt16LE(record.flags, 6);
    header.writeUInt16LE(record.method, 8);
    header.writeUInt16LE(this.dos.time, 10);
    header.writeUInt16LE(this.dos.date, 12);
    header.writeUInt32LE(record.crc >>> 0, 14);
    header.writeUInt32LE(record.compressedSize, 18);
    header.writeUInt32LE(record.size, 22);
    header.writeUInt16LE(record.name.length, 26);
    header.writeUInt16LE(9, 28);
    record.name.copy(header, 30);
    this.writeTimestamp(header, 30 + record.name.length);
    return header;
  }

  private centralHeader(record: CentralRecord): Buffer {
    const zip64 = record.offset >= MAX32;
    const extra = 9 + (zip64 ? 12 : 0);
    const header = Buffer.allocUnsafe(46 + record.name.length + extra);
    header.writeUInt32LE(CENTRAL_HEADER, 0);
    header.writeUInt16LE(MADE_BY, 4);
    header.writeUInt16LE(zip64 ? VERSION_NEEDED_ZIP64 : VERSION_NEEDED, 6);
    header.writeUInt16LE(record.flags, 8);
    header.writeUInt16LE(record.method, 10);
    header.writeUInt16LE(this.dos.time, 12);
    header.writeUInt16LE(this.dos.date, 14);
    header.writeUInt32LE(record.crc >>> 0, 16);
    header.writeUInt32LE(record.compressedSize, 20);
    header.writeUInt32LE(record.size, 24);
    header.writeUInt16LE(record.name.length, 28);
    header.writeUInt16LE(extra, 30);
    header.writeUInt16LE(0, 32); // comment length
    header.writeUInt16LE(0, 34); // disk number
    header.writeUInt16LE(0, 36); // internal attributes
    const dosDirectory = (record.mode & 0o170000) === S_IFDIR ? 0x10 : 0;
    header.writeUInt32LE(((record.mode << 16) | dosDirectory) >>> 0, 38);
    header.writeUInt32LE(zip64 ? MAX32 : record.offset, 42);
    record.name.copy(header, 46);
    let at = this.writeTimestamp(header, 46 + record.name.length);
    if (zip64) {
      header.writeUInt16LE(ZIP64_EXTRA, at);
      header.writeUInt16LE(8, at + 2);
      header.writeBigUInt64LE(BigInt(record.offset), at + 4);
      at += 12;
    }
    return header;
  }

  /** The extended timestamp extra field (mtime only); returns the offset after it. */
  private writeTimestamp(buffer: Buffer, at: number): number {
    buffer.writeUInt16LE(EXTENDED_TIMESTAMP, at);
    buffer.writeUInt16LE(5, at + 2);
    buffer.writeUInt8(1, at + 4);
    buffer.writeUInt32LE(this.unixTime, at + 5);
    return at + 9;
  }

  /** Appends bytes to the pending chunk; a large piece is passed on as it is, after what is pending. */
  private put(bytes: Buffer): void {
    this.offset += bytes.length;
    if (bytes.length >= CHUNK_BYTES / 2) {
      this.pushPending();
      this.output.write(bytes);
      return;
    }
    if (this.used + bytes.length > this.chunk.length) this.pushPending();
    bytes.copy(this.chunk, this.used);
    this.used += bytes.length;
  }

  private pushPending(): void {
    if (this.used === 0) return;
    this.output.write(this.chunk.subarray(0, this.used));
    this.chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    this.used = 0;
  }

  private async flushIfFull(): Promise<void> {
    this.checkAborted();
    if (this.output.writableNeedDrain) await this.drain();
  }

  private async flush(): Promise<void> {
    this.pushPending();
    await this.flushIfFull();
  }

  /** Waits until the output wants more, or fails with the output's error or the abort reason. */
  private drain(): Promise<void> {
    const { output, signal } = this;
    return new Promise<void>((resolve, reject) => {
      const done = (error?: Error) => {
        output.off('drain', onDrain);
        output.off('error', onError);
        output.off('close', onClose);
        signal?.removeEventListener('abort', onAbort);
        if (error) reject(error);
        else resolve();
      };
      const onDrain = () => done();
      const onError = (error: Error) => done(error);
      const onClose = () => done(output.errored ?? new Error('the zip output closed early'));
      const onAbort = () => done(abortReason(signal));
      output.on('drain', onDrain);
      output.on('error', onError);
      output.on('close', onClose);
      signal?.addEventListener('abort', onAbort);
      if (signal?.aborted) onAbort();
      else if (output.destroyed) onClose();
    });
  }

  private checkAborted(): void {
    if (this.signal?.aborted) throw abortReason(this.signal);
    if (this.output.destroyed) throw this.output.errored ?? new Error('the zip output closed early');
  }
}

function abortReason(signal: AbortSignal | undefined): Error {
  return signal?.reason instanceof Error ? signal.reason : new Error('zip aborted');
}
