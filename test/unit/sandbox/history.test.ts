import { afterEach, describe, expect, it, vi } from 'vitest';
import { manualClock } from '../../../sandbox/account/clock.ts';
import { type SampledStage, StageHistory, sampleIntervalFor } from '../../../sandbox/history.ts';

const START = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;

function stage(app: string, name: string, running: number, desired: number, states: string[] = []) {
  return {
    app,
    stage: name,
    runningCount: running,
    desiredCount: desired,
    instances: states.map((lifecycleState) => ({ lifecycleState })),
  } satisfies SampledStage;
}

describe('StageHistory', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('records running and desired tasks and the instances in service, per stage', () => {
    const clock = manualClock(START);
    const prod = stage('starter', 'prod', 2, 2, ['InService', 'InService']);
    let stages = [stage('starter', 'dev', 1, 1, ['InService', 'Pending']), prod];
    const history = new StageHistory({ clock, stages: () => stages, intervalMs: MINUTE });
    expect(history.sample()).toBe(true);
    clock.advance(MINUTE);
    stages = [stage('starter', 'dev', 2, 3, ['InService', 'InService', 'Terminating']), prod];
    expect(history.sample()).toBe(true);

    expect(history.toJSON()).toEqual({
      now: START + MINUTE,
      intervalMs: MINUTE,
      windowMs: 60 * MINUTE,
      stages: [
        {
          app: 'starter',
          stage: 'dev',
          samples: [
            { t: START, running: 1, desired: 1, instances: 1 },
            { t: START + MINUTE, running: 2, desired: 3, instances: 2 },
          ],
        },
        {
          app: 'starter',
          stage: 'prod',
          samples: [
            { t: START, running: 2, desired: 2, instances: 2 },
            { t: START + MINUTE, running: 2, desired: 2, instances: 2 },
          ],
        },
      ],
    });
  });

  it('takes one sample per interval of emulated time, however often it is asked', () => {
    const clock = manualClock(START);
    const read = vi.fn(() => [stage('a', 'dev', 1, 1)]);
    const history = new StageHistory({ clock, stages: read, intervalMs: MINUTE });
    expect(history.sample()).toBe(true);
    clock.advance(MINUTE / 2);
    expect(history.sample()).toBe(false);
    clock.advance(MINUTE / 2 - 1);
    expect(history.sample()).toBe(false);
    clock.advance(1);
    expect(history.sample()).toBe(true);
    // The stages are read only when a sample is taken.
    expect(read).toHaveBeenCalledTimes(2);
    expect(history.toJSON().stages[0]?.samples.map((s) => s.t)).toEqual([START, START + MINUTE]);
  });

  it('keeps only the last hour, however long it runs', () => {
    const clock = manualClock(START);
    const history = new StageHistory({ clock, stages: () => [stage('a', 'dev', 1, 1)], intervalMs: MINUTE });
    expect(history.capacity).toBe(61);
    for (let i = 0; i < 500; i++) {
      history.sample();
      clock.advance(MINUTE);
    }
    const samples = history.toJSON().stages[0]?.samples ?? [];
    const now = clock.now();
    expect(samples).toHaveLength(60);
    expect(samples[0]?.t).toBeGreaterThanOrEqual(now - 60 * MINUTE);
    expect(samples.at(-1)?.t).toBe(now - MINUTE);
  });

  it('drops a stage whose samples all left the window, and skips the gap of a jump in time', () => {
    const clock = manualClock(START);
    let stages = [stage('a', 'dev', 1, 1), stage('a', 'old', 1, 1)];
    const history = new StageHistory({ clock, stages: () => stages, intervalMs: MINUTE });
    history.sample();
    stages = [stage('a', 'dev', 4, 4)];
    // The clock resumes from saved state two hours later: one new sample, nothing invented between.
    clock.advance(120 * MINUTE);
    history.sample();
    expect(history.toJSON().stages).toEqual([
      {
        app: 'a',
        stage: 'dev',
        samples: [{ t: START + 120 * MINUTE, running: 4, desired: 4, instances: 0 }],
      },
    ]);
  });

  it('refuses an interval it cannot keep', () => {
    const clock = manualClock(START);
    expect(() => new StageHistory({ clock, stages: () => [], intervalMs: 0 })).toThrow(/intervalMs/);
    expect(
      () => new StageHistory({ clock, stages: () => [], intervalMs: MINUTE, windowMs: MINUTE - 1 }),
    ).toThrow(/windowMs must be at least intervalMs/);
  });

  it('samples on a timer until stopped', () => {
    vi.useFakeTimers();
    const clock = manualClock(START);
    const read = vi.fn(() => [stage('a', 'dev', 1, 1)]);
    const history = new StageHistory({ clock, stages: read, intervalMs: MINUTE });
    const errors: unknown[] = [];
    history.start(100, (error) => errors.push(error));
    expect(read).toHaveBeenCalledTimes(1);
    clock.advance(MINUTE);
    vi.advanceTimersByTime(100);
    expect(read).toHaveBeenCalledTimes(2);
    history.stop();
    clock.advance(MINUTE);
    vi.advanceTimersByTime(1000);
    expect(read).toHaveBeenCalledTimes(2);
    expect(errors).toEqual([]);
  });

  it('reports a failed sample and goes on sampling', () => {
    vi.useFakeTimers();
    const clock = manualClock(START);
    let fail = true;
    const history = new StageHistory({
      clock,
      intervalMs: MINUTE,
      stages: () => {
        if (fail) throw new Error('the account is being written');
        return [stage('a', 'dev', 1, 1)];
      },
    });
    const errors: string[] = [];
    history.start(100, (error) => errors.push((error as Error).message));
    expect(errors).toEqual(['the account is being written']);
    fail = false;
    clock.advance(MINUTE);
    vi.advanceTimersByTime(100);
    history.stop();
    expect(history.toJSON().stages[0]?.samples).toHaveLength(1);
  });

  it('samples every 15 emulated seconds, and at most twice a real second on a fast clock', () => {
    expect(sampleIntervalFor(1)).toBe(15_000);
    expect(sampleIntervalFor(30)).toBe(15_000);
    expect(sampleIntervalFor(60)).toBe(30_000);
    expect(sampleIntervalFor(300)).toBe(150_000);
    // An hour of the chart holds 24 samples at 300 and 120 at the default 60.
    expect(
      new StageHistory({ clock: manualClock(), stages: () => [], intervalMs: sampleIntervalFor(300) })
        .capacity,
    ).toBe(25);
  });
});
