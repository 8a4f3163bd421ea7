/**
 * Emulated time. The sandbox makes minutes of AWS time (a cooldown, a rollout, an alarm
 * period) pass in seconds: every emulator reads the time from one clock, never from
 * `Date.now()`, and waits through its `sleep`.
 */
export interface Clock {
  /** Emulated epoch milliseconds. */
  now(): number;
  /** Resolves after `ms` emulated milliseconds. */
  sleep(ms: number): Promise<void>;
}

/**
 * A clock that runs `timeScale` times faster than the wall clock: with a scale of 60, an
 * emulated minute takes one real second. Emulated time starts at `start` (default: now).
 */
export function scaledClock(options: { timeScale?: number; start?: number } = {}): ResumableClock & {
  readonly timeScale: number;
} {
  const timeScale = options.timeScale ?? 1;
  if (!(timeScale > 0)) throw new Error(`time scale must be a positive number, got ${timeScale}`);
  const realStart = Date.now();
  let start = options.start ?? realStart;
  const now = () => start + (Date.now() - realStart) * timeScale;
  return {
    timeScale,
    now,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms / timeScale))),
    resume(at) {
      const current = now();
      if (at > current) start += at - current;
    },
  };
}

/**
 * A clock that can continue from a saved emulated time. A fast clock runs ahead of the
 * wall clock, so after a restart "now" would be earlier than the state on disk: the
 * account resumes the clock from where its state stopped instead.
 */
export interface ResumableClock extends Clock {
  /** Moves the clock forward to `at` if it is behind it. */
  resume(at: number): void;
}

/**
 * A clock that moves only when told to (tests): `advance(ms)` moves it and wakes the
 * sleepers whose time has come.
 */
export interface ManualClock extends Clock {
  advance(ms: number): void;
}

export function manualClock(start = Date.UTC(2026, 0, 1)): ManualClock {
  let current = start;
  let sleepers: { until: number; wake: () => void }[] = [];
  return {
    now: () => current,
    sleep: (ms) =>
      new Promise<void>((resolve) => {
        if (ms <= 0) resolve();
        else sleepers.push({ until: current + ms, wake: resolve });
      }),
    advance(ms) {
      current += ms;
      const due = sleepers.filter((s) => s.until <= current);
      sleepers = sleepers.filter((s) => s.until > current);
      for (const s of due) s.wake();
    },
  };
}
