/** CloudWatch calls of the `scale` state machine: an alarm's current state. */
import { type CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { cloudWatchClient } from './clients.ts';

/** The alarm's state value (`OK`, `ALARM`, `INSUFFICIENT_DATA`), or undefined when there is no such alarm. */
export async function describeAlarmState(
  alarmName: string,
  cloudWatch: CloudWatchClient = cloudWatchClient,
): Promise<string | undefined> {
  const response = await cloudWatch.send(
    new DescribeAlarmsCommand({ AlarmNames: [alarmName], AlarmTypes: ['MetricAlarm', 'CompositeAlarm'] }),
  );
  const alarm =
    response.MetricAlarms?.find((a) => a.AlarmName === alarmName) ??
    response.CompositeAlarms?.find((a) => a.AlarmName === alarmName);
  return alarm?.StateValue;
}

/** The states of several alarms in one call, by name; a name with no alarm is absent from the map. */
export async function describeAlarmStates(
  alarmNames: readonly string[],
  cloudWatch: CloudWatchClient = cloudWatchClient,
): Promise<Map<string, string>> {
  const response = await cloudWatch.send(
    new DescribeAlarmsCommand({ AlarmNames: [...alarmNames], AlarmTypes: ['MetricAlarm', 'CompositeAlarm'] }),
  );
  const states = new Map<string, string>();
  for (const alarm of [...(response.MetricAlarms ?? []), ...(response.CompositeAlarms ?? [])]) {
    if (alarm.AlarmName && alarm.StateValue) states.set(alarm.AlarmName, alarm.StateValue);
  }
  return states;
}
