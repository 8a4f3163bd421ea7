/**
 * The container health check of a task, as ECS runs it (interval, timeout, retries, start
 * period), timed on the sandbox's clock: emulated seconds pass faster, but a check never
 * runs more often, nor gives up sooner, than a real process on this machine can answer.
 */

/** The health check of a container definition (seconds), with ECS's defaults. */
export interface HealthCheckTiming {
  intervalSeconds: number;
  timeoutSeconds: number;
  retries: number;
  startPeriodSeconds: number;
}

/** ECS's defaults for a container health check. */
export const ECS_HEALTH_CHECK_DEFAULTS: HealthCheckTiming = {
  intervalSeconds: 30,
  timeoutSeconds: 5,
  retries: 3,
  startPeriodSeconds: 0,
};

/** Floors in real milliseconds: a Node app takes a few hundred ms to listen, a request some ms. */
export const REAL_FLOORS = { intervalMs: 500, timeoutMs: 2000, startPeriodMs: 5000 };

/** The timing of a container definition's `healthCheck` (absent fields: ECS's defaults). */
export function healthCheckTiming(
  check:
    | {
        interval?: number;
        timeout?: number;
        retries?: number;
        startPeriod?: number;
      }
    | undefined,
): HealthCheckTiming {
  return {
    intervalSeconds: check?.interval ?? ECS_HEALTH_CHECK_DEFAULTS.intervalSeconds,
    timeoutSeconds: check?.timeout ?? ECS_HEALTH_CHECK_DEFAULTS.timeoutSeconds,
    retries: check?.retries ?? ECS_HEALTH_CHECK_DEFAULTS.retries,
    startPeriodSeconds: check?.startPeriod ?? ECS_HEALTH_CHECK_DEFAULTS.startPeriodSeconds,
  };
}

/** The timing in real milliseconds at a time scale, never below {@link REAL_FLOORS}. */
export function realTiming(timing: HealthCheckTiming, timeScale: number) {
  const real = (seconds: number, floor: number) => Math.max(floor, (seconds * 1000) / timeScale);
  return {
    intervalMs: real(timing.intervalSeconds, REAL_FLOORS.intervalMs),
    timeoutMs: real(timing.timeoutSeconds, REAL_FLOORS.timeoutMs),
    startPeriodMs: real(timing.startPeriodSeconds, REAL_FLOORS.startPeriodMs),
    retries: timing.retries,
  };
}

/**
 * ECS's verdicts: HEALTHY at the first success; UNHEALTHY after `retries` failures in a row,
 * where failures within the start period do not count (a success in it ends it).
 */
export class HealthState {
  status: 'UNKNOWN' | 'HEALTHY' | 'UNHEALTHY' = 'UNKNOWN';
  private failures = 0;
  private inStartPeriod = true;

  constructor(
    private readonly retries: number,
    private readonly startPeriodEndsAt: number,
  ) {}

  /** Records one check at real time `now`; returns the new status when it changed. */
  record(ok: boolean, now: number): HealthState['status'] | undefined {
    if (this.status === 'UNHEALTHY') return undefined;
    if (now >= this.startPeriodEndsAt) this.inStartPeriod = false;
    if (ok) {
      this.failures = 0;
      this.inStartPeriod = false;
      if (this.status === 'HEALTHY') return undefined;
      this.status = 'HEALTHY';
      return this.status;
    }
    if (this.inStartPeriod) return undefined;
    this.failures += 1;
    if (this.failures < this.retries) return undefined;
    this.status = 'UNHEALTHY';
    return this.status;
  }
}
