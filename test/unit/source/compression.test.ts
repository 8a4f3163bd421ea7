import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { entropy, extensionOf, SAMPLE_MIN_SIZE, shouldStore } from '../../../shared/source/compression.ts';

/** Deterministic bytes that look random (xorshift). */
function noise(size: number, seed = 7): Uint8Array {
  const bytes = new Uint8Array(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

const text = (size: number) =>
  new TextEncoder().encode('export const value = compute(input);\n'.repeat(size / 37 + 1));

describe('extensionOf', () => {
  it('takes the lowercase extension of the last path segment', () => {
    expect(extensionOf('assets/Logo.PNG')).toBe('png');
    expect(extensionOf('dist/app.tar.gz')).toBe('gz');
  });

  it('has no extension for dotfiles, folders with dots or names without a dot', () => {
    expect(extensionOf('.gitignore')).toBe('');
    expect(extensionOf('v1.2/Makefile')).toBe('');
    expect(extensionOf('Dockerfile')).toBe('');
  });
});

describe('entropy', () => {
  it('is 0 for empty or constant input and 8 for all byte values equally often', () => {
    expect(entropy(new Uint8Array())).toBe(0);
    expect(entropy(new Uint8Array(100).fill(65))).toBe(0);
    expect(entropy(Uint8Array.from({ length: 256 * 4 }, (_, i) => i % 256))).toBeCloseTo(8, 10);
  });

  it('stays between 0 and 8 bits per byte for any input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        const bits = entropy(bytes);
        return bits >= 0 && bits <= 8 + 1e-9;
      }),
    );
  });
});

describe('shouldStore', () => {
  it('stores formats that are compressed already, whatever their content', () => {
    for (const path of ['a.png', 'b/c.JPG', 'fonts/x.woff2', 'dist/app.tar.gz', 'lib/x.jar', 'v.mp4']) {
      expect(shouldStore(path, text(10_000)), path).toBe(true);
    }
  });

  it('stores empty files and large files that look random', () => {
    expect(shouldStore('empty.txt', new Uint8Array())).toBe(true);
    expect(shouldStore('blob.bin', noise(SAMPLE_MIN_SIZE * 4))).toBe(true);
  });

  it('deflates text and small files without sampling them', () => {
    expect(shouldStore('src/index.ts', text(50_000))).toBe(false);
    expect(shouldStore('small.bin', noise(SAMPLE_MIN_SIZE - 1))).toBe(false);
  });
});
