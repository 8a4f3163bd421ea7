/**
 * Keeps the function's peak memory near its live data. isomorphic-git (fetch) and the zip
 * step allocate and drop tens of MB of buffers (external memory) that V8 collects late,
 * so without help the peak holds several generations of garbage. A full collection every
 * so often costs a few milliseconds with a small heap. Needs `--expose-gc` (the function
 * sets it in `NODE_OPTIONS`); without it these helpers do nothing.
 */

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
