/**
 * Emulated CloudWatch `SetAlarmState`, as the `scale` state machine's Re-arm Alarms step
 * uses it: a change of state is a transition with its event; the next period's evaluation
 * then sets the state the metric calls for, with an event of its own.
 */
import { readFileSync } from 'node:fs';
import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  SetAlarmStateCommand,
  type SetAlarmStateCommandInput,
} from '@aws-sdk/client-cloudwatch';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cloudWatchAlarmStateChangeSchema } from '#events/cloudwatch-alarm.ts';
import { stageNames } from '#shared/naming.ts';
import { clientConfig, newDataDir, removeDataDir, testAccount } from './support.ts';

const names = stageNames('shop', 'dev');
const sample = JSON.parse(
  readFileSync(
    new URL('../../../events/samples/cloudwatch-alarm-state-change.json', import.meta.url),
    'utf8',
  ),
);
const REARM = 'stackpilot re-armed this alarm after scaling the service out to 3 tasks';

describe('emulated CloudWatch SetAlarmState', () => {
  let dataDir: string;
  let setup: Awaited<ReturnType<typeof testAccount>>;
  let cloudWatch: CloudWatchClient;

  beforeEach(async () => {
    dataDir = newDataDir();
    setup = await testAccount({ dataDir });
    cloudWatch = new CloudWatchClient(clientConfig);
    setup.account.attach({ cloudWatch });
  });
  afterEach(() => removeDataDir(dataDir));

  const describeAlarm = async (name: string) =>
    (await cloudWatch.send(new DescribeAlarmsCommand({ AlarmNames: [name] }))).MetricAlarms?.[0];
  const transitions = (name: string) =>
    setup.events
      .filter((e) => e.detail.alarmName === name)
      .map((e) => (e.detail.state as { value: string }).value);
  const set = (input: Partial<SetAlarmStateCommandInput>) =>
    cloudWatch.send(
      new SetAlarmStateCommand({
        AlarmName: names.alarm('service', 'in'),
        StateValue: 'OK',
        StateReason: REARM,
        ...input,
      } as SetAlarmStateCommandInput),
    );

  /** The service-low alarm in ALARM: the load is below its threshold for its two periods. */
  function lowAlarmInAlarm(): string {
    const alarm = names.alarm('service', 'in');
    setup.account.cloudWatch.setLoad('shop', 'dev', 5);
    setup.advance(5 * 60_000);
    expect(transitions(alarm).at(-1)).toBe('ALARM');
    return alarm;
  }

  it('sets an alarm in ALARM to OK with the reason and emits the transition as the docs sample is shaped', async () => {
    const alarm = lowAlarmInAlarm();
    const before = setup.events.length;
    await set({});
    const described = await describeAlarm(alarm);
    expect(described).toMatchObject({ StateValue: 'OK', StateReason: REARM });
    const emitted = setup.events.slice(before);
    expect(emitted).toHaveLength(1);
    const event = emitted[0];
    expect(event?.['detail-type']).toBe(sample['detail-type']);
    expect(cloudWatchAlarmStateChangeSchema.parse(event).detail).toMatchObject({
      alarmName: alarm,
      previousState: { value: 'ALARM' },
      state: { value: 'OK', reason: REARM },
    });
  });

  it('goes back to ALARM with a fresh event at the next period while the condition still holds', async () => {
    const alarm = lowAlarmInAlarm();
    await set({});
    // Within the period in progress nothing is evaluated: the alarm stays OK.
    setup.advance(20_000);
    expect((await describeAlarm(alarm))?.StateValue).toBe('OK');
    setup.advance(2 * 60_000);
    expect((await describeAlarm(alarm))?.StateValue).toBe('ALARM');
    expect(transitions(alarm).slice(-2)).toEqual(['OK', 'ALARM']);
  });

  it('stays OK at the next period once the condition no longer holds', async () => {
    const alarm = lowAlarmInAlarm();
    setup.account.cloudWatch.setLoad('shop', 'dev', 50);
    setup.advance(60_000);
    await set({});
    setup.advance(5 * 60_000);
    expect((await describeAlarm(alarm))?.StateValue).toBe('OK');
    expect(transitions(alarm).slice(-1)).toEqual(['OK']);
  });

  it('emits nothing when the alarm is already in that state', async () => {
    const alarm = lowAlarmInAlarm();
    await set({});
    const before = setup.events.length;
    await set({ StateReason: 'again' });
    expect(setup.events.length).toBe(before);
    expect((await describeAlarm(alarm))?.StateReason).toBe(REARM);
  });

  it('refuses an unknown alarm with ResourceNotFound, a bad state with ValidationError, bad reason data with InvalidFormatFault', async () => {
    await expect(set({ AlarmName: 'stackpilot-nope' })).rejects.toMatchObject({
      name: 'ResourceNotFound',
      $metadata: { httpStatusCode: 404 },
    });
    await expect(set({ StateValue: 'MAYBE' as never })).rejects.toMatchObject({ name: 'ValidationError' });
    await expect(set({ StateReasonData: '{not json' })).rejects.toMatchObject({ name: 'InvalidFormatFault' });
  });
});
