import { describe, expect, it } from 'vitest';
import { applyDelta, parseTree } from '../../../shared/source/object-store.ts';

/** A git delta: base size, result size (varints), then copy and insert instructions. */
function delta(baseSize: number, resultSize: number, ops: number[]): Buffer {
  const varint = (n: number) => {
    const bytes: number[] = [];
    do {
      let byte = n & 0x7f;
      n = Math.floor(n / 128);
      if (n > 0) byte |= 0x80;
      bytes.push(byte);
    } while (n > 0);
    return bytes;
  };
  return Buffer.from([...varint(baseSize), ...varint(resultSize), ...ops]);
}

describe('applyDelta', () => {
  const base = Buffer.from('hello, world');

  it('copies ranges of the base and inserts new bytes', () => {
    // copy offset 0 size 5 ("hello"), insert "!!", copy offset 7 size 5 ("world")
    const d = delta(base.length, 12, [0x90, 5, 2, 0x21, 0x21, 0x91, 7, 5]);
    expect(applyDelta(base, d).toString()).toBe('hello!!world');
  });

  it('reads multi-byte offsets and sizes, and size 0 as 64 KiB', () => {
    const big = Buffer.alloc(0x10000 + 300, 0x61);
    big.write('XYZ', 0x10000 + 2);
    // copy offset 0x010002 (bytes 0 and 2 present), size 3
    const copy = delta(big.length, 3, [0x80 | 0x01 | 0x04 | 0x10, 0x02, 0x01, 3]);
    expect(applyDelta(big, copy).toString()).toBe('XYZ');
    // copy offset 0 with no size bytes: 0x10000 bytes
    const whole = delta(big.length, 0x10000, [0x80]);
    expect(applyDelta(big, whole).length).toBe(0x10000);
  });

  it('rejects a delta made for another base and one that does not produce its stated size', () => {
    expect(() => applyDelta(base, delta(base.length + 1, 5, [0x90, 5]))).toThrow(/base size/);
    expect(() => applyDelta(base, delta(base.length, 6, [0x90, 5]))).toThrow(/expected 6/);
    expect(() => applyDelta(base, delta(base.length, 1, [0x00]))).toThrow(/opcode 0/);
  });
});

describe('parseTree', () => {
  const entry = (mode: string, name: string, oidHex: string) =>
    Buffer.concat([Buffer.from(`${mode} ${name}\0`, 'utf8'), Buffer.from(oidHex, 'hex')]);

  it('reads modes, UTF-8 names and object ids', () => {
    const data = Buffer.concat([
      entry('100644', 'README.md', 'aa'.repeat(20)),
      entry('100755', 'build.sh', 'bb'.repeat(20)),
      entry('120000', 'link', 'cc'.repeat(20)),
      entry('40000', 'café ünïcode', 'dd'.repeat(20)),
    ]);
    expect(parseTree(data).map((e) => ({ ...e, name: e.name.toString('utf8') }))).toEqual([
      { mode: '100644', name: 'README.md', oid: 'aa'.repeat(20) },
      { mode: '100755', name: 'build.sh', oid: 'bb'.repeat(20) },
      { mode: '120000', name: 'link', oid: 'cc'.repeat(20) },
      { mode: '40000', name: 'café ünïcode', oid: 'dd'.repeat(20) },
    ]);
  });

  it('keeps name bytes as they are (not UTF-8, backslashes, colons) and modes as spelled', () => {
    const name = Buffer.from([0x61, 0x5c, 0x62, 0x3a, 0xe9]);
    const data = Buffer.concat([
      Buffer.from('040000 '),
      name,
      Buffer.of(0),
      Buffer.from('ee'.repeat(20), 'hex'),
    ]);
    expect(parseTree(data)).toEqual([{ mode: '040000', name, oid: 'ee'.repeat(20) }]);
  });

  it('rejects a truncated tree', () => {
    expect(() => parseTree(entry('100644', 'a', 'aa'.repeat(20)).subarray(0, 20))).toThrow(/malformed/);
  });
});
