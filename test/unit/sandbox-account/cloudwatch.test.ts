import { readFileSync } from 'node:fs';
import { CloudWatchClient, DescribeAlarmsCommand, PutMetricAlarmCommand } from '@aws-sdk/client-cloudwatch';
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

/** The structure of a JSON value: keys and value types, arrays by their first element. */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return [shape(value[0])];
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, k === 'dimensions' ? 'object' : shape(v)]),
    );
  }
  return typeof value;
}

describe('emulated CloudWatch alarms', () => {
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

  const state = async (name: string) =>
    (await cloudWatch.send(new DescribeAlarmsCommand({ AlarmNames: [name] }))).MetricAlarms?.[0]?.StateValue;

  it('refuses an alarm it cannot evaluate, naming what it evaluates', async () => {
    const alarm = {
      AlarmName: 'stackpilot-shop-dev-memory',
      Namespace: 'AWS/ECS',
      MetricName: 'MemoryUtilization',
      Dimensions: [{ Name: 'ClusterName', Value: names.cluster }],
      Statistic: 'Average' as const,
      Period: 60,
      EvaluationPeriods: 1,
      Threshold: 80,
      ComparisonOperator: 'GreaterThanThreshold' as const,
      Tags: [
        { Key: 'stackpilot:app', Value: 'shop' },
        { Key: 'stackpilot:stage', Value: 'dev' },
      ],
    };
    await expect(cloudWatch.send(new PutMetricAlarmCommand(alarm))).rejects.toThrow(
      'the sandbox evaluates only Average AWS/ECS CPUUtilization alarms',
    );
    await expect(
      cloudWatch.send(new PutMetricAlarmCommand({ ...alarm, MetricName: 'CPUUtilization', Tags: [] })),
    ).rejects.toThrow('needs tags stackpilot:app and stackpilot:stage of a configured stage');
  });

  it("creates the four alarms of each stage as the template's PutMetricAlarm inputs say", async () => {
    const out = await cloudWatch.send(new DescribeAlarmsCommand({ AlarmNamePrefix: 'stackpilot-shop-dev-' }));
    expect(
      out.MetricAlarms?.map((a) => [
        a.AlarmName,
        a.Threshold,
        a.Period,
        a.EvaluationPeriods,
        a.ComparisonOperator,
      ]),
    ).toEqual([
      [names.alarm('service', 'out'), 75, 60, 2, 'GreaterThanThreshold'],
      [names.alarm('service', 'in'), 20, 60, 2, 'LessThanThreshold'],
      [names.alarm('cluster', 'out'), 70, 300, 1, 'GreaterThanThreshold'],
      [names.alarm('cluster', 'in'), 20, 300, 1, 'LessThanThreshold'],
    ]);
    expect(out.MetricAlarms?.[0]?.Dimensions).toEqual([
      { Name: 'ClusterName', Value: names.cluster },
      { Name: 'ServiceName', Value: names.service },
    ]);
  });

  it('goes to ALARM under load and emits an event shaped as the AWS documentation sample', async () => {
    const alarm = names.alarm('service', 'out');
    setup.advance(3 * 60_000);
    expect(await state(alarm)).toBe('OK');

    setup.account.cloudWatch.setLoad('shop', 'dev', 95);
    setup.advance(60_000);
    expect(await state(alarm)).toBe('OK');
    setup.advance(2 * 60_000);
    expect(await state(alarm)).toBe('ALARM');

    const event = setup.events.find(
      (e) => e.detail.alarmName === alarm && (e.detail.state as { value: string }).value === 'ALARM',
    );
    expect(shape(event)).toEqual(shape(sample));
    expect(cloudWatchAlarmStateChangeSchema.safeParse(event).success).toBe(true);
    expect(event).toMatchObject({
      source: 'aws.cloudwatch',
      'detail-type': 'CloudWatch Alarm State Change',
      resources: [`arn:aws:cloudwatch:us-east-1:123456789012:alarm:${alarm}`],
      detail: {
        previousState: { value: 'OK' },
        state: {
          value: 'ALARM',
          reason: expect.stringMatching(
            /^Threshold Crossed: 2 out of the last 2 datapoints \[95 \(01\/01\/26 00:04:00\), 94\.2\d* \(01\/01\/26 00:03:00\)\] were greater than the threshold \(75\.0\) \(minimum 2 datapoints for OK -> ALARM transition\)\.$/,
          ),
          timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/),
        },
        configuration: {
          metrics: [
            {
              metricStat: {
                metric: { dimensions: { ClusterName: names.cluster, ServiceName: names.service } },
                period: 60,
              },
            },
          ],
        },
      },
    });
    const reasonData = (event?.detail.state as { reasonData?: string } | undefined)?.reasonData ?? '{}';
    expect(JSON.parse(reasonData)).toMatchObject({
      statistic: 'Average',
      period: 60,
      // The period in which the load changed averages the old and the new load.
      recentDatapoints: [95, expect.closeTo(94.2, 1)],
      threshold: 75,
    });
  });

  it('fires on transitions only and comes back to OK when the load drops', async () => {
    const alarm = names.alarm('service', 'out');
    setup.account.cloudWatch.setLoad('shop', 'dev', 95);
    setup.advance(10 * 60_000);
    setup.account.cloudWatch.setLoad('shop', 'dev', 50);
    setup.advance(3 * 60_000);
    const transitions = setup.events
      .filter((e) => e.detail.alarmName === alarm)
      .map((e) => (e.detail.state as { value: string }).value);
    expect(transitions).toEqual(['OK', 'ALARM', 'OK']);
  });

  it('derives the cluster CPU from the tasks per instance', () => {
    setup.account.cloudWatch.setLoad('shop', 'dev', 80);
    const [stage] = setup.account.snapshot();
    // One 256-unit task at 80% on one t3.small (2048 units): 10%.
    expect(stage?.alarms.find((a) => a.name === names.alarm('cluster', 'out'))?.value).toBeCloseTo(10);
    expect(stage?.alarms.find((a) => a.name === names.alarm('service', 'out'))?.value).toBe(80);
  });
});
