import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  boundedPollDelaySeconds,
  DEFAULT_POLL_SCHEDULE,
  nextPollDelaySeconds,
  nthWaitSeconds,
} from '../../../shared/pipeline/backoff.ts';

/** How many checks a pipeline that runs `durationSeconds` costs with the default schedule (the first one included). */
function checksFor(durationSeconds: number): number {
  let elapsed = 0;
  let checks = 1;
  while (elapsed < durationSeconds) {
    elapsed += nextPollDelaySeconds(elapsed, DEFAULT_POLL_SCHEDULE);
    checks++;
  }
  return checks;
}

/** Start of each schedule slot: the moments the checks happen when nothing is late. */
function slotStarts(count: number): number[] {
  const starts = [0];
  for (let n = 0; n < count - 1; n++) starts.push((starts.at(-1) ?? 0) + nthWaitSeconds(n));
  return starts;
}

describe('poll backoff', () => {
  it('waits 10 s, then 1.5 times longer each time, up to 120 s', () => {
    expect(Array.from({ length: 10 }, (_, n) => nthWaitSeconds(n))).toEqual([
      10, 15, 22, 33, 50, 75, 113, 120, 120, 120,
    ]);
  });

  it('gives each check made on schedule the next wait of the schedule', () => {
    const starts = slotStarts(9);
    expect(starts.map((t) => nextPollDelaySeconds(t))).toEqual([10, 15, 22, 33, 50, 75, 113, 120, 120]);
  });

  it('gives a check that runs a little late the same wait as one on time', () => {
    const starts = slotStarts(8);
    expect(starts.map((t) => nextPollDelaySeconds(t + 0.8))).toEqual([10, 15, 22, 33, 50, 75, 113, 120]);
  });

  it('never waits less than the first wait or more than the cap, and never shortens as time passes', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 86_400, noNaN: true }),
        fc.double({ min: 0, max: 600, noNaN: true }),
        (t, dt) => {
          const now = nextPollDelaySeconds(t);
          const later = nextPollDelaySeconds(t + dt);
          expect(now).toBeGreaterThanOrEqual(DEFAULT_POLL_SCHEDULE.initialSeconds);
          expect(now).toBeLessThanOrEqual(DEFAULT_POLL_SCHEDULE.maxSeconds);
          expect(later).toBeGreaterThanOrEqual(now);
        },
      ),
    );
  });

  it('grows by the factor from one wait to the next, give or take the rounding to whole seconds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 60 }), (n) => {
        const [wait, next] = [nthWaitSeconds(n), nthWaitSeconds(n + 1)];
        expect(next).toBeGreaterThanOrEqual(Math.min(DEFAULT_POLL_SCHEDULE.maxSeconds, wait));
        expect(next).toBeLessThanOrEqual((wait + 1) * DEFAULT_POLL_SCHEDULE.factor);
      }),
    );
  });

  it('shortens the last wait so the final check happens at the wait limit', () => {
    expect(boundedPollDelaySeconds(3590, 3600)).toBe(10);
    expect(boundedPollDelaySeconds(3000, 3600)).toBe(120);
    expect(boundedPollDelaySeconds(3599.5, 3600)).toBe(1);
    expect(boundedPollDelaySeconds(4000, 3600)).toBe(1);
  });

  it('looks at a 10-minute pipeline 11 times and at a 60-minute one 36 times', () => {
    // Each look costs three state transitions (Wait, Check Pipeline, Choice).
    expect(checksFor(60)).toBe(5);
    expect(checksFor(300)).toBe(8);
    expect(checksFor(600)).toBe(11);
    expect(checksFor(3600)).toBe(36);
  });
});
