/**
 * The pure decisions of the `scale` state machine: how many tasks or instances next, how
 * long to cool down, whether to repeat, how long a scaling loop may hold its lease. The
 * step handlers read the world through the adapters and ask these functions what to do.
 */
import type { StageConfig } from '../config.ts';
import type { ScaleDirection, ScaleTarget } from '../naming.ts';

/** Inclusive bounds of a count. */
export interface Bounds {
  readonly min: number;
  readonly max: number;
}

/** What a scaling step asks for: one step in a direction, or an explicit count (operator input). */
export type CountRequest =
  | { readonly direction: ScaleDirection; readonly step: number }
  | { readonly desiredCount: number };

export interface CountDecision {
  readonly from: number;
  readonly to: number;
  /** False when `to` equals `from`: no API call is made. */
  readonly changed: boolean;
  /** True when `to` sits at the bound the request was heading to: no further step can help. */
  readonly atBound: boolean;
  readonly reason: string;
}

/** Clamps `n` into `[bounds.min, bounds.max]`. */
export function clamp(n: number, bounds: Bounds): number {
  return Math.min(bounds.max, Math.max(bounds.min, n));
}

/** The tighter of two bounds (stackpilot.yml's and the Auto Scaling group's own limits). */
export function intersectBounds(a: Bounds, b: Bounds): Bounds {
  const min = Math.max(a.min, b.min);
  const max = Math.min(a.max, b.max);
  // Disjoint bounds cannot both hold: the stricter upper limit wins (AWS refuses anything above it).
  return min <= max ? { min, max } : { min: max, max };
}

/**
 * The next desired count: `current` plus or minus `step`, or the operator's count, always
 * within `bounds` (a count found outside them, after a manual change, is brought back in).
 * `unit` names what is counted in the reason (`tasks`, `instances`).
 */
export function nextDesiredCount(
  current: number,
  request: CountRequest,
  bounds: Bounds,
  unit = 'tasks',
): CountDecision {
  let to: number;
  let atBound: boolean;
  if ('desiredCount' in request) {
    to = clamp(request.desiredCount, bounds);
    atBound = false;
  } else if (request.direction === 'out') {
    to = clamp(current + request.step, bounds);
    atBound = to >= bounds.max;
  } else {
    to = clamp(current - request.step, bounds);
    atBound = to <= bounds.min;
  }
  const changed = to !== current;
  let reason: string;
  if (changed) reason = `${current} -> ${to} ${unit}`;
  else if ('desiredCount' in request) reason = `already at ${to} ${unit}`;
  else
    reason =
      request.direction === 'out'
        ? `already at the maximum of ${bounds.max} ${unit}`
        : `already at the minimum of ${bounds.min} ${unit}`;
  return { from: current, to, changed, atBound, reason };
}

/** How long to wait after a step before reading the alarm again (stackpilot.yml, defaults 60 s out / 300 s in). */
export function cooldownSeconds(stage: StageConfig, target: ScaleTarget, direction: ScaleDirection): number {
  const settings = target === 'service' ? stage.serviceScaling : stage.clusterScaling;
  return direction === 'out' ? settings.cooldownOutSeconds : settings.cooldownInSeconds;
}

/** What started the scaling loop. */
export type ScalingTrigger = 'alarm' | 'placement-failure' | 'operator';

/** What the state machine does after a scaling step. */
export type NextAfterStep = 'cool-down' | 'drain-next' | 'stop';

/**
 * After a step: an automatic trigger cools down (then reads its alarm) unless nothing
 * changed or the bound is reached; an operator's count is reached in one step, except a
 * cluster scale-in, which drains one instance at a time until the count is reached.
 */
export function afterStep(
  trigger: ScalingTrigger,
  step: { readonly changed: boolean; readonly atBound: boolean; readonly to: number },
  operatorTarget?: number,
): { next: NextAfterStep; reason: string } {
  if (trigger === 'operator') {
    if (operatorTarget !== undefined && step.changed && step.to > operatorTarget)
      return {
        next: 'drain-next',
        reason: `${step.to} left, draining the next one towards ${operatorTarget}`,
      };
    return { next: 'stop', reason: 'operator count applied' };
  }
  if (!step.changed) return { next: 'stop', reason: 'nothing to change: at the bound' };
  if (step.atBound) return { next: 'stop', reason: 'reached the bound' };
  return { next: 'cool-down', reason: 'cooling down before reading the alarm again' };
}

/** A loop switches direction at most this many times, so that a flapping load cannot run one execution for ever. */
export const MAX_DIRECTION_SWITCHES = 3;

/** An alarm and its state (undefined: no such alarm). */
export interface AlarmReading {
  readonly alarmName: string;
  readonly state: string | undefined;
}

/**
 * After the cooldown: repeat while the loop's own alarm is still in ALARM; otherwise, when
 * the target's opposite alarm is in ALARM (its transition came while this loop held the
 * target, so no other execution acted on it), switch direction; otherwise stop.
 */
export function afterCooldown(
  own: AlarmReading,
  opposite: AlarmReading,
  switches: number,
): { next: 'repeat' | 'switch' | 'stop'; reason: string } {
  if (own.state === 'ALARM') return { next: 'repeat', reason: `alarm ${own.alarmName} is still in ALARM` };
  const ownState =
    own.state === undefined
      ? `alarm ${own.alarmName} no longer exists`
      : `alarm ${own.alarmName} is ${own.state} now`;
  if (opposite.state === 'ALARM') {
    if (switches >= MAX_DIRECTION_SWITCHES)
      return {
        next: 'stop',
        reason: `${ownState}; alarm ${opposite.alarmName} is in ALARM but this loop already switched direction ${switches} times`,
      };
    return {
      next: 'switch',
      reason: `${ownState}; alarm ${opposite.alarmName} is in ALARM: switching direction`,
    };
  }
  return { next: 'stop', reason: ownState };
}

/**
 * How long a scaling loop may hold its (stage, target) lease: every possible step with its
 * cooldown (and, for the cluster, a full drain) plus two minutes of slack per step. A loop
 * that dies without releasing its lease blocks the target no longer than this.
 */
export function leaseSeconds(stage: StageConfig, target: ScaleTarget): number {
  const bounds = target === 'service' ? stage.tasks : stage.instances;
  const settings = target === 'service' ? stage.serviceScaling : stage.clusterScaling;
  const steps = Math.max(1, bounds.max - bounds.min + 1);
  const cooldown = Math.max(settings.cooldownOutSeconds, settings.cooldownInSeconds);
  const drain = target === 'cluster' ? stage.clusterScaling.drainTimeoutSeconds : 0;
  return steps * (cooldown + drain + 120);
}

/** An alarm to set back to OK, and the reason recorded in its history. */
export interface Rearm {
  readonly alarmName: string;
  readonly reason: string;
}

/** The last capacity change of a scaling loop (`$.ScaleResult`), when it made one. */
export interface CapacityChange {
  readonly changed: boolean;
  readonly from: number;
  readonly to: number;
}

/**
 * The alarms to re-arm once a loop that changed capacity has released its lease. Alarm
 * events fire on transitions only: an alarm that was already in ALARM before the change
 * (the cluster-low alarm of an idle cluster at its minimum, say) never fires again, however
 * long its condition holds afterwards. Setting it to OK makes CloudWatch evaluate it afresh
 * at its next period: a condition that still holds sends a new transition, which starts a
 * new loop.
 *
 * - the target's alarm of the opposite direction to the last change, when it is in ALARM
 *   (after a scale-out the low alarm, after a scale-in the high alarm);
 * - after a service scale-in, also the cluster's low alarm: fewer tasks may make room for
 *   the cluster scale-in that an earlier loop refused (`no room on the other instances`).
 *
 * The loop's own alarm is never re-armed: at a bound it would fire again every period and
 * start a loop that can do nothing.
 */
export function alarmsToRearm(
  names: { alarm(target: ScaleTarget, direction: ScaleDirection): string },
  target: ScaleTarget,
  change: CapacityChange | undefined,
  states: ReadonlyMap<string, string>,
): Rearm[] {
  if (!change?.changed || change.to === change.from) return [];
  const direction: ScaleDirection = change.to > change.from ? 'out' : 'in';
  const unit = target === 'service' ? 'tasks' : 'instances';
  const why = 'so that it fires again if the condition still holds';
  const out: Rearm[] = [];
  const opposite = names.alarm(target, direction === 'out' ? 'in' : 'out');
  if (states.get(opposite) === 'ALARM')
    out.push({
      alarmName: opposite,
      reason: `stackpilot re-armed this alarm after scaling the ${target} ${direction} to ${change.to} ${unit} ${why}`,
    });
  const clusterLow = names.alarm('cluster', 'in');
  if (target === 'service' && direction === 'in' && states.get(clusterLow) === 'ALARM')
    out.push({
      alarmName: clusterLow,
      reason: `stackpilot re-armed this alarm after scaling the service in to ${change.to} tasks, which may leave room to remove an instance, ${why}`,
    });
  return out;
}

/** The alarms {@link alarmsToRearm} may re-arm after a change of `target`, whose states it needs. */
export function rearmCandidates(
  names: { alarm(target: ScaleTarget, direction: ScaleDirection): string },
  target: ScaleTarget,
): string[] {
  return target === 'service'
    ? [names.alarm('service', 'out'), names.alarm('service', 'in'), names.alarm('cluster', 'in')]
    : [names.alarm('cluster', 'out'), names.alarm('cluster', 'in')];
}
