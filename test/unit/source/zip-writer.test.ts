import { Writable } from 'node:stream';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { S_IFREG, ZipWriter } from '../../../shared/source/zip-writer.ts';

/** An output that records the size of every write it gets. */
function countingOutput(): { output: Writable; writes: number[]; bytes: () => Buffer } {
  const writes: number[] = [];
  const chunks: Buffer[] = [];
  const output = new Writable({
    write(chunk: Buffer, _encoding, done) {
      writes.push(chunk.length);
      chunks.push(Buffer.from(chunk));
      done();
    },
  });
  return { output, writes, bytes: () => Buffer.concat(chunks) };
}

describe('ZipWriter', () => {
  it('hands the output large chunks, not a few bytes per header, for many small files', async () => {
    const { output, writes, bytes } = countingOutput();
    const zip = new ZipWriter(output, new Date('2026-01-01T00:00:00Z'));
    const files = 30_000;
    for (let i = 0; i < files; i++) {
      const raw = Buffer.from(`file ${i}\n`);
      await zip.addEntry(
        { name: Buffer.from(`src/f-${i}.txt`), mode: S_IFREG | 0o644 },
        { raw, data: raw, method: 0 },
      );
    }
    await zip.finish();
    const zipBytes = bytes();
    // About 100 bytes per entry (local and central headers): some 3 MB in 256 KiB writes.
    expect(writes.length).toBeLessThan(Math.ceil(zipBytes.length / (128 * 1024)) + 4);
    expect(writes.slice(0, -2).every((size) => size >= 64 * 1024)).toBe(true);
    // The end record counts every entry (ZIP64 is not needed below 65,535 entries).
    const end = zipBytes.subarray(zipBytes.length - 22);
    expect(end.readUInt32LE(0)).toBe(0x06054b50);
    expect(end.readUInt16LE(10)).toBe(files);
    // The first local header holds the first file whole, its CRC and sizes.
    expect(zipBytes.readUInt32LE(0)).toBe(0x04034b50);
    expect(zipBytes.readUInt32LE(14)).toBe(crc32(Buffer.from('file 0\n')));
    expect(zipBytes.toString('latin1', 30, 30 + 'src/f-0.txt'.length)).toBe('src/f-0.txt');
  });
});
