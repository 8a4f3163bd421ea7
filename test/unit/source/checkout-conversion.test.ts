import { describe, expect, it } from 'vitest';
import {
  CheckoutConversionFailed,
  conversionFor,
  crlfToWorkingTree,
  encodeToWorkingTree,
  identToWorkingTree,
  toWorkingTree,
} from '../../../shared/source/checkout-conversion.ts';

const attrs = (entries: Record<string, string | boolean>) => new Map(Object.entries(entries));
const OID = 'ab'.repeat(20);

describe('conversionFor', () => {
  it('converts to CRLF only for eol=crlf (text, or text=auto with its rules); text alone follows LF', () => {
    expect(conversionFor(attrs({ eol: 'crlf' }), 'p').crlf).toBe('text-crlf');
    expect(conversionFor(attrs({ text: 'auto', eol: 'crlf' }), 'p').crlf).toBe('auto-crlf');
    expect(conversionFor(attrs({ text: true }), 'p').crlf).toBe('none');
    expect(conversionFor(attrs({ text: false, eol: 'crlf' }), 'p').crlf).toBe('none');
    expect(conversionFor(attrs({ crlf: true, eol: 'crlf' }), 'p').crlf).toBe('text-crlf');
  });

  it('refuses working-tree-encoding without a value (git dies on it) and encodings it cannot write', () => {
    expect(() => conversionFor(attrs({ 'working-tree-encoding': true }), 'a.txt')).toThrow(
      CheckoutConversionFailed,
    );
    expect(() => conversionFor(attrs({ 'working-tree-encoding': 'SHIFT-JIS' }), 'a.txt')).toThrow(
      /a\.txt: working-tree-encoding SHIFT-JIS is not supported/,
    );
    expect(conversionFor(attrs({ 'working-tree-encoding': 'utf-8' }), 'p').encoding).toBeUndefined();
  });
});

describe('crlfToWorkingTree', () => {
  it('turns lone LFs into CRLF and keeps existing CRLFs', () => {
    expect(crlfToWorkingTree(Buffer.from('a\nb\r\nc\n'), 'text-crlf').toString()).toBe('a\r\nb\r\nc\r\n');
  });

  it('with text=auto leaves binaries and files that already hold CR alone', () => {
    expect(crlfToWorkingTree(Buffer.from('a\0\n'), 'auto-crlf').toString()).toBe('a\0\n');
    expect(crlfToWorkingTree(Buffer.from('a\r\nb\n'), 'auto-crlf').toString()).toBe('a\r\nb\n');
    expect(crlfToWorkingTree(Buffer.from('a\nb\n'), 'auto-crlf').toString()).toBe('a\r\nb\r\n');
  });
});

describe('identToWorkingTree', () => {
  it('expands $Id$ and git-style $Id: ... $, keeps multi-line and foreign ids', () => {
    const out = identToWorkingTree(Buffer.from('$Id$ $Id: old $ $Id: a\nb $ $Id: x y z $'), OID).toString();
    expect(out).toBe(`$Id: ${OID} $ $Id: ${OID} $ $Id: a\nb $ $Id: x y z $`);
  });
});

describe('encodeToWorkingTree', () => {
  const text = Buffer.from('h\u00e9 \u20ac\n');
  it('writes UTF-16 with a little-endian BOM, UTF-16BE without', () => {
    expect(encodeToWorkingTree(text, 'UTF-16', 'p')).toEqual(
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('h\u00e9 \u20ac\n', 'utf16le')]),
    );
    expect(encodeToWorkingTree(Buffer.from('h'), 'UTF-16BE', 'p')).toEqual(Buffer.from([0, 0x68]));
  });

  it('writes windows-1252 and keeps the blob when a character does not fit (as git does)', () => {
    expect(encodeToWorkingTree(text, 'windows-1252', 'p')).toEqual(
      Buffer.from([0x68, 0xe9, 0x20, 0x80, 0x0a]),
    );
    expect(encodeToWorkingTree(text, 'ISO-8859-1', 'p')).toEqual(text);
    expect(encodeToWorkingTree(Buffer.from([0xff]), 'UTF-16', 'p')).toEqual(Buffer.from([0xff]));
  });
});

describe('toWorkingTree', () => {
  it('applies ident, then end of lines, then the encoding', () => {
    const out = toWorkingTree(
      Buffer.from('$Id$\n'),
      { ident: true, crlf: 'text-crlf', encoding: 'UTF-16LE' },
      OID,
      'p',
    );
    expect(out).toEqual(Buffer.from(`$Id: ${OID} $\r\n`, 'utf16le'));
  });
});
