/**
 * Emulated CloudWatch: the stages' alarms as the templates create them (PutMetricAlarm:
 * service and cluster CPUUtilization of AWS/ECS, or the cluster's reservation as the metric
 * math MAX of its CPUReservation and MemoryReservation; their thresholds, periods and
 * evaluation periods), evaluated at the end of each period of emulated time on metrics that a load knob
 * drives. A state transition puts a "CloudWatch Alarm State Change" event on the bus,
 * shaped as the AWS documentation's sample.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import {
  CloudWatchServiceException,
  type DescribeAlarmsCommandInput,
  type DescribeAlarmsCommandOutput,
  InvalidFormatFault,
  type ListTagsForResourceCommandInput,
  type ListTagsForResourceCommandOutput,
  type MetricAlarm,
  type PutMetricAlarmCommandInput,
  type PutMetricAlarmCommandOutput,
  ResourceNotFound,
  ResourceNotFoundException,
  type SetAlarmStateCommandInput,
  type SetAlarmStateCommandOutput,
  type StateValue,
} from '@aws-sdk/client-cloudwatch';
import { findStage } from '#shared/config.ts';
import { type ScaleDirection, type ScaleTarget, stageNames } from '#shared/naming.ts';
import { awsError, namedError } from './errors.ts';
import { JsonFile } from './store.ts';
import type { AccountContext, Emulator, Result } from './types.ts';

interface AlarmState {
  value: StateValue;
  reason: string;
  reasonData?: string;
  timestamp: number;
}

interface AlarmRecord {
  app: string;
  stage: string;
  target: ScaleTarget;
  direction: ScaleDirection;
  /** What the alarm watches (absent in older state files: CPUUtilization). */
  metric?: AlarmMetric;
  clusterName: string;
  serviceName: string;
  period: number;
  evaluationPeriods: number;
  threshold: number;
  /** From PutMetricAlarm (alarms of older state files have none: the CDK app's are rebuilt). */
  description?: string;
  tags?: { Key: string; Value: string }[];
  createdAt: number;
  state: AlarmState;
  /** Per-period sums of the sampled metric, keyed by the period's start (ms). */
  buckets: Record<string, { sum: number; count: number }>;
  /** Start of the period in progress at the last evaluation. */
  evaluatedThrough: number;
}

/** CPUUtilization of the service or cluster, or the cluster's MAX([CPUReservation, MemoryReservation]). */
type AlarmMetric = 'CPUUtilization' | 'Reservation';

/**
 * The reservation alarm as metric math: two AWS/ECS metrics by ClusterName and one
 * `MAX([a, b])` expression over them. Returns the cluster and period, or a reason it is not that.
 */
function reservationMath(
  metrics: NonNullable<PutMetricAlarmCommandInput['Metrics']>,
): { clusterName: string; period: number } | string {
  const stats = metrics.filter((m) => m.MetricStat);
  const expressions = metrics.filter((m) => m.Expression !== undefined);
  const names = stats.map((m) => m.MetricStat?.Metric?.MetricName).sort();
  if (
    stats.length !== 2 ||
    expressions.length !== 1 ||
    names[0] !== 'CPUReservation' ||
    names[1] !== 'MemoryReservation'
  )
    return `metrics ${metrics.map((m) => m.Expression ?? m.MetricStat?.Metric?.MetricName).join(', ')}`;
  const ids = stats.map((m) => m.Id).sort();
  const expression = (expressions[0]?.Expression ?? '').replace(/\s+/g, '');
  const args = /^MAX\(\[(\w+),(\w+)\]\)$/.exec(expression);
  if (!args || [args[1], args[2]].sort().join(',') !== ids.join(',')) return `expression ${expression}`;
  const clusters = new Set<string>();
  for (const m of stats) {
    const metric = m.MetricStat?.Metric;
    const dims = metric?.Dimensions ?? [];
    if (
      metric?.Namespace !== 'AWS/ECS' ||
      m.MetricStat?.Stat !== 'Average' ||
      dims.length !== 1 ||
      dims[0]?.Name !== 'ClusterName'
    )
      return `metric ${metric?.Namespace}/${metric?.MetricName} ${m.MetricStat?.Stat} by [${dims.map((d) => d.Name).join(',')}]`;
    clusters.add(dims[0]?.Value ?? '');
  }
  const periods = new Set(stats.map((m) => Number(m.MetricStat?.Period ?? 60)));
  const [clusterName] = [...clusters];
  const [period] = [...periods];
  if (clusters.size !== 1 || periods.size !== 1 || !clusterName || !period)
    return 'metrics of different clusters or periods';
  return { clusterName, period };
}

interface CloudWatchState {
  alarms: Record<string, AlarmRecord>;
  /** Service CPU (%) per `app/stage`, set by the load knob. */
  loads: Record<string, number>;
}

/** What the metrics are computed from: the running tasks and instances of a stage. */
export interface MetricSource {
  usage(
    clusterName: string,
    serviceName: string,
  ): {
    serviceTasks: { cpu: number }[];
    clusterTasks: { cpu: number; memory: number; serviceName?: string }[];
    instances: { cpu: number; memory: number }[];
  };
}

/** CloudWatch's timestamps in events and reason data: `2019-10-02T17:04:40.989+0000`. */
const cwTime = (ms: number) => new Date(ms).toISOString().replace('Z', '+0000');
/** Java prints doubles with a decimal point: `75.0`. */
const javaDouble = (n: number) => (Number.isInteger(n) ? n.toFixed(1) : String(n));
/** `02/10/19 16:59:00`, as alarm reasons print datapoint times. */
function reasonDate(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getUTCDate())}/${two(d.getUTCMonth() + 1)}/${two(d.getUTCFullYear() % 100)} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
}

export class CloudWatchEmulator implements Emulator {
  readonly service = 'CloudWatch';
  private readonly file: JsonFile<CloudWatchState>;

  constructor(
    private readonly ctx: AccountContext,
    dataDir: string,
    private readonly metrics: MetricSource,
  ) {
    this.file = new JsonFile(join(dataDir, 'account', 'cloudwatch.json'), () => ({ alarms: {}, loads: {} }));
  }

  save(): void {
    this.file.save();
  }

  /** The load knob: the stage's service runs at `cpuPercent` CPU (of what its tasks reserve). */
  setLoad(app: string, stage: string, cpuPercent: number): void {
    if (!(cpuPercent >= 0 && cpuPercent <= 100))
      throw new Error(`CPU load must be between 0 and 100, got ${cpuPercent}`);
    if (!findStage(this.ctx.config, app, stage))
      throw new Error(`no stage ${stage} of app ${app} in the configuration`);
    this.file.value.loads[`${app}/${stage}`] = cpuPercent;
  }

  /** Turns the knob off: the measured CPU of the stage's task processes drives the metric again. */
  clearLoad(app: string, stage: string): void {
    if (!findStage(this.ctx.config, app, stage))
      throw new Error(`no stage ${stage} of app ${app} in the configuration`);
    delete this.file.value.loads[`${app}/${stage}`];
  }

  /**
   * The CPU the stage's task processes used (% of what the tasks reserve, can exceed 100 as on
   * EC2), measured by the sandbox's task supervisor; undefined when no task runs as a process.
   */
  setMeasuredLoad(app: string, stage: string, cpuPercent: number | undefined): void {
    if (cpuPercent === undefined) this.measured.delete(`${app}/${stage}`);
    else this.measured.set(`${app}/${stage}`, cpuPercent);
  }

  /** Measured CPU per stage (not saved: it is gone with the processes). */
  private readonly measured = new Map<string, number>();

  /** Where the stage's CPU comes from: the knob, the task processes, or neither (idle midpoint). */
  loadSource(app: string, stage: string): 'knob' | 'measured' | 'idle' {
    if (this.file.value.loads[`${app}/${stage}`] !== undefined) return 'knob';
    return this.measured.has(`${app}/${stage}`) ? 'measured' : 'idle';
  }

  /**
   * The stage's load: the knob's value, else the measured CPU of its task processes, else
   * midway between the thresholds of the service's scale-in and scale-out alarms (as the
   * templates created them), so that neither fires.
   */
  load(app: string, stage: string): number {
    const set = this.file.value.loads[`${app}/${stage}`] ?? this.measured.get(`${app}/${stage}`);
    if (set !== undefined) return set;
    const threshold = (direction: ScaleDirection) =>
      Object.values(this.file.value.alarms).find(
        (a) => a.app === app && a.stage === stage && a.target === 'service' && a.direction === direction,
      )?.threshold;
    const low = threshold('in');
    const high = threshold('out');
    return low !== undefined && high !== undefined ? (low + high) / 2 : 50;
  }

  /** The current value of an alarm's metric; undefined when ECS would publish no datapoint. */
  metricValue(alarm: AlarmRecord): number | undefined {
    const usage = this.metrics.usage(alarm.clusterName, alarm.serviceName);
    const load = this.load(alarm.app, alarm.stage);
    if (alarm.target === 'service') return usage.serviceTasks.length > 0 ? load : undefined;
    if (alarm.metric === 'Reservation') {
      // CPUReservation and MemoryReservation: what running tasks reserve over what the
      // ACTIVE and DRAINING instances registered; no instance, no datapoint.
      const registered = (key: 'cpu' | 'memory') => usage.instances.reduce((sum, i) => sum + i[key], 0);
      const reserved = (key: 'cpu' | 'memory') => usage.clusterTasks.reduce((sum, t) => sum + t[key], 0);
      if (registered('cpu') === 0 || registered('memory') === 0) return undefined;
      return Math.max(
        (reserved('cpu') / registered('cpu')) * 100,
        (reserved('memory') / registered('memory')) * 100,
      );
    }
    const capacity = usage.instances.reduce((sum, i) => sum + i.cpu, 0);
    if (capacity === 0) return undefined;
    const used = usage.clusterTasks.reduce(
      (sum, task) => sum + (task.serviceName === alarm.serviceName ? (task.cpu * load) / 100 : 0),
      0,
    );
    return (used / capacity) * 100;
  }

  /** Alarm states per stage, for `GET /stages`. */
  view(app: string, stage: string) {
    return Object.entries(this.file.value.alarms)
      .filter(([, a]) => a.app === app && a.stage === stage)
      .map(([name, a]) => ({ name, state: a.state.value, value: this.metricValue(a) }));
  }

  step(t: number): void {
    for (const [name, alarm] of Object.entries(this.file.value.alarms)) {
      const periodMs = alarm.period * 1000;
      const current = Math.floor(t / periodMs) * periodMs;
      if (current > alarm.evaluatedThrough) {
        this.evaluate(name, alarm, current, t);
        alarm.evaluatedThrough = current;
      }
      const value = this.metricValue(alarm);
      if (value !== undefined) {
        const bucket = alarm.buckets[current] ?? { sum: 0, count: 0 };
        alarm.buckets[current] = bucket;
        bucket.sum += value;
        bucket.count += 1;
      }
      // Keep only the periods an evaluation can still look at.
      for (const start of Object.keys(alarm.buckets)) {
        if (Number(start) < current - alarm.evaluationPeriods * periodMs) delete alarm.buckets[start];
      }
    }
  }

  readonly commands = {
    /**
     * Creates or updates an alarm. The sandbox evaluates the metrics it produces: CPUUtilization
     * of AWS/ECS (Average) by ClusterName (cluster CPU) or by ClusterName and ServiceName
     * (service CPU), compared greater or less than a threshold; other alarms are refused.
     * Tags `stackpilot:app` and `stackpilot:stage` say whose load drives it.
     */
    PutMetricAlarm: (input: PutMetricAlarmCommandInput): Result<PutMetricAlarmCommandOutput> => {
      const name = input.AlarmName ?? '';
      const operator = input.ComparisonOperator;
      const math = input.Metrics?.length ? reservationMath(input.Metrics) : undefined;
      if (
        typeof math === 'string' ||
        (math && operator !== 'GreaterThanThreshold' && operator !== 'LessThanThreshold')
      )
        throw awsError(
          InvalidFormatFault,
          `the sandbox evaluates only the metric math MAX([CPUReservation, MemoryReservation]) of AWS/ECS by ClusterName (Average, one period), greater or less than a threshold; ${name} has ${math ?? operator}`,
        );
      const dimensions: Record<string, string | undefined> = math
        ? { ClusterName: math.clusterName }
        : Object.fromEntries((input.Dimensions ?? []).map((d) => [d.Name, d.Value]));
      const clusterName = dimensions.ClusterName;
      const keys = Object.keys(dimensions).sort().join(',');
      const tag = (key: string) => input.Tags?.find((t) => t.Key === key)?.Value;
      const app = tag('stackpilot:app');
      const stage = tag('stackpilot:stage');
      if (
        !clusterName ||
        (!math &&
          (input.Namespace !== 'AWS/ECS' ||
            input.MetricName !== 'CPUUtilization' ||
            (input.Statistic ?? 'Average') !== 'Average' ||
            !clusterName ||
            (keys !== 'ClusterName' && keys !== 'ClusterName,ServiceName') ||
            (operator !== 'GreaterThanThreshold' && operator !== 'LessThanThreshold')))
      ) {
        throw awsError(
          InvalidFormatFault,
          `the sandbox evaluates only Average AWS/ECS CPUUtilization alarms by ClusterName (and ServiceName), greater or less than a threshold; ${name} is ${input.Namespace}/${input.MetricName} by [${keys}] ${operator}`,
        );
      }
      if (!app || !stage || !findStage(this.ctx.config, app, stage)) {
        throw awsError(
          InvalidFormatFault,
          `alarm ${name} needs tags stackpilot:app and stackpilot:stage of a configured stage (got ${app}/${stage})`,
        );
      }
      const period = math ? math.period : Number(input.Period ?? 60);
      const t = this.ctx.clock.now();
      const existing = this.file.value.alarms[name];
      this.file.value.alarms[name] = {
        app,
        stage,
        target: dimensions.ServiceName ? 'service' : 'cluster',
        direction: operator === 'GreaterThanThreshold' ? 'out' : 'in',
        metric: math ? 'Reservation' : 'CPUUtilization',
        clusterName,
        serviceName: dimensions.ServiceName ?? stageNames(app, stage).service,
        period,
        evaluationPeriods: Number(input.EvaluationPeriods ?? 1),
        threshold: Number(input.Threshold ?? 0),
        ...(input.AlarmDescription !== undefined && { description: input.AlarmDescription }),
        tags: (input.Tags ?? []).map((t) => ({ Key: t.Key ?? '', Value: t.Value ?? '' })),
        createdAt: existing?.createdAt ?? t,
        state: existing?.state ?? {
          value: 'INSUFFICIENT_DATA',
          reason: 'Unchecked: Initial alarm creation',
          timestamp: t,
        },
        buckets: existing?.buckets ?? {},
        evaluatedThrough: existing?.evaluatedThrough ?? Math.floor(t / (period * 1000)) * period * 1000,
      };
      return {};
    },
    DescribeAlarms: (input: DescribeAlarmsCommandInput): Result<DescribeAlarmsCommandOutput> => {
      const alarms = Object.entries(this.file.value.alarms).filter(
        ([name, a]) =>
          (!input.AlarmNames?.length || input.AlarmNames.includes(name)) &&
          (!input.AlarmNamePrefix || name.startsWith(input.AlarmNamePrefix)) &&
          (!input.StateValue || a.state.value === input.StateValue),
      );
      const wantsMetricAlarms = !input.AlarmTypes?.length || input.AlarmTypes.includes('MetricAlarm');
      return {
        MetricAlarms: wantsMetricAlarms
          ? alarms.map(([name, a]) => this.alarmOutput(name, a)).slice(0, input.MaxRecords ?? 100)
          : [],
        CompositeAlarms: [],
      };
    },
    /**
     * Sets the alarm's state until its next evaluation, as CloudWatch does: a change of state
     * is a transition (with its event); the state it is already in changes nothing. The next
     * period's evaluation then sets the state the metric calls for, with its own event.
     */
    SetAlarmState: (input: SetAlarmStateCommandInput): Result<SetAlarmStateCommandOutput> => {
      const name = input.AlarmName ?? '';
      const alarm = this.file.value.alarms[name];
      if (!alarm) throw awsError(ResourceNotFound, `Alarm ${name} does not exist.`, { httpStatusCode: 404 });
      const states: readonly string[] = ['OK', 'ALARM', 'INSUFFICIENT_DATA'];
      if (!input.StateValue || !states.includes(input.StateValue))
        throw namedError(
          CloudWatchServiceException,
          'ValidationError',
          `1 validation error detected: Value '${input.StateValue}' at 'stateValue' failed to satisfy constraint: Member must satisfy enum value set: [INSUFFICIENT_DATA, ALARM, OK]`,
        );
      if (input.StateReason === undefined || input.StateReason.length > 1023)
        throw namedError(
          CloudWatchServiceException,
          'ValidationError',
          "1 validation error detected: Value at 'stateReason' failed to satisfy constraint: Member must have length between 0 and 1023",
        );
      if (input.StateReasonData !== undefined) {
        try {
          JSON.parse(input.StateReasonData);
        } catch {
          throw awsError(InvalidFormatFault, 'StateReasonData is not valid JSON.');
        }
      }
      if (input.StateValue === alarm.state.value) return {};
      this.transition(name, alarm, {
        value: input.StateValue,
        reason: input.StateReason,
        ...(input.StateReasonData !== undefined && { reasonData: input.StateReasonData }),
        timestamp: this.ctx.clock.now(),
      });
      return {};
    },
    ListTagsForResource: (
      input: ListTagsForResourceCommandInput,
    ): Result<ListTagsForResourceCommandOutput> => {
      const name = Object.keys(this.file.value.alarms).find((n) => this.alarmArn(n) === input.ResourceARN);
      if (!name)
        throw awsError(ResourceNotFoundException, `Alarm ${input.ResourceARN} does not exist.`, {
          httpStatusCode: 404,
        });
      return { Tags: this.alarm(name).tags ?? [] };
    },
  };

  private alarm(name: string): AlarmRecord {
    const alarm = this.file.value.alarms[name];
    if (!alarm)
      throw awsError(ResourceNotFoundException, `Alarm ${name} does not exist.`, { httpStatusCode: 404 });
    return alarm;
  }

  private alarmArn(name: string): string {
    return `arn:aws:cloudwatch:${this.ctx.region}:${this.ctx.accountId}:alarm:${name}`;
  }

  /** Evaluates the periods completed before `current` (the M-of-N rule with M = N). */
  private evaluate(name: string, alarm: AlarmRecord, current: number, t: number): void {
    const periodMs = alarm.period * 1000;
    const points: { start: number; value: number }[] = [];
    for (let i = 1; i <= alarm.evaluationPeriods; i += 1) {
      const start = current - i * periodMs;
      const bucket = alarm.buckets[start];
      if (bucket && bucket.count > 0) points.push({ start, value: bucket.sum / bucket.count });
    }
    const greater = alarm.direction === 'out';
    const breaching = points.filter((p) => (greater ? p.value > alarm.threshold : p.value < alarm.threshold));
    const n = alarm.evaluationPeriods;
    const previous = alarm.state.value;
    let value: StateValue;
    let reason: string;
    if (points.length === 0) {
      // treatMissingData notBreaching (as the CDK app sets it): no tasks, no reason to scale.
      value = 'OK';
      reason = `Threshold Crossed: no datapoints were received for ${n} period${n === 1 ? '' : 's'} and ${n} missing datapoint${n === 1 ? ' was' : 's were'} treated as [NonBreaching].`;
    } else {
      value = breaching.length >= n ? 'ALARM' : 'OK';
      const shown = value === 'ALARM' ? breaching.length : points.length - breaching.length;
      const list = points.map((p) => `${p.value} (${reasonDate(p.start)})`).join(', ');
      const verb = shown === 1 ? 'was' : 'were';
      const compare = `${value === 'ALARM' ? '' : 'not '}${greater ? 'greater' : 'less'} than`;
      reason = `Threshold Crossed: ${shown} out of the last ${n} datapoints [${list}] ${verb} ${compare} the threshold (${javaDouble(alarm.threshold)}) (minimum ${n} datapoint${n === 1 ? '' : 's'} for ${previous === 'ALARM' ? 'ALARM' : 'OK'} -> ${value} transition).`;
    }
    if (value === previous) return;
    const reasonData = `{"version":"1.0","queryDate":"${cwTime(t)}","startDate":"${cwTime(current - n * periodMs)}","statistic":"Average","period":${alarm.period},"recentDatapoints":[${points.map((p) => p.value).join(',')}],"threshold":${javaDouble(alarm.threshold)}}`;
    this.transition(name, alarm, { value, reason, reasonData, timestamp: t });
  }

  private transition(name: string, alarm: AlarmRecord, state: AlarmState): void {
    const previous = alarm.state;
    alarm.state = state;
    const describe = (s: AlarmState) => ({
      reason: s.reason,
      ...(s.reasonData && { reasonData: s.reasonData }),
      timestamp: cwTime(s.timestamp),
      value: s.value,
    });
    this.ctx.emit('CloudWatch Alarm State Change', 'aws.cloudwatch', [this.alarmArn(name)], {
      alarmName: name,
      configuration: {
        ...(alarm.description !== undefined && { description: alarm.description }),
        metrics:
          alarm.metric === 'Reservation'
            ? [
                ...(['CPUReservation', 'MemoryReservation'] as const).map((metricName, i) => ({
                  id: i === 0 ? 'cpu' : 'memory',
                  metricStat: {
                    metric: { dimensions: this.dimensions(alarm), name: metricName, namespace: 'AWS/ECS' },
                    period: alarm.period,
                    stat: 'Average',
                  },
                  returnData: false,
                })),
                { id: 'expr_1', expression: 'MAX([cpu, memory])', label: 'reservation', returnData: true },
              ]
            : [
                {
                  id: randomUUID(),
                  metricStat: {
                    metric: {
                      dimensions: this.dimensions(alarm),
                      name: 'CPUUtilization',
                      namespace: 'AWS/ECS',
                    },
                    period: alarm.period,
                    stat: 'Average',
                  },
                  returnData: true,
                },
              ],
      },
      previousState: describe(previous),
      state: describe(state),
    });
  }

  private dimensions(alarm: AlarmRecord): Record<string, string> {
    return alarm.target === 'service'
      ? { ClusterName: alarm.clusterName, ServiceName: alarm.serviceName }
      : { ClusterName: alarm.clusterName };
  }

  private alarmOutput(name: string, a: AlarmRecord): MetricAlarm {
    return {
      AlarmName: name,
      AlarmArn: this.alarmArn(name),
      ...(a.description !== undefined && { AlarmDescription: a.description }),
      AlarmConfigurationUpdatedTimestamp: new Date(a.createdAt),
      ActionsEnabled: true,
      OKActions: [],
      AlarmActions: [],
      InsufficientDataActions: [],
      StateValue: a.state.value,
      StateReason: a.state.reason,
      ...(a.state.reasonData && { StateReasonData: a.state.reasonData }),
      StateUpdatedTimestamp: new Date(a.state.timestamp),
      StateTransitionedTimestamp: new Date(a.state.timestamp),
      ...(a.metric === 'Reservation'
        ? {
            Metrics: [
              ...(['CPUReservation', 'MemoryReservation'] as const).map((MetricName, i) => ({
                Id: i === 0 ? 'cpu' : 'memory',
                MetricStat: {
                  Metric: {
                    Namespace: 'AWS/ECS',
                    MetricName,
                    Dimensions: Object.entries(this.dimensions(a)).map(([Name, Value]) => ({ Name, Value })),
                  },
                  Period: a.period,
                  Stat: 'Average',
                },
                ReturnData: false,
              })),
              { Id: 'expr_1', Expression: 'MAX([cpu, memory])', Label: 'reservation', ReturnData: true },
            ],
          }
        : {
            MetricName: 'CPUUtilization',
            Namespace: 'AWS/ECS',
            Statistic: 'Average',
            Dimensions: Object.entries(this.dimensions(a)).map(([Name, Value]) => ({ Name, Value })),
            Period: a.period,
            Unit: 'Percent',
          }),
      EvaluationPeriods: a.evaluationPeriods,
      DatapointsToAlarm: a.evaluationPeriods,
      Threshold: a.threshold,
      ComparisonOperator: a.direction === 'out' ? 'GreaterThanThreshold' : 'LessThanThreshold',
      TreatMissingData: 'notBreaching',
    };
  }
}
