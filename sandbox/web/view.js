/**
 * What the page shows, computed from the sandbox's JSON answers: no DOM here, so the unit
 * tests run it in Node and the page imports it as it is (no build step).
 */

const SHA = /^[0-9a-f]{40}$/;

/** The commit a stage runs: the tag of its image when the release tagged it with one. */
export function runningCommit(stage) {
  const image = stage?.taskDefinition?.image;
  if (typeof image !== 'string') return undefined;
  const tag = image.slice(image.lastIndexOf(':') + 1);
  return SHA.test(tag) ? tag : undefined;
}

/** The first 7 characters of a commit id, as git prints it. */
export function shortCommit(commit) {
  return typeof commit === 'string' ? commit.slice(0, 7) : '';
}

/** `value` when it is an http(s) URL (a link the page may open), else undefined. */
export function safeHttpUrl(value) {
  if (typeof value !== 'string') return undefined;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

/** The names of the stage's alarms in ALARM. */
export function alarmsInAlarm(stage) {
  return (stage?.alarms ?? []).filter((a) => a?.state === 'ALARM').map((a) => String(a.name));
}

/** Instances in service, and the Auto Scaling group's desired capacity. */
export function instanceCounts(stage) {
  const inService = (stage?.instances ?? []).filter((i) => i?.lifecycleState === 'InService').length;
  return { inService, desired: stage?.autoScalingGroup?.desired };
}

/** The state an execution is in (running) or ended in: the last state it entered. */
export function currentState(execution) {
  const states = execution?.statesEntered ?? [];
  return states.length > 0 ? String(states[states.length - 1]) : '';
}

/**
 * What an execution is for: `app/stage` of its input, or the alarm (or ECS event) that
 * started a `scale` execution.
 */
export function executionTarget(execution) {
  const input = execution?.input ?? {};
  if (input.app !== undefined) return `${input.app}/${input.stage ?? '?'}`;
  if (typeof input.detail?.alarmName === 'string') return input.detail.alarmName;
  if (typeof input['detail-type'] === 'string') return input['detail-type'];
  return '';
}

/** The running executions (latest first), then the `ended` latest that ended. */
export function executionsToShow(executions, ended = 10) {
  const byStart = [...(executions ?? [])].sort((a, b) =>
    String(b.startDate).localeCompare(String(a.startDate)),
  );
  const running = byStart.filter((e) => e.status === 'RUNNING');
  const done = byStart.filter((e) => e.status !== 'RUNNING').slice(0, ended);
  return [...running, ...done];
}

/** The series a stage's chart draws, in the order of its legend. */
export const SERIES = [
  { key: 'running', label: 'tasks running' },
  { key: 'desired', label: 'tasks desired' },
  { key: 'instances', label: 'instances in service' },
];

/**
 * The chart of one stage's samples (`GET /history`): for each series a step line as SVG
 * points `x,y ...` in a `width` x `height` box, time on x (the window ending at `now`), the
 * count on y from 0 at the bottom to `max` at the top. Each value holds until the next
 * sample; the last one holds until `now`.
 */
export function chartLines(samples, { now, windowMs, width, height }) {
  const list = (samples ?? []).filter((s) => s.t >= now - windowMs && s.t <= now);
  const max = Math.max(1, ...list.flatMap((s) => SERIES.map(({ key }) => Number(s[key]) || 0)));
  const x = (t) => round(((t - (now - windowMs)) / windowMs) * width);
  const y = (v) => round(height - (v / max) * height);
  const lines = SERIES.map(({ key, label }) => {
    const points = [];
    list.forEach((s, i) => {
      const value = Number(s[key]) || 0;
      const next = list[i + 1]?.t ?? now;
      points.push(`${x(s.t)},${y(value)}`, `${x(next)},${y(value)}`);
    });
    return {
      key,
      label,
      points: points.join(' '),
      last: list.length > 0 ? list[list.length - 1][key] : undefined,
    };
  });
  return { max, lines };
}

function round(n) {
  return Math.round(n * 10) / 10;
}
