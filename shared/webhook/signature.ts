/**
 * Authenticity of webhook deliveries, checked before anything in the body is read.
 *
 * GitHub signs the exact bytes of the body: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256>`
 * keyed with the webhook secret. GitLab sends the shared secret itself in `X-Gitlab-Token`.
 * Both comparisons take constant time so a caller cannot learn the secret byte by byte.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

const SIGNATURE = /^sha256=([0-9a-f]{64})$/i;

/**
 * True when `header` is the HMAC-SHA256 of the raw `body` bytes under `secret`. The HMAC is
 * computed over the bytes, not a re-decoded string, so any byte GitHub sent counts.
 */
export function verifyGithubSignature(secret: string, body: Uint8Array, header: string | undefined): boolean {
  if (!secret || !header) return false;
  const match = SIGNATURE.exec(header.trim());
  if (!match?.[1]) return false;
  const given = Buffer.from(match[1], 'hex');
  const expected = createHmac('sha256', secret).update(body).digest();
  return timingSafeEqual(given, expected);
}

/**
 * True when the `X-Gitlab-Token` header equals the shared token. Both sides are hashed first
 * so the comparison has a fixed length and does not reveal the token's length either.
 */
export function verifyGitlabToken(token: string, header: string | undefined): boolean {
  if (!token || header === undefined) return false;
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(token), digest(header));
}
