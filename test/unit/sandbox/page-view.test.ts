/** The page's view logic (`sandbox/web/view.js`, served as it is), run in Node. */
import { describe, expect, it } from 'vitest';
import { pageFile } from '../../../sandbox/web/static.ts';
import {
  alarmsInAlarm,
  chartLines,
  currentState,
  executionsToShow,
  executionTarget,
  instanceCounts,
  runningCommit,
  safeHttpUrl,
  shortCommit,
} from '../../../sandbox/web/view.js';

const SHA = '0123456789abcdef0123456789abcdef01234567';

describe('the page view', () => {
  it('reads the running commit from the image tag, and none from the placeholder image', () => {
    expect(
      runningCommit({
        taskDefinition: { image: `123456789012.dkr.ecr.us-east-1.amazonaws.com/stackpilot/starter:${SHA}` },
      }),
    ).toBe(SHA);
    expect(runningCommit({ taskDefinition: { image: 'public.ecr.aws/docker/library/busybox:stable' } })).toBe(
      undefined,
    );
    expect(runningCommit({})).toBe(undefined);
    expect(shortCommit(SHA)).toBe('0123456');
  });

  it('links only http and https URLs', () => {
    expect(safeHttpUrl('http://127.0.0.1:4101/')).toBe('http://127.0.0.1:4101/');
    expect(safeHttpUrl('https://example.com/app')).toBe('https://example.com/app');
    expect(safeHttpUrl('javascript:alert(1)')).toBe(undefined);
    expect(safeHttpUrl('data:text/html,<b>x</b>')).toBe(undefined);
    expect(safeHttpUrl('not a url')).toBe(undefined);
    expect(safeHttpUrl(undefined)).toBe(undefined);
  });

  it('lists the alarms in ALARM and counts the instances in service', () => {
    const stage = {
      alarms: [
        { name: 'stackpilot-starter-dev-service-cpu-high', state: 'ALARM' },
        { name: 'stackpilot-starter-dev-service-cpu-low', state: 'OK' },
        { name: 'stackpilot-starter-dev-cluster-cpu-low', state: 'ALARM' },
      ],
      instances: [{ lifecycleState: 'InService' }, { lifecycleState: 'Pending' }],
      autoScalingGroup: { desired: 2 },
    };
    expect(alarmsInAlarm(stage)).toEqual([
      'stackpilot-starter-dev-service-cpu-high',
      'stackpilot-starter-dev-cluster-cpu-low',
    ]);
    expect(instanceCounts(stage)).toEqual({ inService: 1, desired: 2 });
    expect(instanceCounts({})).toEqual({ inService: 0, desired: undefined });
  });

  it('shows the running executions first with their current state, then the latest that ended', () => {
    const executions = [
      { name: 'old', status: 'SUCCEEDED', startDate: '2026-01-01T00:00:00.000Z', statesEntered: ['A', 'B'] },
      {
        name: 'deploying',
        status: 'RUNNING',
        startDate: '2026-01-01T00:01:00.000Z',
        statesEntered: ['Package Source', 'Start Pipeline'],
        input: { app: 'starter', stage: 'dev' },
      },
      { name: 'failed', status: 'FAILED', startDate: '2026-01-01T00:02:00.000Z' },
      {
        name: 'scaling',
        status: 'RUNNING',
        startDate: '2026-01-01T00:00:30.000Z',
        statesEntered: ['Cool Down'],
      },
    ];
    expect(executionsToShow(executions).map((e) => e.name)).toEqual([
      'deploying',
      'scaling',
      'failed',
      'old',
    ]);
    expect(executionsToShow(executions, 1).map((e) => e.name)).toEqual(['deploying', 'scaling', 'failed']);
    expect(currentState(executions[1])).toBe('Start Pipeline');
    expect(currentState(executions[2])).toBe('');
    expect(executionTarget(executions[1])).toBe('starter/dev');
    expect(executionTarget(executions[0])).toBe('');
    const alarm = {
      'detail-type': 'CloudWatch Alarm State Change',
      detail: { alarmName: 'stackpilot-starter-dev-service-cpu-high' },
    };
    expect(executionTarget({ name: 'a', status: 'RUNNING', startDate: '', input: alarm })).toBe(
      'stackpilot-starter-dev-service-cpu-high',
    );
    expect(
      executionTarget({
        name: 'b',
        status: 'RUNNING',
        startDate: '',
        input: { 'detail-type': 'ECS Service Action' },
      }),
    ).toBe('ECS Service Action');
  });

  it('draws each series as a step line over the window, the last value held until now', () => {
    const now = 3_600_000;
    const { max, lines } = chartLines(
      [
        { t: 0, running: 1, desired: 1, instances: 1 },
        { t: 1_800_000, running: 4, desired: 5, instances: 2 },
      ],
      { now, windowMs: 3_600_000, width: 100, height: 50 },
    );
    expect(max).toBe(5);
    const running = lines.find((l) => l.key === 'running');
    // 1 task (y = 50 - 1/5 * 50 = 40) for the first half, then 4 (y = 10) until now.
    expect(running?.points).toBe('0,40 50,40 50,10 100,10');
    expect(running?.last).toBe(4);
    expect(lines.map((l) => l.key)).toEqual(['running', 'desired', 'instances']);
  });

  it('leaves out samples outside the window and draws nothing without samples', () => {
    const { max, lines } = chartLines([{ t: -1, running: 9, desired: 9, instances: 9 }], {
      now: 3_600_000,
      windowMs: 3_600_000,
      width: 100,
      height: 50,
    });
    expect(max).toBe(1);
    expect(lines.every((l) => l.points === '' && l.last === undefined)).toBe(true);
  });
});

describe('the page files', () => {
  it('serves the page at / and its listed files under /ui/, nothing else', () => {
    expect(pageFile('/')).toBe('index.html');
    expect(pageFile('/ui/app.js')).toBe('app.js');
    expect(pageFile('/ui/view.js')).toBe('view.js');
    expect(pageFile('/ui/style.css')).toBe('style.css');
    expect(pageFile('/ui/icon.svg')).toBe('icon.svg');
    expect(pageFile('/ui/static.ts')).toBe(undefined);
    expect(pageFile('/ui/view.d.ts')).toBe(undefined);
    expect(pageFile('/ui/../server.ts')).toBe(undefined);
    expect(pageFile('/ui/%2e%2e%2fserver.ts')).toBe(undefined);
    expect(pageFile('/ui/constructor')).toBe(undefined);
    expect(pageFile('/stages')).toBe(undefined);
  });
});
