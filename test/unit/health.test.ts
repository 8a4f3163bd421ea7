import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '#shared/config.ts';
import {
  defaultHealthCheckCommand,
  describeHealthCheck,
  errorRateAlarmShape,
  releaseTimeoutMinutes,
} from '#shared/health.ts';
import { classifyFailure } from '#shared/release/deployment.ts';
import { PLACEHOLDER_HEALTH_CHECK_LABEL, PLACEHOLDER_LABEL } from '#shared/release/placeholder.ts';
import { withAppImage } from '#shared/release/task-definition.ts';

const doc = (app: object, stage: object = {}) => ({
  apps: {
    web: {
      repository: { provider: 'github', url: 'https://github.com/acme/web.git' },
      ...app,
      stages: { dev: { branch: 'main', ...stage } },
    },
  },
});

describe('health configuration', () => {
  it('checks an HTTP app by default: every 10 s, 3 retries, 30 s start period; bakes 3 minutes at 5% 5xx', () => {
    const web = parseConfig(doc({})).apps.web;
    expect(web?.healthCheck).toEqual({
      enabled: true,
      intervalSeconds: 10,
      timeoutSeconds: 5,
      retries: 3,
      startPeriodSeconds: 30,
    });
    expect(web?.stages.dev?.deployment).toMatchObject({ bakeMinutes: 3, errorRatePercent: 5 });
  });

  it.each([
    [
      'a command that is not CMD or CMD-SHELL',
      { healthCheck: { command: ['curl', '-f', 'x'] } },
      'apps.web.healthCheck.command',
    ],
    [
      'an interval under ECS minimum',
      { healthCheck: { intervalSeconds: 2 } },
      'apps.web.healthCheck.intervalSeconds',
    ],
    [
      'a timeout not below the interval',
      { healthCheck: { intervalSeconds: 10, timeoutSeconds: 10 } },
      'apps.web.healthCheck.timeoutSeconds',
    ],
    ['too many retries', { healthCheck: { retries: 11 } }, 'apps.web.healthCheck.retries'],
  ])('refuses %s', (_case, app, field) => {
    expect(() => parseConfig(doc(app))).toThrow(ConfigError);
    expect(() => parseConfig(doc(app))).toThrow(field);
  });

  it('refuses a bake window over an hour, naming the field', () => {
    expect(() => parseConfig(doc({}, { deployment: { bakeMinutes: 61 } }))).toThrow(
      'apps.web.stages.dev.deployment.bakeMinutes',
    );
  });

  it('probes with wget, else curl, on 127.0.0.1 (localhost may be ::1 while the app listens on IPv4)', () => {
    expect(defaultHealthCheckCommand(8080, '/health')).toEqual([
      'CMD-SHELL',
      "wget -q -O /dev/null 'http://127.0.0.1:8080/health' || curl -fsS -o /dev/null 'http://127.0.0.1:8080/health'",
    ]);
  });

  it('describes the check for a Cause', () => {
    const health = parseConfig(doc({})).apps.web?.healthCheck;
    if (!health) throw new Error('no health check');
    expect(describeHealthCheck(health, 80, '/')).toBe(
      'container health check GET / on port 80 every 10 s, 3 retries after a 30 s start period',
    );
    expect(describeHealthCheck({ ...health, command: ['CMD', '/app/health', '--quick'] }, 80, '/')).toContain(
      'container health check "/app/health --quick"',
    );
  });

  it('waits the rollout timeout plus the bake window, and shapes the alarm over the window', () => {
    expect(releaseTimeoutMinutes({ timeoutMinutes: 15, bakeMinutes: 3, errorRatePercent: 5 })).toBe(18);
    expect(errorRateAlarmShape(3)).toEqual({ periodSeconds: 60, evaluationPeriods: 3, datapointsToAlarm: 2 });
    expect(errorRateAlarmShape(1)).toEqual({ periodSeconds: 60, evaluationPeriods: 1, datapointsToAlarm: 1 });
    // 0 turns the deployment alarm off; the alarm itself still exists for the operator.
    expect(errorRateAlarmShape(0)).toEqual({ periodSeconds: 60, evaluationPeriods: 1, datapointsToAlarm: 1 });
  });
});

describe('classifying a failed deployment', () => {
  it('names the health check the tasks failed', () => {
    expect(
      classifyFailure({
        timedOut: false,
        stoppedTasks: [{ stoppedReason: 'Task failed container health checks' }],
        healthCheck:
          'container health check GET /health on port 8080 every 10 s, 3 retries after a 30 s start period',
      }),
    ).toEqual({
      error: 'HealthCheckFailed',
      reason:
        'tasks failed their health checks (Task failed container health checks); the container health check GET /health on port 8080 every 10 s, 3 retries after a 30 s start period',
    });
  });

  it('names the deployment alarm when it failed the rollout', () => {
    expect(
      classifyFailure({
        timedOut: false,
        reason: 'ECS deployment detected triggered alarm(s): stackpilot.web.dev.5xx-rate.',
        alarmName: 'stackpilot.web.dev.5xx-rate',
      }).error,
    ).toBe('ErrorRateAlarm');
  });

  it('does not call a crash an alarm', () => {
    expect(
      classifyFailure({
        timedOut: false,
        stoppedTasks: [{ stoppedReason: 'Essential container in task exited' }],
        alarmName: 'stackpilot.web.dev.5xx-rate',
      }).error,
    ).toBe('TaskFailedToStart');
  });
});

describe('the first release restores the app health check the placeholder carried', () => {
  const appCheck = ['CMD', '/app/healthcheck'];
  const placeholder = {
    name: 'app',
    image: 'public.ecr.aws/docker/library/busybox:stable',
    command: ['sh', '-c', 'httpd'],
    dockerLabels: {
      [PLACEHOLDER_LABEL]: 'true',
      [PLACEHOLDER_HEALTH_CHECK_LABEL]: JSON.stringify(appCheck),
      team: 'a',
    },
    healthCheck: { command: ['CMD-SHELL', 'wget …'], interval: 10, retries: 3, timeout: 5, startPeriod: 30 },
  };

  it('puts the app command back, keeps the timings, drops both placeholder labels', () => {
    const app = withAppImage(placeholder, 'repo:abc');
    expect(app.healthCheck).toEqual({
      command: appCheck,
      interval: 10,
      retries: 3,
      timeout: 5,
      startPeriod: 30,
    });
    expect(app.dockerLabels).toEqual({ team: 'a' });
    expect(app.command).toBeUndefined();
  });

  it('leaves a released revision alone: only the placeholder carries the label', () => {
    const released = { ...placeholder, dockerLabels: { [PLACEHOLDER_HEALTH_CHECK_LABEL]: '["CMD","x"]' } };
    expect(withAppImage(released, 'repo:def').healthCheck?.command).toEqual(['CMD-SHELL', 'wget …']);
  });
});
