/**
 * Pages of a list, as the AWS list and describe calls return them: at most a page size of
 * items and an opaque token to the rest (here the index of the next item, base64url-encoded).
 */

/** One page of `all`: `size` items (clamped to `[1, max]`) from where `token` points. */
export function pageOf<T>(
  all: readonly T[],
  size: number | undefined,
  token: string | undefined,
  limits: { readonly default: number; readonly max: number },
): { items: T[]; next?: string } {
  const start = token ? Number(Buffer.from(token, 'base64url').toString()) || 0 : 0;
  const count = Math.min(Math.max(size ?? limits.default, 1), limits.max);
  const items = all.slice(start, start + count);
  const next = start + count;
  return next < all.length ? { items, next: Buffer.from(String(next)).toString('base64url') } : { items };
}
