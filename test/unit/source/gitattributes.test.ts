import { describe, expect, it } from 'vitest';
import {
  attributesOf,
  BUILT_IN_MACROS,
  parseAttributes,
  wildmatchRegex,
} from '../../../shared/source/gitattributes.ts';

describe('wildmatchRegex', () => {
  it('with pathname, * and ? stop at "/" and **/ spans any number of folders', () => {
    const re = (p: string) => wildmatchRegex(p, true);
    expect(re('*.md').test('a.md')).toBe(true);
    expect(re('*.md').test('docs/a.md')).toBe(false);
    expect(re('docs/**/*.md').test('docs/a.md')).toBe(true);
    expect(re('docs/**/*.md').test('docs/x/y/a.md')).toBe(true);
    expect(re('**/x.txt').test('x.txt')).toBe(true);
    expect(re('**/x.txt').test('a/b/x.txt')).toBe(true);
    expect(re('docs/**').test('docs/a/b')).toBe(true);
    expect(re('a?c').test('a/c')).toBe(false);
    expect(re('[!a]b').test('/b')).toBe(false);
    expect(re('[a-c]x').test('bx')).toBe(true);
    expect(re('[[:digit:]]x').test('7x')).toBe(true);
    expect(re('\\*lit').test('*lit')).toBe(true);
    expect(re('\\*lit').test('alit')).toBe(false);
  });
});

describe('attributesOf', () => {
  const macros = new Map(BUILT_IN_MACROS);
  const top = parseAttributes(
    Buffer.from(
      [
        '# comment',
        '[attr]windows text eol=crlf',
        '*.txt eol=crlf',
        '*.win windows',
        '*.bin binary',
        '/root-only.md ident',
        'docs/*.md text',
        '!negated.txt eol=lf',
        '"with space.txt" ident',
      ].join('\n'),
    ),
    '',
    macros,
  );
  const sub = parseAttributes(Buffer.from('*.txt -text !eol\n[attr]ignored ident\n'), 'sub/', macros);

  it('matches a pattern without "/" on the basename at any depth, later lines winning', () => {
    expect(Object.fromEntries(attributesOf('a/b/c.txt', [top]))).toEqual({ eol: 'crlf' });
  });

  it('expands macros, the built-in binary too', () => {
    expect(Object.fromEntries(attributesOf('x.win', [top]))).toEqual({
      windows: true,
      text: true,
      eol: 'crlf',
    });
    expect(attributesOf('x.bin', [top]).get('text')).toBe(false);
  });

  it('anchors a pattern with "/" to its file folder', () => {
    expect(attributesOf('root-only.md', [top]).get('ident')).toBe(true);
    expect(attributesOf('sub/root-only.md', [top]).has('ident')).toBe(false);
    expect(attributesOf('docs/a.md', [top]).get('text')).toBe(true);
    expect(attributesOf('docs/deeper/a.md', [top]).has('text')).toBe(false);
  });

  it('lets a deeper file override, unset (-) and unspecify (!) attributes', () => {
    expect(Object.fromEntries(attributesOf('sub/c.txt', [top, sub]))).toEqual({ text: false });
    expect(Object.fromEntries(attributesOf('other/c.txt', [top, sub]))).toEqual({ eol: 'crlf' });
  });

  it('ignores negative patterns, reads quoted ones, and takes macros from the top file only', () => {
    expect(attributesOf('negated.txt', [top]).get('eol')).toBe('crlf');
    expect(attributesOf('with space.txt', [top]).get('ident')).toBe(true);
    expect(macros.has('ignored')).toBe(false);
  });
});
