import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatScaling, lastChange, nextLookOf, triggerOf } from '../../../sandbox/commands/scaling.ts';
import type { ExecutionRecord, HistoryEntry } from '../../../sandbox/runner.ts';

const sample = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../../events/samples/${name}`, import.meta.url), 'utf8'));
const stages = [
  { app: 'starter', stage: 'dev' },
  { app: 'starter', stage: 'prod' },
  { app: 'starter-dev', stage: 'x' },
];

describe('why a stage scaled (stackpilot status)', () => {
  it('names the alarm, the placement failure or the operator, for the stage it concerns', () => {
    expect(triggerOf(sample('cloudwatch-alarm-state-change.json'), stages)).toEqual({
      app: 'starter',
      stage: 'dev',
      trigger: 'alarm',
      why: 'alarm service-cpu-high',
    });
    expect(triggerOf(sample('ecs-task-placement-failure.json'), stages)).toEqual({
      app: 'starter',
      stage: 'dev',
      trigger: 'placement-failure',
      why: 'placement failure (RESOURCE:CPU)',
    });
    expect(triggerOf(sample('scale-operator.json'), stages)).toEqual({
      app: 'starter',
      stage: 'dev',
      trigger: 'operator',
      why: 'operator: service to 3',
    });
    expect(triggerOf({ detail: { alarmName: 'someone-elses-alarm' } }, stages)).toBeUndefined();
  });

  it('reads the last count change and the end of the cooldown from the history', () => {
    const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 12, 0, s)).toISOString();
    const result = { changed: true, from: 1, to: 2, cooldownSeconds: 300 };
    const history: HistoryEntry[] = [
      { timestamp: t(0), type: 'StateEntered', state: 'Interpret Event' },
      { timestamp: t(1), type: 'StateEntered', state: 'Scale Cluster Out' },
      { timestamp: t(2), type: 'StateEntered', state: 'After Scaling Step', input: { ScaleResult: result } },
      { timestamp: t(2), type: 'StateEntered', state: 'Cool Down', input: { ScaleResult: result } },
    ];
    expect(lastChange(history)).toEqual({ target: 'cluster', from: 1, to: 2, at: t(2) });
    const running = { status: 'RUNNING', history } as ExecutionRecord;
    // 300 emulated seconds at x60 are 5 real seconds.
    expect(nextLookOf(running, 60)).toBe(t(7));
    expect(nextLookOf({ ...running, status: 'SUCCEEDED' }, 60)).toBeUndefined();
    const now = Date.parse(t(4));
    expect(
      formatScaling(
        [
          {
            app: 'starter',
            stage: 'dev',
            lastAction: {
              target: 'cluster',
              from: 1,
              to: 2,
              trigger: 'placement-failure',
              why: 'placement failure (RESOURCE:CPU)',
              at: t(2),
              execution: 'e',
            },
            nextLook: { at: t(7), execution: 'e' },
          },
          { app: 'starter', stage: 'prod' },
        ],
        now,
      ),
    ).toBe(
      [
        'stage         last scaling    why                               when               next look',
        'starter/dev   cluster 1 -> 2  placement failure (RESOURCE:CPU)  12:00:02 (2s ago)  12:00:07 (in 3s)',
        'starter/prod  -               -                                 -                  on the next alarm or placement failure',
      ].join('\n'),
    );
  });
});
