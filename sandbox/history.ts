/**
 * What the sandbox's page charts: each stage's tasks and instances over the last hour of
 * emulated time. A bounded in-memory record (nothing on disk: a restart starts a new chart),
 * one sample per stage every `intervalMs` of the sandbox clock, the oldest dropped once they
 * fall out of the window.
 */
import type { Clock } from './account/clock.ts';

/** One stage at one emulated instant. */
export interface StageSample {
  /** Emulated epoch milliseconds. */
  readonly t: number;
  /** Tasks RUNNING. */
  readonly running: number;
  /** The service's desired count. */
  readonly desired: number;
  /** Instances of the stage's Auto Scaling group in service. */
  readonly instances: number;
}

/** The parts of a stage snapshot (`EmulatedAccount.snapshot()`) a sample reads. */
export interface SampledStage {
  readonly app: string;
  readonly stage: string;
  readonly runningCount: number;
  readonly desiredCount: number;
  readonly instances: readonly { readonly lifecycleState: string }[];
}

export interface StageHistoryOptions {
  /** The sandbox clock: samples are spaced and dated in emulated time. */
  readonly clock: Clock;
  /** Reads the stages when a sample is due. */
  readonly stages: () => readonly SampledStage[];
  /** Emulated milliseconds between two samples of a stage. @default 15 s */
  readonly intervalMs?: number;
  /** Emulated milliseconds of history kept. @default one hour */
  readonly windowMs?: number;
}

/** `GET /history`: the samples per stage, oldest first. */
export interface HistoryDocument {
  readonly now: number;
  readonly intervalMs: number;
  readonly windowMs: number;
  readonly stages: { readonly app: string; readonly stage: string; readonly samples: StageSample[] }[];
}

export const DEFAULT_SAMPLE_INTERVAL_MS = 15_000;
export const DEFAULT_HISTORY_WINDOW_MS = 60 * 60 * 1000;
/** Wall-clock milliseconds between two samples at most: a fast clock must not cost CPU. */
export const MIN_REAL_SAMPLE_PERIOD_MS = 500;

/**
 * The emulated interval between two samples at a time scale: 15 s, or longer when the clock
 * runs so fast that 15 emulated seconds would pass in less than half a real second (30 s at
 * the default scale of 60, so an hour holds 120 samples and takes a minute).
 */
export function sampleIntervalFor(timeScale: number): number {
  return Math.max(DEFAULT_SAMPLE_INTERVAL_MS, timeScale * MIN_REAL_SAMPLE_PERIOD_MS);
}

/** The bounded history of every stage's tasks and instances. */
export class StageHistory {
  readonly intervalMs: number;
  readonly windowMs: number;
  /** At most this many samples per stage: the window's worth, plus the sample at its start. */
  readonly capacity: number;
  private readonly clock: Clock;
  private readonly read: () => readonly SampledStage[];
  private readonly byStage = new Map<string, { app: string; stage: string; samples: StageSample[] }>();
  private lastSlot = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;

  constructor(options: StageHistoryOptions) {
    this.intervalMs = options.intervalMs ?? DEFAULT_SAMPLE_INTERVAL_MS;
    this.windowMs = options.windowMs ?? DEFAULT_HISTORY_WINDOW_MS;
    if (!(this.intervalMs > 0)) throw new Error(`intervalMs must be positive, got ${this.intervalMs}`);
    if (!(this.windowMs >= this.intervalMs)) {
      throw new Error(`windowMs must be at least intervalMs (${this.intervalMs}), got ${this.windowMs}`);
    }
    this.capacity = Math.floor(this.windowMs / this.intervalMs) + 1;
    this.clock = options.clock;
    this.read = options.stages;
  }

  /**
   * Takes a sample of every stage if one is due (the clock entered an `intervalMs` slot with
   * no sample yet: samples stay `intervalMs` apart on average whatever the timer's jitter),
   * and drops what left the window. Returns whether it sampled.
   */
  sample(): boolean {
    const now = this.clock.now();
    const slot = Math.floor(now / this.intervalMs);
    if (slot <= this.lastSlot) return false;
    this.lastSlot = slot;
    for (const stage of this.read()) {
      const key = `${stage.app}/${stage.stage}`;
      let entry = this.byStage.get(key);
      if (!entry) {
        entry = { app: stage.app, stage: stage.stage, samples: [] };
        this.byStage.set(key, entry);
      }
      entry.samples.push({
        t: now,
        running: stage.runningCount,
        desired: stage.desiredCount,
        instances: stage.instances.filter((i) => i.lifecycleState === 'InService').length,
      });
    }
    this.prune(now);
    return true;
  }

  /** The samples of the last window, per stage, oldest first (copies). */
  toJSON(): HistoryDocument {
    const now = this.clock.now();
    this.prune(now);
    return {
      now,
      intervalMs: this.intervalMs,
      windowMs: this.windowMs,
      stages: [...this.byStage.values()].map((s) => ({
        app: s.app,
        stage: s.stage,
        samples: [...s.samples],
      })),
    };
  }

  /**
   * Samples every `realPeriodMs` of wall-clock time (checking against the emulated interval),
   * until `stop()`. A sample that fails goes to `onError` and the next one is tried as usual.
   * The timer does not keep the process alive.
   */
  start(realPeriodMs: number, onError: (error: unknown) => void): void {
    this.stop();
    const tick = () => {
      try {
        this.sample();
      } catch (error) {
        onError(error);
      }
    };
    tick();
    this.timer = setInterval(tick, Math.max(10, realPeriodMs));
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private prune(now: number): void {
    const oldest = now - this.windowMs;
    for (const [key, entry] of this.byStage) {
      const firstKept = entry.samples.findIndex((s) => s.t >= oldest);
      if (firstKept === -1) {
        this.byStage.delete(key);
        continue;
      }
      const drop = Math.max(firstKept, entry.samples.length - this.capacity);
      if (drop > 0) entry.samples.splice(0, drop);
    }
  }
}
