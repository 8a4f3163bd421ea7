/**
 * "CloudWatch Alarm State Change" events, as EventBridge delivers them (sample:
 * `events/samples/cloudwatch-alarm-state-change.json`, from the CloudWatch docs), and the
 * pattern of the rule that sends stackpilot's alarm transitions to the `scale` state machine.
 *
 * The schema keeps unknown fields (AWS adds fields over time) and checks only what the
 * scaling decisions read.
 */
import * as z from 'zod';
import { PREFIX } from './names.ts';

export const ALARM_STATE_CHANGE = 'CloudWatch Alarm State Change';

export const alarmStateValueSchema = z.enum(['OK', 'ALARM', 'INSUFFICIENT_DATA']);
export type AlarmStateValue = z.output<typeof alarmStateValueSchema>;

/**
 * CloudWatch writes ISO 8601 times with milliseconds and a `+0000` offset
 * (`2019-10-02T17:04:40.989+0000`); `Z` and `+00:00` are accepted too. The guard puts the
 * timestamp in an S3 key, so nothing else (and nothing long) gets through.
 */
export const alarmTimestampSchema = z
  .string()
  .max(40, 'an ISO 8601 timestamp such as 2019-10-02T17:04:40.989+0000 (at most 40 characters)')
  .regex(
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})$/,
    'an ISO 8601 timestamp such as 2019-10-02T17:04:40.989+0000',
  );

/** EventBridge event ids are UUIDs; the guard keys events by id, so a bounded one is required. */
export const eventIdSchema = z
  .string()
  .min(1, 'an event id (EventBridge gives every event one)')
  .max(128, 'an event id of at most 128 characters (EventBridge ids are UUIDs)');

const alarmStateSchema = z.looseObject({
  value: alarmStateValueSchema,
  reason: z.string().optional(),
  reasonData: z.string().optional(),
  /** When the alarm entered this state: with the alarm name, it identifies one transition. */
  timestamp: alarmTimestampSchema,
});

export const cloudWatchAlarmStateChangeSchema = z.looseObject({
  version: z.string(),
  id: eventIdSchema,
  'detail-type': z.literal(ALARM_STATE_CHANGE),
  source: z.literal('aws.cloudwatch'),
  account: z.string(),
  time: z.string(),
  region: z.string(),
  resources: z.array(z.string()),
  detail: z.looseObject({
    alarmName: z.string().min(1),
    state: alarmStateSchema,
    previousState: alarmStateSchema.optional(),
    configuration: z.looseObject({}).optional(),
  }),
});

export type CloudWatchAlarmStateChange = z.output<typeof cloudWatchAlarmStateChangeSchema>;

/**
 * EventBridge pattern (JSON form, as the API and the sandbox's bus take it) of stackpilot's
 * alarms entering ALARM. Transitions to OK or INSUFFICIENT_DATA never start a scaling loop
 * (a running loop reads the alarm itself), so the rule does not pay for executions that
 * would only ignore them.
 */
export const alarmStateChangePattern = {
  source: ['aws.cloudwatch'],
  'detail-type': [ALARM_STATE_CHANGE],
  detail: {
    alarmName: [{ prefix: `${PREFIX}-` }],
    state: { value: ['ALARM'] },
  },
} as const;
