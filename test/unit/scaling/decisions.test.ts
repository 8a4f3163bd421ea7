import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../../shared/config-file.ts';
import { stageNames } from '../../../shared/naming.ts';
import {
  afterCooldown,
  afterStep,
  alarmsToRearm,
  clamp,
  cooldownSeconds,
  intersectBounds,
  leaseSeconds,
  MAX_DIRECTION_SWITCHES,
  nextDesiredCount,
  rearmCandidates,
} from '../../../shared/scaling/decisions.ts';

const boundsArb = fc
  .tuple(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 100 }))
  .map(([a, b]) => ({ min: Math.min(a, b), max: Math.max(a, b) }));
const requestArb = fc.oneof(
  fc.record({
    direction: fc.constantFrom('out' as const, 'in' as const),
    step: fc.integer({ min: 1, max: 10 }),
  }),
  fc.record({ desiredCount: fc.integer({ min: 0, max: 200 }) }),
);

describe('nextDesiredCount', () => {
  it('adds one step on scale-out and removes one on scale-in', () => {
    expect(nextDesiredCount(2, { direction: 'out', step: 1 }, { min: 1, max: 5 })).toMatchObject({
      to: 3,
      changed: true,
      atBound: false,
    });
    expect(nextDesiredCount(2, { direction: 'in', step: 1 }, { min: 1, max: 5 })).toMatchObject({
      to: 1,
      changed: true,
      atBound: true,
    });
  });

  it('stops at the bound with no change and says which bound', () => {
    const out = nextDesiredCount(5, { direction: 'out', step: 1 }, { min: 1, max: 5 });
    expect(out).toEqual({
      from: 5,
      to: 5,
      changed: false,
      atBound: true,
      reason: 'already at the maximum of 5 tasks',
    });
    const inward = nextDesiredCount(1, { direction: 'in', step: 2 }, { min: 1, max: 5 }, 'instances');
    expect(inward.reason).toBe('already at the minimum of 1 instances');
  });

  it('clamps a step that would overshoot the bound', () => {
    expect(nextDesiredCount(4, { direction: 'out', step: 3 }, { min: 1, max: 5 })).toMatchObject({
      to: 5,
      atBound: true,
    });
  });

  it('property: the result never leaves [min, max]', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200 }), requestArb, boundsArb, (current, request, bounds) => {
        const { to } = nextDesiredCount(current, request, bounds);
        expect(to).toBeGreaterThanOrEqual(bounds.min);
        expect(to).toBeLessThanOrEqual(bounds.max);
      }),
    );
  });

  it('property: from inside the bounds, scale-out never lowers and scale-in never raises the count', () => {
    fc.assert(
      fc.property(boundsArb, fc.nat(), fc.integer({ min: 1, max: 10 }), (bounds, seed, step) => {
        const current = bounds.min + (seed % (bounds.max - bounds.min + 1));
        expect(nextDesiredCount(current, { direction: 'out', step }, bounds).to).toBeGreaterThanOrEqual(
          current,
        );
        expect(nextDesiredCount(current, { direction: 'in', step }, bounds).to).toBeLessThanOrEqual(current);
      }),
    );
  });

  it('property: changed is exactly "the count differs", and a loop of steps reaches the bound and stops', () => {
    fc.assert(
      fc.property(
        boundsArb,
        fc.constantFrom('out' as const, 'in' as const),
        fc.integer({ min: 1, max: 5 }),
        (bounds, direction, step) => {
          let current = direction === 'out' ? bounds.min : bounds.max;
          for (let i = 0; i <= bounds.max - bounds.min + 1; i++) {
            const decision = nextDesiredCount(current, { direction, step }, bounds);
            expect(decision.changed).toBe(decision.to !== current);
            current = decision.to;
          }
          expect(current).toBe(direction === 'out' ? bounds.max : bounds.min);
        },
      ),
    );
  });
});

describe('bounds', () => {
  it('clamps into the bounds', () => {
    expect([
      clamp(-1, { min: 0, max: 3 }),
      clamp(2, { min: 0, max: 3 }),
      clamp(9, { min: 0, max: 3 }),
    ]).toEqual([0, 2, 3]);
  });

  it('intersects stackpilot.yml bounds with the group bounds, the stricter upper limit winning when they are disjoint', () => {
    expect(intersectBounds({ min: 1, max: 6 }, { min: 2, max: 4 })).toEqual({ min: 2, max: 4 });
    expect(intersectBounds({ min: 5, max: 6 }, { min: 0, max: 3 })).toEqual({ min: 3, max: 3 });
  });
});

describe('loop decisions', () => {
  const stage = loadConfigFile('stackpilot.yml').apps.starter?.stages.dev;
  if (!stage) throw new Error('the example stackpilot.yml has no starter/dev');

  it('cools down 60 s after a scale-out and 300 s after a scale-in by default', () => {
    expect(cooldownSeconds(stage, 'service', 'out')).toBe(60);
    expect(cooldownSeconds(stage, 'service', 'in')).toBe(300);
    expect(cooldownSeconds(stage, 'cluster', 'in')).toBe(300);
  });

  it('cools down after an alarm step that changed something and did not reach the bound', () => {
    expect(afterStep('alarm', { changed: true, atBound: false, to: 3 }).next).toBe('cool-down');
    expect(afterStep('alarm', { changed: true, atBound: true, to: 5 }).next).toBe('stop');
    expect(afterStep('alarm', { changed: false, atBound: true, to: 5 }).next).toBe('stop');
    expect(afterStep('placement-failure', { changed: true, atBound: false, to: 2 }).next).toBe('cool-down');
  });

  it('stops after an operator count, except a cluster scale-in that has instances left to drain', () => {
    expect(afterStep('operator', { changed: true, atBound: false, to: 3 }, 3).next).toBe('stop');
    expect(afterStep('operator', { changed: true, atBound: false, to: 3 }, 1).next).toBe('drain-next');
  });

  it('repeats while its own alarm is in ALARM, whatever the opposite alarm says', () => {
    const own = { alarmName: 'high', state: 'ALARM' };
    expect(afterCooldown(own, { alarmName: 'low', state: 'ALARM' }, 0).next).toBe('repeat');
    expect(afterCooldown(own, { alarmName: 'low', state: 'OK' }, 0)).toEqual({
      next: 'repeat',
      reason: 'alarm high is still in ALARM',
    });
  });

  it('switches direction when the opposite alarm is in ALARM, a bounded number of times', () => {
    const own = { alarmName: 'high', state: 'OK' };
    const opposite = { alarmName: 'low', state: 'ALARM' };
    expect(afterCooldown(own, opposite, 0)).toEqual({
      next: 'switch',
      reason: 'alarm high is OK now; alarm low is in ALARM: switching direction',
    });
    expect(afterCooldown(own, opposite, MAX_DIRECTION_SWITCHES).next).toBe('stop');
  });

  it('stops when neither alarm is in ALARM, or its own alarm is gone', () => {
    expect(
      afterCooldown({ alarmName: 'a', state: 'INSUFFICIENT_DATA' }, { alarmName: 'b', state: 'OK' }, 0),
    ).toEqual({
      next: 'stop',
      reason: 'alarm a is INSUFFICIENT_DATA now',
    });
    expect(
      afterCooldown({ alarmName: 'a', state: undefined }, { alarmName: 'b', state: undefined }, 0).reason,
    ).toBe('alarm a no longer exists');
  });

  it('holds a lease long enough for every step of the loop, with drains for the cluster', () => {
    // 5 service steps of (300 s cooldown + 120 s); 3 cluster steps of (300 + 600 drain + 120).
    expect(leaseSeconds(stage, 'service')).toBe(5 * 420);
    expect(leaseSeconds(stage, 'cluster')).toBe(3 * 1020);
  });
});

describe('alarmsToRearm', () => {
  const names = stageNames('starter', 'dev');
  const high = (t: 'service' | 'cluster') => names.alarm(t, 'out');
  const low = (t: 'service' | 'cluster') => names.alarm(t, 'in');
  const states = (alarms: Record<string, string>) => new Map(Object.entries(alarms));

  it('re-arms the low alarm that was in ALARM before a cluster scale-out, saying why', () => {
    expect(
      alarmsToRearm(
        names,
        'cluster',
        { changed: true, from: 1, to: 2 },
        states({ [low('cluster')]: 'ALARM' }),
      ),
    ).toEqual([
      {
        alarmName: low('cluster'),
        reason:
          'stackpilot re-armed this alarm after scaling the cluster out to 2 instances so that it fires again if the condition still holds',
      },
    ]);
  });

  it('re-arms the high alarm after a scale-in, and never the alarm of the direction just taken', () => {
    const all = states({ [high('service')]: 'ALARM', [low('service')]: 'ALARM' });
    expect(
      alarmsToRearm(names, 'service', { changed: true, from: 5, to: 4 }, all).map((r) => r.alarmName),
    ).toEqual([high('service')]);
    expect(
      alarmsToRearm(names, 'service', { changed: true, from: 4, to: 5 }, all).map((r) => r.alarmName),
    ).toEqual([low('service')]);
  });

  it('also re-arms the cluster low alarm after a service scale-in: fewer tasks may make room to remove an instance', () => {
    const rearm = alarmsToRearm(
      names,
      'service',
      { changed: true, from: 2, to: 1 },
      states({ [low('cluster')]: 'ALARM', [high('service')]: 'OK' }),
    );
    expect(rearm).toEqual([
      {
        alarmName: low('cluster'),
        reason:
          'stackpilot re-armed this alarm after scaling the service in to 1 tasks, which may leave room to remove an instance, so that it fires again if the condition still holds',
      },
    ]);
  });

  it('re-arms nothing when the loop changed nothing or the alarms are not in ALARM', () => {
    const all = states({ [high('cluster')]: 'ALARM', [low('cluster')]: 'ALARM' });
    expect(alarmsToRearm(names, 'cluster', undefined, all)).toEqual([]);
    expect(alarmsToRearm(names, 'cluster', { changed: false, from: 3, to: 3 }, all)).toEqual([]);
    expect(
      alarmsToRearm(names, 'cluster', { changed: true, from: 1, to: 2 }, states({ [low('cluster')]: 'OK' })),
    ).toEqual([]);
  });

  it('property: only candidates in ALARM, never the alarm of the direction of the change', () => {
    const targetArb = fc.constantFrom('service' as const, 'cluster' as const);
    const stateArb = fc.constantFrom('OK', 'ALARM', 'INSUFFICIENT_DATA');
    fc.assert(
      fc.property(
        targetArb,
        fc.integer({ min: 0, max: 10 }),
        fc.integer({ min: 0, max: 10 }),
        fc.array(stateArb, { minLength: 4, maxLength: 4 }),
        (target, from, to, values) => {
          const all = new Map(
            [high('service'), low('service'), high('cluster'), low('cluster')].map((n, i) => [
              n,
              values[i] ?? 'OK',
            ]),
          );
          const rearm = alarmsToRearm(names, target, { changed: from !== to, from, to }, all);
          const own = names.alarm(target, to > from ? 'out' : 'in');
          for (const r of rearm) {
            expect(all.get(r.alarmName)).toBe('ALARM');
            expect(rearmCandidates(names, target)).toContain(r.alarmName);
            expect(r.alarmName).not.toBe(own);
          }
          if (from === to) expect(rearm).toEqual([]);
        },
      ),
    );
  });
});
