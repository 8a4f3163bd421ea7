/**
 * Keeps the function's peak memory near its live data. isomorphic-git (fetch) and the zip
 * step allocate and drop tens of MB of buffers (external memory) that V8 collects late,
 * so without help the peak holds several generations of garbage. A full collection every
 * so often costs a few milliseconds with a small heap. Needs `--expose-gc` (the function
 * sets it in `NODE_OPTIONS`); without it these helpers do nothing.
 */

/**
 * The node flags the packaging function runs with (its `NODE_OPTIONS`; the bench's child
 * uses the same). `--max-semi-space-size=2` (MiB) keeps V8's young generation small: by
 * default it grows to 16 MiB per semi-space, and the short-lived objects that hold pack reads
 * and deflate output (and, through them, external buffers) then live three times longer. On
 * the 70,000-file bench repository it took the peak RSS from about 190 MB to about 140 MB.
 * V8 reads it only at start: `v8.setFlagsFromString` later has no effect.
 */
export const PACKAGING_NODE_FLAGS: readonly string[] = ['--expose-gc', '--max-semi-space-size=2'];

/** Runs a full garbage collection when the process allows it. */
export function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** A function to call with a growing counter (bytes, progress steps); it collects every `interval` units. */
export function collectEvery(interval: number): (counter: number) => void {
  let next = interval;
  return (counter) => {
    if (counter < next) return;
    next = counter + interval;
    collectGarbage();
  };
}
