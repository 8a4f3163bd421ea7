import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeIndex } from '../../../shared/source/git-index.ts';

describe('encodeIndex', () => {
  const entries = [
    { path: 'src/z.ts', mode: '100644', oid: 'aa'.repeat(20), size: 10 },
    { path: 'build.sh', mode: '100755', oid: 'bb'.repeat(20), size: 20 },
    { path: 'src-link', mode: '120000', oid: 'cc'.repeat(20), size: 3 },
    { path: 'src/a.ts', mode: '100644', oid: 'dd'.repeat(20), size: 30 },
  ];
  const index = encodeIndex(
    entries.map((e) => ({ ...e, path: Buffer.from(e.path), mode: Number.parseInt(e.mode, 8) })),
  );

  /** Paths, modes, ids and sizes back out of an encoded index. */
  function decode(buffer: Buffer) {
    const count = buffer.readUInt32BE(8);
    const out: { path: string; mode: string; oid: string; size: number }[] = [];
    let pos = 12;
    for (let i = 0; i < count; i++) {
      const nameLength = buffer.readUInt16BE(pos + 60) & 0xfff;
      out.push({
        path: buffer.toString('utf8', pos + 62, pos + 62 + nameLength),
        mode: buffer.readUInt32BE(pos + 24).toString(8),
        oid: buffer.toString('hex', pos + 40, pos + 60),
        size: buffer.readUInt32BE(pos + 36),
      });
      pos += Math.ceil((62 + nameLength + 1) / 8) * 8;
    }
    return { out, end: pos };
  }

  it('writes a version 2 header with the entry count', () => {
    expect(index.toString('latin1', 0, 4)).toBe('DIRC');
    expect(index.readUInt32BE(4)).toBe(2);
    expect(index.readUInt32BE(8)).toBe(4);
  });

  it('sorts entries by path bytes ("src-link" before "src/...") and keeps mode, id and size', () => {
    const { out } = decode(index);
    expect(out.map((e) => e.path)).toEqual(['build.sh', 'src-link', 'src/a.ts', 'src/z.ts']);
    expect(out.find((e) => e.path === 'src-link')).toEqual(entries[2]);
    expect(out.find((e) => e.path === 'build.sh')).toEqual(entries[1]);
  });

  it('keeps name bytes that are not UTF-8 as they are', () => {
    const name = Buffer.from([0x63, 0x61, 0x66, 0xe9]);
    const encoded = encodeIndex([{ path: name, mode: 0o100644, oid: 'aa'.repeat(20), size: 1 }]);
    expect(encoded.subarray(12 + 62, 12 + 62 + 4)).toEqual(name);
    expect(encoded.readUInt16BE(12 + 60)).toBe(4);
  });

  it('ends with the SHA-1 of everything before it', () => {
    const { end } = decode(index);
    expect(index.length).toBe(end + 20);
    expect(index.subarray(end).toString('hex')).toBe(
      createHash('sha1').update(index.subarray(0, end)).digest('hex'),
    );
  });

  it('sorts and keeps every entry when the records fill several arena chunks', () => {
    // 20,000 records of about 100 bytes: two 1 MiB chunks. Given in reverse, so each lands far from its place.
    const many = Array.from({ length: 20_000 }, (_, i) => ({
      path: Buffer.from(`folder-${String(i).padStart(5, '0')}/${'x'.repeat(i % 40)}.txt`),
      mode: 0o100644,
      oid: createHash('sha1').update(String(i)).digest('hex'),
      size: i,
    })).reverse();
    const { out } = decode(encodeIndex(many));
    expect(out).toHaveLength(many.length);
    const expected = [...many].sort((a, b) => Buffer.compare(a.path, b.path));
    expect(out.map((e) => [e.path, e.oid, e.size])).toEqual(
      expected.map((e) => [e.path.toString(), e.oid, e.size]),
    );
  });
});
