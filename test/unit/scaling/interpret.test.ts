import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { alarmStateChangePattern, cloudWatchAlarmStateChangeSchema } from '#events/cloudwatch-alarm.ts';
import {
  ecsServiceActionSchema,
  parseServiceArn,
  taskPlacementFailurePattern,
} from '#events/ecs-service-action.ts';
import { scaleOperatorInputSchema } from '#events/scale.ts';
import { parseConfig } from '../../../shared/config.ts';
import { loadConfigFile } from '../../../shared/config-file.ts';
import { InvalidInput } from '../../../shared/errors.ts';
import { interpretScalingEvent, placementFailureKey, quote } from '../../../shared/scaling/interpret.ts';

const sample = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../../events/samples/${name}`, import.meta.url), 'utf8'));
const config = loadConfigFile('stackpilot.yml');
const alarm = (alarmName: string, value = 'ALARM') => {
  const event = sample('cloudwatch-alarm-state-change.json');
  event.detail.alarmName = alarmName;
  event.detail.state.value = value;
  return event;
};

describe('event samples', () => {
  it('parse with their schemas', () => {
    expect(
      cloudWatchAlarmStateChangeSchema.parse(sample('cloudwatch-alarm-state-change.json')).detail.state.value,
    ).toBe('ALARM');
    expect(ecsServiceActionSchema.parse(sample('ecs-task-placement-failure.json')).detail.reason).toBe(
      'RESOURCE:CPU',
    );
    expect(scaleOperatorInputSchema.parse(sample('scale-operator.json'))).toEqual({
      app: 'starter',
      stage: 'dev',
      target: 'service',
      desiredCount: 3,
    });
  });

  it('match the EventBridge patterns the rules use', () => {
    const alarmEvent = sample('cloudwatch-alarm-state-change.json');
    expect(alarmStateChangePattern.source).toContain(alarmEvent.source);
    expect(alarmStateChangePattern['detail-type']).toContain(alarmEvent['detail-type']);
    expect(alarmEvent.detail.alarmName.startsWith(alarmStateChangePattern.detail.alarmName[0].prefix)).toBe(
      true,
    );
    expect(alarmStateChangePattern.detail.state.value).toContain(alarmEvent.detail.state.value);
    const placement = sample('ecs-task-placement-failure.json');
    const wildcard = new RegExp(
      `^${taskPlacementFailurePattern.resources[0].wildcard.replaceAll('*', '.*')}$`,
    );
    expect(placement.resources[0]).toMatch(wildcard);
    expect(taskPlacementFailurePattern.detail.eventName).toContain(placement.detail.eventName);
  });

  it('reads cluster and service from a long-format service ARN', () => {
    expect(parseServiceArn('arn:aws:ecs:us-east-1:1:service/c/s')).toEqual({ cluster: 'c', service: 's' });
    expect(parseServiceArn('arn:aws:ecs:us-east-1:1:service/s')).toBeUndefined();
  });
});

describe('interpretScalingEvent', () => {
  it('maps the docs alarm sample to a service scale-out of starter/dev keyed by the transition', () => {
    expect(interpretScalingEvent(sample('cloudwatch-alarm-state-change.json'), config, 'x')).toMatchObject({
      skip: false,
      app: 'starter',
      stage: 'dev',
      target: 'service',
      direction: 'out',
      trigger: 'alarm',
      alarmName: 'stackpilot-starter-dev-service-cpu-high',
      eventKey: 'alarm/stackpilot-starter-dev-service-cpu-high/2019-10-02T17:04:40.989+0000',
    });
  });

  it.each([
    ['stackpilot-starter-prod-cluster-cpu-low', { stage: 'prod', target: 'cluster', direction: 'in' }],
    ['stackpilot-starter-dev-cluster-cpu-high', { stage: 'dev', target: 'cluster', direction: 'out' }],
    ['stackpilot-starter-prod-service-cpu-low', { stage: 'prod', target: 'service', direction: 'in' }],
  ])('maps %s', (name, expected) => {
    expect(interpretScalingEvent(alarm(name), config, 'x')).toMatchObject(expected);
  });

  it('tells apart stages whose names share hyphens', () => {
    const tricky = parseConfig({
      apps: {
        a: {
          repository: { provider: 'github', url: 'https://github.com/o/a' },
          stages: { 'b-c': { branch: 'main' } },
        },
        'a-b': {
          repository: { provider: 'github', url: 'https://github.com/o/ab' },
          stages: { d: { branch: 'main' } },
        },
      },
    });
    expect(interpretScalingEvent(alarm('stackpilot-a-b-c-service-cpu-high'), tricky, 'x')).toMatchObject({
      app: 'a',
      stage: 'b-c',
    });
    expect(interpretScalingEvent(alarm('stackpilot-a-b-d-service-cpu-high'), tricky, 'x')).toMatchObject({
      app: 'a-b',
      stage: 'd',
    });
  });

  it('skips a foreign alarm, an unknown stage and a transition out of ALARM, with the reason', () => {
    expect(interpretScalingEvent(alarm('ServerCpuTooHigh'), config, 'x')).toMatchObject({ skip: true });
    expect(interpretScalingEvent(alarm('stackpilot-other-dev-service-cpu-high'), config, 'x')).toMatchObject({
      skip: true,
    });
    expect(
      interpretScalingEvent(alarm('stackpilot-starter-dev-service-cpu-high', 'OK'), config, 'x'),
    ).toEqual({
      skip: true,
      reason: 'alarm stackpilot-starter-dev-service-cpu-high went to OK: no scaling needed',
    });
  });

  it('maps the docs placement-failure sample to a cluster scale-out keyed by stage and cooldown window', () => {
    const event = sample('ecs-task-placement-failure.json');
    const window = Math.floor(Date.parse(event.time) / 60_000);
    expect(interpretScalingEvent(event, config, 'x')).toMatchObject({
      app: 'starter',
      stage: 'dev',
      target: 'cluster',
      direction: 'out',
      trigger: 'placement-failure',
      eventKey: `placement/starter/dev/${window}`,
    });
  });

  it('gives every placement failure of one stage and cooldown window the same key, and each window its own', () => {
    const at = (iso: string, id: string) => ({ id, time: iso });
    expect(placementFailureKey('a', 'b', at('2026-01-01T00:00:05Z', 'e1'), 60)).toBe(
      placementFailureKey('a', 'b', at('2026-01-01T00:00:59Z', 'e2'), 60),
    );
    expect(placementFailureKey('a', 'b', at('2026-01-01T00:01:00Z', 'e3'), 60)).not.toBe(
      placementFailureKey('a', 'b', at('2026-01-01T00:00:59Z', 'e2'), 60),
    );
    expect(placementFailureKey('a', 'c', at('2026-01-01T00:00:05Z', 'e1'), 60)).not.toBe(
      placementFailureKey('a', 'b', at('2026-01-01T00:00:05Z', 'e1'), 60),
    );
    // No cooldown, or no readable time: each event is its own key (the guard still drops redeliveries).
    expect(placementFailureKey('a', 'b', at('2026-01-01T00:00:05Z', 'e1'), 0)).toBe('ecs/e1');
    expect(placementFailureKey('a', 'b', at('not a time', 'e1'), 60)).toBe('ecs/e1');
  });

  it('skips other ECS service actions and services that are not stackpilot stages', () => {
    const steady = sample('ecs-task-placement-failure.json');
    steady.detail.eventName = 'SERVICE_STEADY_STATE';
    expect(interpretScalingEvent(steady, config, 'x')).toMatchObject({ skip: true });
    const foreign = sample('ecs-task-placement-failure.json');
    foreign.resources = ['arn:aws:ecs:us-east-1:111122223333:service/default/servicetest'];
    expect(interpretScalingEvent(foreign, config, 'x')).toMatchObject({ skip: true });
  });

  it('keys an operator input by the execution name', () => {
    expect(interpretScalingEvent(sample('scale-operator.json'), config, 'console-1')).toMatchObject({
      trigger: 'operator',
      desiredCount: 3,
      eventKey: 'operator/console-1',
    });
  });

  it('refuses an operator input for an unknown stage or a count out of bounds', () => {
    expect(() =>
      interpretScalingEvent({ app: 'starter', stage: 'qa', target: 'service', desiredCount: 2 }, config, 'x'),
    ).toThrow(new InvalidInput('there is no stage qa of app starter in stackpilot.yml'));
    expect(() =>
      interpretScalingEvent(
        { app: 'starter', stage: 'prod', target: 'cluster', desiredCount: 1 },
        config,
        'x',
      ),
    ).toThrow('desiredCount 1 is outside the instances bounds [2, 6] of starter/prod');
  });

  it('refuses a malformed alarm event naming the bad field', () => {
    const broken = sample('cloudwatch-alarm-state-change.json');
    delete broken.detail.state.timestamp;
    expect(() => interpretScalingEvent(broken, config, 'x')).toThrow(
      /invalid CloudWatch alarm event: detail\.state\.timestamp/,
    );
  });
});

describe('bounded inputs', () => {
  const huge = 'a'.repeat(65_536);
  const messageOf = (event: unknown) => {
    try {
      interpretScalingEvent(event, config, 'run-1');
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidInput);
      return (error as Error).message;
    }
    throw new Error('no InvalidInput');
  };

  it('refuses an alarm timestamp that is not an ISO 8601 time, or too long, saying what it must be', () => {
    for (const timestamp of [huge, 'yesterday', '']) {
      const event = sample('cloudwatch-alarm-state-change.json');
      event.detail.state.timestamp = timestamp;
      const message = messageOf(event);
      expect(message).toContain(
        'detail.state.timestamp: an ISO 8601 timestamp such as 2019-10-02T17:04:40.989+0000',
      );
      expect(message.length).toBeLessThan(400);
    }
    for (const timestamp of [
      '2019-10-02T17:04:40.989+0000',
      '2019-10-02T17:04:40Z',
      '2019-10-02T17:04:40.1+00:00',
    ])
      expect(
        cloudWatchAlarmStateChangeSchema.safeParse({
          ...sample('cloudwatch-alarm-state-change.json'),
          detail: {
            ...sample('cloudwatch-alarm-state-change.json').detail,
            state: { value: 'ALARM', timestamp },
          },
        }).success,
      ).toBe(true);
  });

  it('refuses an event id over 128 characters in alarm and ECS events', () => {
    for (const name of ['cloudwatch-alarm-state-change.json', 'ecs-task-placement-failure.json']) {
      const event = sample(name);
      event.id = 'e'.repeat(129);
      const message = messageOf(event);
      expect(message).toContain('id: an event id of at most 128 characters');
      expect(message.length).toBeLessThan(400);
      event.id = 'e'.repeat(128);
      expect(() => interpretScalingEvent(event, config, 'run-1')).not.toThrow();
    }
  });

  it('refuses an operator app or stage outside the stackpilot.yml name rule, without quoting it', () => {
    for (const field of ['app', 'stage'] as const) {
      for (const value of [huge, 'Starter', '1dev', 'a'.repeat(21)]) {
        const message = messageOf({ ...sample('scale-operator.json'), [field]: value });
        expect(message).toContain(`${field}: a lowercase name of 1-20 letters, digits or hyphens`);
        expect(message).not.toContain(value);
      }
    }
  });

  it('quotes an unknown ECS service ARN or event name shortened to 60 characters', () => {
    const event = sample('ecs-task-placement-failure.json');
    event.resources = [`arn:aws:ecs:us-east-1:111122223333:service/${huge}/${huge}`];
    const result = interpretScalingEvent(event, config, 'run-1');
    expect(result).toMatchObject({ skip: true });
    expect((result as { reason: string }).reason).toBe(
      `service ${event.resources[0].slice(0, 59)}… is not a stackpilot service of this configuration`,
    );
    event.detail.eventName = huge;
    expect((interpretScalingEvent(event, config, 'run-1') as { reason: string }).reason.length).toBeLessThan(
      120,
    );
  });

  it('quote keeps short values whole and cuts long ones to 60 characters with an ellipsis', () => {
    expect(quote('starter')).toBe('starter');
    expect(quote('x'.repeat(60))).toBe('x'.repeat(60));
    expect(quote('x'.repeat(61))).toBe(`${'x'.repeat(59)}…`);
    expect(Array.from(quote('😀'.repeat(100)))).toHaveLength(60);
  });
});
