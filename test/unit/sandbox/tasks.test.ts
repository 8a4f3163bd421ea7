/** The pure parts of the sandbox's task supervisor: command, health, CPU, logs, balancing, load. */
import { describe, expect, it } from 'vitest';
import { parseDuration, percentile } from '../../../sandbox/commands/load.ts';
import { exitCodeOf, localCommand, shellLine } from '../../../sandbox/tasks/command.ts';
import { parseStat } from '../../../sandbox/tasks/cpu.ts';
import { RoundRobin } from '../../../sandbox/tasks/front-door.ts';
import { HealthState, healthCheckTiming, realTiming } from '../../../sandbox/tasks/health.ts';
import { awslogsStream, LineSplitter, MemoryLogSink } from '../../../sandbox/tasks/logs.ts';
import { healthPathOf } from '../../../sandbox/tasks/supervisor.ts';

describe('the local command of a task', () => {
  it('prefers sandbox.command of stackpilot.yml', () => {
    expect(localCommand('python3 app.py', '{"scripts":{"start":"node x.js"}}')).toMatchObject({
      ok: true,
      command: 'python3 app.py',
    });
  });
  it("falls back to package.json's start script", () => {
    expect(localCommand(undefined, '{"scripts":{"start":"node server.js"}}')).toMatchObject({
      ok: true,
      command: 'node server.js',
      how: 'the start script of package.json',
    });
  });
  it('says why an app cannot run: no package.json, no start script, bad JSON', () => {
    expect(localCommand(undefined, undefined)).toMatchObject({ ok: false, reason: /no package.json/ });
    expect(localCommand(undefined, '{"scripts":{}}')).toMatchObject({
      ok: false,
      reason: /no "start" script/,
    });
    expect(localCommand(undefined, '{')).toMatchObject({ ok: false, reason: /not JSON/ });
  });
  it('execs a simple command so that the app is the process, and leaves shell syntax alone', () => {
    expect(shellLine('node server.js')).toBe('exec node server.js');
    expect(shellLine('npm run build && node dist/index.js')).toBe('npm run build && node dist/index.js');
  });
  it('reports a signal as 128 + its number, as Docker does', () => {
    expect(exitCodeOf(null, 'SIGKILL')).toBe(137);
    expect(exitCodeOf(null, 'SIGTERM')).toBe(143);
    expect(exitCodeOf(3, null)).toBe(3);
  });
});

describe('the container health check', () => {
  it('takes the task definition timing, ECS defaults for what is missing', () => {
    expect(healthCheckTiming({ interval: 10, retries: 2 })).toEqual({
      intervalSeconds: 10,
      timeoutSeconds: 5,
      retries: 2,
      startPeriodSeconds: 0,
    });
  });
  it('scales the timing with the clock but keeps real floors a process needs', () => {
    const timing = realTiming(
      { intervalSeconds: 10, timeoutSeconds: 5, retries: 3, startPeriodSeconds: 30 },
      600,
    );
    expect(timing).toEqual({ intervalMs: 500, timeoutMs: 2000, startPeriodMs: 5000, retries: 3 });
    expect(
      realTiming({ intervalSeconds: 10, timeoutSeconds: 5, retries: 3, startPeriodSeconds: 30 }, 1),
    ).toEqual({ intervalMs: 10_000, timeoutMs: 5000, startPeriodMs: 30_000, retries: 3 });
  });
  it('ignores failures in the start period, then is UNHEALTHY after `retries` failures in a row', () => {
    const health = new HealthState(3, 1000);
    expect(health.record(false, 500)).toBeUndefined();
    expect(health.record(false, 1000)).toBeUndefined();
    expect(health.record(false, 1100)).toBeUndefined();
    expect(health.record(false, 1200)).toBe('UNHEALTHY');
  });
  it('is HEALTHY at the first success and a success resets the failures', () => {
    const health = new HealthState(2, 0);
    expect(health.record(true, 1)).toBe('HEALTHY');
    expect(health.record(false, 2)).toBeUndefined();
    expect(health.record(true, 3)).toBeUndefined();
    expect(health.record(false, 4)).toBeUndefined();
    expect(health.record(false, 5)).toBe('UNHEALTHY');
  });
  it("reads the path of the template's wget/curl check", () => {
    expect(
      healthPathOf([
        'CMD-SHELL',
        "wget -q -O /dev/null 'http://127.0.0.1:8080/health' || curl -fsS -o /dev/null 'http://127.0.0.1:8080/health'",
      ]),
    ).toBe('/health');
    expect(healthPathOf(['CMD', '/bin/check'])).toBeUndefined();
  });
});

describe('task CPU from /proc', () => {
  it('reads the process group and user + system time of a stat line, whatever the command name', () => {
    const line = '4242 (node my app) S 1 4242 4242 0 -1 4194560 5000 0 0 0 250 50 0 0 20 0 11 0 100 0 0';
    expect(parseStat(line)).toEqual({ pgrp: 4242, cpuSeconds: 3 });
  });
});

describe('task logs', () => {
  it('names the stream <prefix>/<container>/<task id> in the awslogs group', () => {
    expect(
      awslogsStream(
        {
          name: 'app',
          logConfiguration: {
            logDriver: 'awslogs',
            options: { 'awslogs-group': '/stackpilot/shop/dev', 'awslogs-stream-prefix': 'dev' },
          },
        },
        'arn:aws:ecs:us-east-1:123456789012:task/stackpilot-shop-dev/abc123',
      ),
    ).toEqual({ logGroupName: '/stackpilot/shop/dev', logStreamName: 'dev/app/abc123' });
    expect(awslogsStream({ name: 'app' }, 'arn:x/abc')).toBeUndefined();
  });
  it('splits output into lines and keeps the latest events of a stream', () => {
    const sink = new MemoryLogSink(2);
    const split = new LineSplitter((line) => sink.append('g', 's', [{ timestamp: 1, message: line }]));
    split.push('one\ntw');
    split.push('o\r\nthree');
    split.flush();
    expect(sink.events('g', 's').map((e) => e.message)).toEqual(['two', 'three']);
  });
});

describe('front door and load', () => {
  it('balances round-robin over the targets of the moment', () => {
    const balancer = new RoundRobin();
    expect([1, 2, 3, 4].map(() => balancer.next([10, 11]))).toEqual([10, 11, 10, 11]);
    expect(balancer.next([])).toBeUndefined();
  });
  it('reads durations and refuses what is not one', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('45')).toBe(45_000);
    expect(parseDuration('0s')).toBeUndefined();
    expect(parseDuration('soon')).toBeUndefined();
  });
  it('computes percentiles of latencies', () => {
    expect(percentile([5, 1, 3, 2, 4], 50)).toBe(3);
    expect(percentile([5, 1, 3, 2, 4], 95)).toBe(5);
    expect(percentile([], 95)).toBe(0);
  });
});
