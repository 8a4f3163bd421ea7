/** CloudWatch calls of the `scale` state machine: alarms' current states, and re-arming an alarm. */
import {
  type CloudWatchClient,
  DescribeAlarmsCommand,
  SetAlarmStateCommand,
  type StateValue,
} from '@aws-sdk/client-cloudwatch';

/** The states of several alarms in one call, by name; a name with no alarm is absent from the map. */
export async function describeAlarmStates(
  alarmNames: readonly string[],
  cloudWatch: CloudWatchClient,
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

/**
 * Sets an alarm's state by hand (`SetAlarmState`). CloudWatch keeps it until the alarm's
 * next evaluation, which sets the state the metric calls for (with its own transition event).
 */
export async function setAlarmState(
  alarmName: string,
  stateValue: StateValue,
  reason: string,
  cloudWatch: CloudWatchClient,
): Promise<void> {
  // StateReason is limited to 1023 characters.
  await cloudWatch.send(
    new SetAlarmStateCommand({
      AlarmName: alarmName,
      StateValue: stateValue,
      StateReason: reason.slice(0, 1023),
    }),
  );
}
