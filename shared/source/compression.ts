/**
 * Whether a file is worth deflating. Deflating data that is already compressed (images,
 * archives, fonts, media) or random costs CPU and gains nothing, so such entries are stored.
 */

/** Extensions of formats that are compressed already. */
// biome-ignore format: one category per line reads better than one extension per line
export const COMPRESSED_EXTENSIONS: ReadonlySet<string> = new Set([
  // images
  'png', 'jpg', 'jpeg', 'gif', 'webp', 'avif', 'heic', 'ico', 'jxl',
  // archives and compressed streams
  'gz', 'tgz', 'zip', 'jar', 'war', 'ear', 'whl', 'bz2', 'tbz2', 'xz', 'txz', 'zst', 'lz4', 'lzma', '7z', 'rar', 'br', 'apk', 'aab', 'nupkg', 'gem', 'crx', 'xpi', 'vsix',
  // fonts
  'woff', 'woff2',
  // audio and video
  'mp3', 'mp4', 'm4a', 'm4v', 'aac', 'ogg', 'oga', 'ogv', 'opus', 'webm', 'mkv', 'mov', 'avi', 'flac',
  // documents that are zip files inside
  'pdf', 'docx', 'xlsx', 'pptx', 'odt', 'ods', 'odp', 'epub',
]);

/** Files smaller than this are deflated without sampling: the sample would cost as much as the file. */
export const SAMPLE_MIN_SIZE = 4096;
/** Bytes sampled from the start of a larger file. */
export const SAMPLE_SIZE = 4096;
/** Shannon entropy (bits per byte) above which a sample counts as incompressible; text is about 4-6. */
export const INCOMPRESSIBLE_ENTROPY = 7.5;

/** Lowercase extension of the last path segment, without the dot; '' when there is none. */
export function extensionOf(path: string): string {
  const name = path.slice(path.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
}

/** Shannon entropy of the bytes, in bits per byte (0 for empty input, 8 for uniform random). */
export function entropy(bytes: Uint8Array): number {
  if (bytes.length === 0) return 0;
  const counts = new Uint32Array(256);
  for (const byte of bytes) counts[byte] = (counts[byte] ?? 0) + 1;
  let bits = 0;
  for (const count of counts) {
    if (count === 0) continue;
    const p = count / bytes.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

/**
 * True when the entry should be stored rather than deflated: empty files, known compressed
 * formats, and larger files whose first bytes look random (an entropy test on a sample costs
 * far less than deflating the whole file for nothing).
 */
export function shouldStore(path: string, content: Uint8Array): boolean {
  if (content.length === 0) return true;
  if (COMPRESSED_EXTENSIONS.has(extensionOf(path))) return true;
  if (content.length < SAMPLE_MIN_SIZE) return false;
  return entropy(content.subarray(0, SAMPLE_SIZE)) > INCOMPRESSIBLE_ENTROPY;
}
