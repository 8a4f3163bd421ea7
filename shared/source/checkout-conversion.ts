/**
 * The conversions `git checkout` applies to a blob before writing it to the working tree,
 * from the path's attributes, with the configuration of a fresh clone on Linux (no
 * `core.autocrlf`, `core.eol` native = LF). Ported from git's `convert.c`, in its order:
 * `ident`, then end of lines (`text`/`crlf`/`eol`), then `working-tree-encoding`. Filters
 * (`filter=lfs`, ...) are not run: a clone without the filter's configuration (which is not
 * in the repository) writes the blob as it is, and so does the zip.
 */
import { createHash } from 'node:crypto';
import type { AttributeValue } from './gitattributes.ts';

/** The attribute would make a clone fail, or asks for something the zip cannot reproduce. */
export class CheckoutConversionFailed extends Error {
  override readonly name = 'CheckoutConversionFailed';
}

type CrlfAction =
  | 'binary'
  | 'text'
  | 'text-input'
  | 'text-crlf'
  | 'auto'
  | 'auto-crlf'
  | 'auto-input'
  | 'undefined';

export interface Conversion {
  readonly ident: boolean;
  /** Whether LF becomes CRLF on checkout, and under which rule. */
  readonly crlf: 'none' | 'text-crlf' | 'auto-crlf';
  /** The `working-tree-encoding`, when it is not UTF-8. */
  readonly encoding: string | undefined;
}

export const NO_CONVERSION: Conversion = { ident: false, crlf: 'none', encoding: undefined };

/** git's `git_path_check_crlf` for the `text` and the legacy `crlf` attribute. */
function crlfOf(value: AttributeValue | undefined): CrlfAction {
  if (value === true) return 'text';
  if (value === false) return 'binary';
  if (value === 'input') return 'text-input';
  if (value === 'auto') return 'auto';
  return 'undefined';
}

/** What a checkout does to a file with these attributes (git's `convert_attrs` with default config). */
export function conversionFor(attributes: ReadonlyMap<string, AttributeValue>, path: string): Conversion {
  let action = crlfOf(attributes.get('text'));
  if (action === 'undefined') action = crlfOf(attributes.get('crlf'));
  if (action !== 'binary') {
    const eol = attributes.get('eol');
    if (action === 'auto' && eol === 'lf') action = 'auto-input';
    else if (action === 'auto' && eol === 'crlf') action = 'auto-crlf';
    else if (eol === 'lf') action = 'text-input';
    else if (eol === 'crlf') action = 'text-crlf';
  }
  const encodingValue = attributes.get('working-tree-encoding');
  if (encodingValue === true || encodingValue === false) {
    // git dies here: the clone itself would fail.
    throw new CheckoutConversionFailed(
      `${path}: working-tree-encoding must name an encoding (git refuses true/false)`,
    );
  }
  const encoding =
    encodingValue === undefined || encodingValue === '' || /^utf-?8$/i.test(encodingValue)
      ? undefined
      : encodingValue;
  if (encoding !== undefined) encoderFor(encoding, path);
  return {
    ident: attributes.get('ident') === true,
    // `text` and `auto` follow core.eol, which is LF on Linux; only an explicit CRLF converts.
    crlf: action === 'text-crlf' ? 'text-crlf' : action === 'auto-crlf' ? 'auto-crlf' : 'none',
    encoding,
  };
}

export function isIdentity(conversion: Conversion): boolean {
  return !conversion.ident && conversion.crlf === 'none' && conversion.encoding === undefined;
}

/** Applies the conversion to a blob's content; `oid` is the blob's id (for `$Id$`). */
export function toWorkingTree(content: Buffer, conversion: Conversion, oid: string, path: string): Buffer {
  let out = content;
  if (conversion.ident) out = identToWorkingTree(out, oid);
  if (conversion.crlf !== 'none') out = crlfToWorkingTree(out, conversion.crlf);
  if (conversion.encoding !== undefined) out = encodeToWorkingTree(out, conversion.encoding, path);
  return out;
}

const DOLLAR = 0x24;
const NEWLINE = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;

/** git's `ident_to_worktree`: `$Id$` and `$Id: anything $` become `$Id: <blob id> $`. */
export function identToWorkingTree(src: Buffer, oid: string): Buffer {
  if (!src.includes('$Id')) return src;
  const id = oid || createHash('sha1').update(`blob ${src.length}\0`).update(src).digest('hex');
  const parts: Buffer[] = [];
  const expansion = Buffer.from(`Id: ${id} $`, 'latin1');
  let pos = 0;
  let copied = 0;
  let changed = false;
  for (;;) {
    const dollar = src.indexOf(DOLLAR, pos);
    if (dollar < 0) break;
    pos = dollar + 1;
    const len = src.length - pos;
    if (len < 3 || src[pos] !== 0x49 || src[pos + 1] !== 0x64) continue; // "Id"
    let end: number;
    if (src[pos + 2] === DOLLAR) {
      end = pos + 3;
    } else if (src[pos + 2] === 0x3a) {
      const close = src.indexOf(DOLLAR, pos + 3);
      if (close < 0) break;
      const newline = src.indexOf(NEWLINE, pos + 3);
      if (newline >= 0 && newline < close) continue;
      const space = src.indexOf(SPACE, pos + 4);
      // Spaces inside: probably another version control system's id; git keeps it.
      if (space >= 0 && space < close - 1) continue;
      end = close + 1;
    } else {
      continue;
    }
    parts.push(src.subarray(copied, pos), expansion);
    copied = end;
    pos = end;
    changed = true;
  }
  if (!changed) return src;
  parts.push(src.subarray(copied));
  return Buffer.concat(parts);
}

interface TextStats {
  lonecr: number;
  lonelf: number;
  crlf: number;
  nul: number;
  printable: number;
  nonprintable: number;
}

/** git's `gather_stats`. */
export function gatherStats(buf: Buffer): TextStats {
  const stats: TextStats = { lonecr: 0, lonelf: 0, crlf: 0, nul: 0, printable: 0, nonprintable: 0 };
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i] as number;
    if (c === CR) {
      if (buf[i + 1] === NEWLINE) {
        stats.crlf++;
        i++;
      } else stats.lonecr++;
      continue;
    }
    if (c === NEWLINE) {
      stats.lonelf++;
      continue;
    }
    if (c === 127) stats.nonprintable++;
    else if (c < 32) {
      // BS, HT, ESC and FF count as printable.
      if (c === 8 || c === 9 || c === 27 || c === 12) stats.printable++;
      else {
        if (c === 0) stats.nul++;
        stats.nonprintable++;
      }
    } else stats.printable++;
  }
  // A trailing ^Z (DOS end of file) is not counted as non-printable.
  if (buf.length >= 1 && buf[buf.length - 1] === 0x1a) stats.nonprintable--;
  return stats;
}

function isBinary(stats: TextStats): boolean {
  return stats.lonecr > 0 || stats.nul > 0 || stats.printable >> 7 < stats.nonprintable;
}

/** git's `crlf_to_worktree`: LF becomes CRLF, existing CRLFs stay; `auto` leaves binaries and mixed files alone. */
export function crlfToWorkingTree(src: Buffer, mode: 'text-crlf' | 'auto-crlf'): Buffer {
  if (src.length === 0) return src;
  const stats = gatherStats(src);
  if (stats.lonelf === 0) return src;
  if (mode === 'auto-crlf' && (stats.lonecr > 0 || stats.crlf > 0 || isBinary(stats))) return src;
  const out = Buffer.allocUnsafe(src.length + stats.lonelf);
  let o = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i] as number;
    if (c === NEWLINE && (i === 0 || src[i - 1] !== CR)) out[o++] = CR;
    out[o++] = c;
  }
  return out.subarray(0, o);
}

type Encoder = (text: string) => Buffer | undefined;

const BOM_LE16 = Buffer.from([0xff, 0xfe]);
const BOM_BE16 = Buffer.from([0xfe, 0xff]);
const BOM_LE32 = Buffer.from([0xff, 0xfe, 0, 0]);
const BOM_BE32 = Buffer.from([0, 0, 0xfe, 0xff]);

function utf16(text: string, bigEndian: boolean, bom: Buffer | undefined): Buffer {
  const le = Buffer.from(text, 'utf16le');
  if (bigEndian) le.swap16();
  return bom ? Buffer.concat([bom, le]) : le;
}

function utf32(text: string, bigEndian: boolean, bom: Buffer | undefined): Buffer {
  const points = Array.from(text, (c) => c.codePointAt(0) as number);
  const out = Buffer.allocUnsafe(points.length * 4);
  points.forEach((p, i) => {
    if (bigEndian) out.writeUInt32BE(p, i * 4);
    else out.writeUInt32LE(p, i * 4);
  });
  return bom ? Buffer.concat([bom, out]) : out;
}

/** True when every UTF-16 unit of `text` is below `limit`. */
function below(text: string, limit: number): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) >= limit) return false;
  return true;
}

/** The single-byte encodings of the WHATWG Encoding standard (the others are multi-byte). */
const SINGLE_BYTE = new Set([
  'ibm866',
  'iso-8859-2',
  'iso-8859-3',
  'iso-8859-4',
  'iso-8859-5',
  'iso-8859-6',
  'iso-8859-7',
  'iso-8859-8',
  'iso-8859-8-i',
  'iso-8859-10',
  'iso-8859-13',
  'iso-8859-14',
  'iso-8859-15',
  'iso-8859-16',
  'koi8-r',
  'koi8-u',
  'macintosh',
  'windows-874',
  'windows-1250',
  'windows-1251',
  'windows-1253',
  'windows-1254',
  'windows-1255',
  'windows-1256',
  'windows-1257',
  'windows-1258',
  'x-mac-cyrillic',
]);

/** An encoder for a single-byte encoding, built by inverting its decoder (ICU's tables). */
function singleByteEncoder(label: string): Encoder | undefined {
  let decoder: InstanceType<typeof TextDecoder>;
  try {
    decoder = new TextDecoder(label, { fatal: true });
  } catch {
    return undefined;
  }
  if (!SINGLE_BYTE.has(decoder.encoding)) return undefined;
  const table = new Map<number, number>();
  // WHATWG's windows-125x tables pass the bytes they leave undefined through as C1 controls;
  // glibc's iconv refuses those characters, so they are left out.
  const passThroughC1 = /^(windows|cp)-?125\d$/i.test(label);
  for (let byte = 0; byte < 256; byte++) {
    try {
      const text = decoder.decode(Uint8Array.of(byte));
      if (text.length !== 1) return undefined;
      const code = text.charCodeAt(0);
      if (passThroughC1 && code === byte && byte >= 0x80 && byte < 0xa0) continue;
      if (!table.has(code)) table.set(code, byte);
    } catch {
      // A byte the encoding leaves undefined.
    }
  }
  return (text) => {
    const out = Buffer.allocUnsafe(text.length);
    for (let i = 0; i < text.length; i++) {
      const byte = table.get(text.charCodeAt(i));
      if (byte === undefined) return undefined;
      out[i] = byte;
    }
    return out;
  };
}

/**
 * The encoder of an encoding name as git (with glibc's iconv) understands it. UTF-16 and
 * UTF-32 without an endianness get a byte order mark and little-endian order, as git writes
 * them on Linux. Unknown or multi-byte legacy encodings fail the deploy: we would rather say
 * so than write other bytes than a clone.
 */
export function encoderFor(name: string, path: string): Encoder {
  const key = name.toUpperCase().replace(/_/g, '-');
  switch (key) {
    case 'UTF-16':
    case 'UTF16':
    case 'UTF-16LE-BOM':
      return (text) => utf16(text, false, BOM_LE16);
    case 'UTF-16BE-BOM':
      return (text) => utf16(text, true, BOM_BE16);
    case 'UTF-16LE':
    case 'UTF16LE':
    case 'UCS-2LE':
      return (text) => utf16(text, false, undefined);
    case 'UTF-16BE':
    case 'UTF16BE':
    case 'UCS-2BE':
      return (text) => utf16(text, true, undefined);
    case 'UTF-32':
    case 'UTF32':
    case 'UTF-32LE-BOM':
      return (text) => utf32(text, false, BOM_LE32);
    case 'UTF-32BE-BOM':
      return (text) => utf32(text, true, BOM_BE32);
    case 'UTF-32LE':
    case 'UTF32LE':
      return (text) => utf32(text, false, undefined);
    case 'UTF-32BE':
    case 'UTF32BE':
      return (text) => utf32(text, true, undefined);
    case 'ISO-8859-1':
    case 'ISO8859-1':
    case 'LATIN1':
    case 'L1':
      // True Latin-1 (the WHATWG label maps to windows-1252, glibc's does not).
      return (text) => (below(text, 0x100) ? Buffer.from(text, 'latin1') : undefined);
    case 'ASCII':
    case 'US-ASCII':
      return (text) => (below(text, 0x80) ? Buffer.from(text, 'latin1') : undefined);
  }
  if (key === 'WINDOWS-1252' || key === 'CP1252') return windows1252;
  const encoder = singleByteEncoder(name);
  if (encoder) return encoder;
  throw new CheckoutConversionFailed(
    `${path}: working-tree-encoding ${name} is not supported by the source packaging (UTF-16, UTF-32, ISO-8859-1 and single-byte encodings are)`,
  );
}

/**
 * windows-1252 by hand: Node's decoder for it is Latin-1 (0x80-0x9f come out as C1 controls),
 * so its table cannot be inverted. The five bytes the code page leaves undefined are refused,
 * as glibc does.
 */
const WINDOWS_1252_HIGH = new Map(
  [
    0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0,
    0x017d, 0, 0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a,
    0x0153, 0, 0x017e, 0x0178,
  ]
    .map((code, i) => [code, 0x80 + i] as const)
    .filter(([code]) => code !== 0),
);

function windows1252(text: string): Buffer | undefined {
  const out = Buffer.allocUnsafe(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const byte = code < 0x80 || (code >= 0xa0 && code <= 0xff) ? code : WINDOWS_1252_HIGH.get(code);
    if (byte === undefined) return undefined;
    out[i] = byte;
  }
  return out;
}

const encoders = new Map<string, Encoder>();

/**
 * git's `encode_to_worktree`: the UTF-8 blob re-encoded. When the blob is not valid UTF-8, or
 * holds a character the encoding cannot represent, iconv fails and git writes the blob
 * unchanged (with an error message); so does this.
 */
export function encodeToWorkingTree(src: Buffer, encoding: string, path: string): Buffer {
  if (src.length === 0) return src;
  let encoder = encoders.get(encoding);
  if (!encoder) {
    encoder = encoderFor(encoding, path);
    encoders.set(encoding, encoder);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(src);
  } catch {
    return src;
  }
  return encoder(text) ?? src;
}
