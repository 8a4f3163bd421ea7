import { describe, expect, it } from 'vitest';
import { EventBus, InvalidEvent } from '../../../sandbox/event-bus.ts';
import { matchesPattern } from '../../../sandbox/event-pattern.ts';

const alarmEvent = {
  version: '0',
  id: 'c4c1c1c9-6542-e61b-6ef0-8c4d36933a92',
  'detail-type': 'CloudWatch Alarm State Change',
  source: 'aws.cloudwatch',
  account: '123456789012',
  time: '2026-11-21T23:00:00Z',
  region: 'us-east-1',
  resources: ['arn:aws:cloudwatch:us-east-1:123456789012:alarm:stackpilot-starter-dev-service-cpu-high'],
  detail: {
    alarmName: 'stackpilot-starter-dev-service-cpu-high',
    state: { value: 'ALARM', reason: 'Threshold Crossed' },
    previousState: { value: 'OK' },
    configuration: { metrics: [{ id: 'm1', metricStat: { period: 60 } }] },
  },
};

describe('matchesPattern', () => {
  it('matches exact values, alternatives and nested fields', () => {
    expect(
      matchesPattern(
        {
          source: ['aws.cloudwatch'],
          'detail-type': ['CloudWatch Alarm State Change'],
          detail: { state: { value: ['ALARM', 'OK'] } },
        },
        alarmEvent,
      ),
    ).toBe(true);
    expect(matchesPattern({ detail: { state: { value: ['INSUFFICIENT_DATA'] } } }, alarmEvent)).toBe(false);
  });

  it('does not match when a field of the pattern is missing from the event', () => {
    expect(matchesPattern({ detail: { nothere: ['x'] } }, alarmEvent)).toBe(false);
    expect(matchesPattern({ detail: { nothere: { deeper: ['x'] } } }, alarmEvent)).toBe(false);
  });

  it('matches prefix, suffix, equals-ignore-case and wildcard', () => {
    expect(matchesPattern({ detail: { alarmName: [{ prefix: 'stackpilot-' }] } }, alarmEvent)).toBe(true);
    expect(matchesPattern({ detail: { alarmName: [{ prefix: 'other-' }] } }, alarmEvent)).toBe(false);
    expect(matchesPattern({ detail: { alarmName: [{ suffix: '-high' }] } }, alarmEvent)).toBe(true);
    expect(matchesPattern({ source: [{ 'equals-ignore-case': 'AWS.CloudWatch' }] }, alarmEvent)).toBe(true);
    expect(matchesPattern({ detail: { alarmName: [{ wildcard: 'stackpilot-*-cpu-*' }] } }, alarmEvent)).toBe(
      true,
    );
    expect(matchesPattern({ detail: { alarmName: [{ wildcard: 'stackpilot-*-mem' }] } }, alarmEvent)).toBe(
      false,
    );
  });

  it('matches anything-but a value, a list or a prefix', () => {
    expect(matchesPattern({ detail: { state: { value: [{ 'anything-but': 'OK' }] } } }, alarmEvent)).toBe(
      true,
    );
    expect(
      matchesPattern({ detail: { state: { value: [{ 'anything-but': ['ALARM', 'OK'] }] } } }, alarmEvent),
    ).toBe(false);
    expect(
      matchesPattern({ detail: { alarmName: [{ 'anything-but': { prefix: 'stackpilot-' } }] } }, alarmEvent),
    ).toBe(false);
    expect(matchesPattern({ detail: { missing: [{ 'anything-but': 'x' }] } }, alarmEvent)).toBe(false);
  });

  it('matches exists true and false', () => {
    expect(matchesPattern({ detail: { alarmName: [{ exists: true }] } }, alarmEvent)).toBe(true);
    expect(matchesPattern({ detail: { missing: [{ exists: false }] } }, alarmEvent)).toBe(true);
    expect(matchesPattern({ detail: { alarmName: [{ exists: false }] } }, alarmEvent)).toBe(false);
    expect(matchesPattern({ detail: { missing: [{ exists: true }] } }, alarmEvent)).toBe(false);
  });

  it('matches numeric ranges and arrays in the event', () => {
    const event = { detail: { cpu: 82.5, tags: ['a', 'b'], metrics: [{ period: 60 }, { period: 300 }] } };
    expect(matchesPattern({ detail: { cpu: [{ numeric: ['>', 75, '<=', 100] }] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { cpu: [{ numeric: ['<', 75] }] } }, event)).toBe(false);
    expect(matchesPattern({ detail: { cpu: [{ numeric: ['=', 82.5] }] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { tags: ['b'] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { metrics: { period: [300] } } }, event)).toBe(true);
    expect(matchesPattern({ detail: { metrics: { period: [900] } } }, event)).toBe(false);
  });

  it('matches null values only with a null matcher', () => {
    expect(matchesPattern({ detail: { v: [null] } }, { detail: { v: null } })).toBe(true);
    expect(matchesPattern({ detail: { v: [null] } }, { detail: { v: 'x' } })).toBe(false);
  });

  it('refuses a malformed pattern', () => {
    expect(() => matchesPattern({ source: 'aws.ecs' }, alarmEvent)).toThrow(/must be an array or an object/);
  });
});

describe('EventBus', () => {
  const clock = () => new Date('2026-11-21T23:30:00.123Z');

  it('delivers an event to every matching rule and to no other', async () => {
    const bus = new EventBus('000000000000', 'us-east-1', clock);
    const got: string[] = [];
    bus.addRule({
      name: 'alarms',
      pattern: { source: ['aws.cloudwatch'] },
      target: () => got.push('alarms'),
    });
    bus.addRule({ name: 'ecs', pattern: { source: ['aws.ecs'] }, target: () => got.push('ecs') });
    const [delivery] = await bus.put(alarmEvent);
    expect(got).toEqual(['alarms']);
    expect(delivery?.rules).toEqual(['alarms']);
    expect(delivery?.event.id).toBe(alarmEvent.id);
  });

  it('turns PutEvents entries into events stamped with the account, region and the sandbox time', async () => {
    const bus = new EventBus('000000000000', 'eu-west-1', clock);
    const received: unknown[] = [];
    bus.addRule({ name: 'all', pattern: { source: ['aws.ecs'] }, target: (e) => received.push(e) });
    const deliveries = await bus.put({
      Entries: [
        {
          Source: 'aws.ecs',
          DetailType: 'ECS Service Action',
          Detail: '{"eventName":"SERVICE_STEADY_STATE"}',
        },
        { Source: 'custom', DetailType: 'Other', Detail: '{}' },
      ],
    });
    expect(deliveries.map((d) => d.rules)).toEqual([['all'], []]);
    expect(received[0]).toMatchObject({
      version: '0',
      source: 'aws.ecs',
      'detail-type': 'ECS Service Action',
      account: '000000000000',
      region: 'eu-west-1',
      time: '2026-11-21T23:30:00Z',
      detail: { eventName: 'SERVICE_STEADY_STATE' },
    });
  });

  it('reports a failing target without failing the other targets', async () => {
    const bus = new EventBus('000000000000', 'us-east-1', clock);
    let delivered = false;
    bus.addRule({
      name: 'broken',
      pattern: { source: ['aws.cloudwatch'] },
      target: () => {
        throw new Error('no such state machine');
      },
    });
    bus.addRule({ name: 'fine', pattern: { source: ['aws.cloudwatch'] }, target: () => (delivered = true) });
    const [delivery] = await bus.put(alarmEvent);
    expect(delivered).toBe(true);
    expect(delivery?.failures).toEqual({ broken: 'no such state machine' });
  });

  it('refuses events without source or detail-type, and entries with bad Detail', async () => {
    const bus = new EventBus('000000000000', 'us-east-1', clock);
    await expect(bus.put({ 'detail-type': 'x', detail: {} })).rejects.toThrow(InvalidEvent);
    await expect(bus.put({ source: 'x', detail: {} })).rejects.toThrow(/detail-type/);
    await expect(bus.put({ Entries: [{ Source: 'x', DetailType: 'y', Detail: '{nope' }] })).rejects.toThrow(
      /Entries\[0\]\.Detail is not valid JSON/,
    );
    await expect(bus.put({ Entries: [] })).rejects.toThrow(/empty/);
  });
});
