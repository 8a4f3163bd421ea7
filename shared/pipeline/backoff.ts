/**
 * How long the `deploy` state machine waits between two looks at a pipeline execution.
 *
 * Step Functions bills standard workflows per state transition and every poll costs
 * three (Wait, Check Pipeline, the Choice), so the wait grows geometrically: a short
 * build is seen soon after it ends and a long one costs a few dozen transitions, not
 * hundreds. The schedule is a function of the time elapsed since the pipeline started,
 * so the state machine carries no counter and a retried check computes the same wait.
 */

export interface PollSchedule {
  /** First wait, in seconds. */
  readonly initialSeconds: number;
  /** Each wait is the previous one times this factor... */
  readonly factor: number;
  /** ...up to this many seconds. */
  readonly maxSeconds: number;
}

/** 10 s, 15 s, 22 s, 33 s, 50 s, 75 s, 113 s, then every 120 s. */
export const DEFAULT_POLL_SCHEDULE: PollSchedule = { initialSeconds: 10, factor: 1.5, maxSeconds: 120 };

/** The `n`-th wait of the schedule (0-based), whole seconds, never above the cap. */
export function nthWaitSeconds(n: number, schedule: PollSchedule = DEFAULT_POLL_SCHEDULE): number {
  const raw = schedule.initialSeconds * schedule.factor ** n;
  return Math.min(schedule.maxSeconds, Math.max(1, Math.floor(raw)));
}

/**
 * The wait before the next check, given the seconds elapsed since the pipeline started:
 * the wait of the schedule slot `elapsedSeconds` falls in. A check made right after the
 * start waits `initialSeconds`; one made after the first wait waits `initialSeconds * factor`; ...
 */
export function nextPollDelaySeconds(
  elapsedSeconds: number,
  schedule: PollSchedule = DEFAULT_POLL_SCHEDULE,
): number {
  let slotEnd = 0;
  for (let n = 0; ; n++) {
    const wait = nthWaitSeconds(n, schedule);
    // Past the cap every slot is the same: no need to walk a long pipeline's whole history.
    if (wait >= schedule.maxSeconds) return wait;
    slotEnd += wait;
    if (elapsedSeconds < slotEnd) return wait;
  }
}

/**
 * The wait before the next check, shortened so that the last check happens at the
 * deadline rather than up to one full wait after it. At least one second.
 */
export function boundedPollDelaySeconds(
  elapsedSeconds: number,
  limitSeconds: number,
  schedule: PollSchedule = DEFAULT_POLL_SCHEDULE,
): number {
  const wait = nextPollDelaySeconds(elapsedSeconds, schedule);
  return Math.max(1, Math.min(wait, Math.ceil(limitSeconds - elapsedSeconds)));
}
