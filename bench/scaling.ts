/**
 * `npm run bench -- scaling`: replays load traces, minute by minute, through a model of ECS
 * on EC2 under three policies, using the capacity rule and the count decisions the scale
 * steps use (`shared/scaling/capacity.ts`, `shared/scaling/decisions.ts`). Figures and their
 * sources: bench/README.md "scaling".
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../infra/constructs/stackpilot-function.ts';
import { loadConfigFile } from '../shared/config-file.ts';
import { instancesNeeded, serviceTaskBounds, stageCapacity } from '../shared/scaling/capacity.ts';
import { nextDesiredCount } from '../shared/scaling/decisions.ts';
import type { BenchRow } from './report.ts';

/** Model figures (minutes). */
export const MODEL = {
  /** An instance registers with the cluster about 2-3 minutes after launch (ECS-optimized AMI). */
  instanceBootMinutes: 3,
  /** A placed task is RUNNING and serves after about a minute (image pull, health check). */
  taskStartMinutes: 1,
  /** A DRAINING instance whose tasks moved is terminated a minute later. */
  drainMinutes: 1,
  /** t3.micro on-demand, us-east-1. */
  instancePerHour: 0.0104,
  /** Step Functions standard: state transitions per scaling execution (measured in scale.test.ts: ~10-14). */
  transitionsPerExecution: 12,
  perThousandTransitions: 0.025,
} as const;

export type PolicyName = 'stackpilot' | 'tinystacks' | 'target-tracking';
export const POLICIES: readonly PolicyName[] = ['stackpilot', 'tinystacks', 'target-tracking'];

export interface Outcome {
  overloadMinutes: number;
  instanceHours: number;
  taskHours: number;
  scalingActions: number;
  executions: number;
  monthCost: number;
  /** Per minute: running tasks and registered instances (for the plot). */
  tasks: number[];
  instances: number[];
}

/** An alarm over one-minute datapoints: ALARM once the last `n` datapoints all breach. */
class Alarm {
  private streak = 0;
  state = false;
  constructor(
    private readonly n: number,
    private readonly breaches: (v: number) => boolean,
  ) {}
  /** Feeds one datapoint; true on a transition to ALARM. */
  feed(v: number | undefined): boolean {
    this.streak = v !== undefined && this.breaches(v) ? this.streak + 1 : 0;
    const was = this.state;
    this.state = this.streak >= this.n;
    return this.state && !was;
  }
  rearm(): void {
    this.streak = 0;
    this.state = false;
  }
}

/** Averages per `period` minutes, as a 5-minute alarm period sees them. */
function periodic(period: number) {
  let sum = 0;
  let count = 0;
  return (v: number | undefined, minute: number): number | undefined | 'pending' => {
    if (v !== undefined) {
      sum += v;
      count += 1;
    }
    if ((minute + 1) % period !== 0) return 'pending';
    const out = count > 0 ? sum / count : undefined;
    sum = 0;
    count = 0;
    return out;
  };
}

/** Replays `demand` (tasks' worth of work per minute, fractional) under `policy`. */
export function replay(demand: readonly number[], policy: PolicyName): Outcome {
  const config = loadConfigFile(join(PROJECT_ROOT, 'stackpilot.yml'));
  const app = config.apps.starter;
  const stage = app?.stages.dev;
  if (!app || !stage) throw new Error('stackpilot.yml has no starter/dev stage');
  const ref = { appConfig: app, stageConfig: stage };
  const capacity = stageCapacity(app, stage);
  const taskBounds = policy === 'tinystacks' ? stage.tasks : serviceTaskBounds(ref);
  const { instances: instanceBounds } = stage;

  let desiredTasks = stage.tasks.min;
  let groupDesired = instanceBounds.min;
  // Instances: minute they register; tasks: minute they serve.
  let instanceReady: number[] = Array.from({ length: groupDesired }, () => 0);
  let taskReady: number[] = Array.from({ length: desiredTasks }, () => 0);
  const out: Outcome = {
    overloadMinutes: 0,
    instanceHours: 0,
    taskHours: 0,
    scalingActions: 0,
    executions: 0,
    monthCost: 0,
    tasks: [],
    instances: [],
  };
  const svc = stage.serviceScaling;
  const cl = stage.clusterScaling;
  // stackpilot and TinyStacks: the service alarms (1-minute datapoints, 2 of 2) and loops.
  const svcHigh = new Alarm(svc.evaluationPeriods, (v) => v > svc.cpuHigh);
  const svcLow = new Alarm(svc.evaluationPeriods, (v) => v < svc.cpuLow);
  // Target tracking: 3 of 3 above the target out, 15 of 15 below 90% of it in (AWS docs).
  const ttTarget = svc.cpuHigh;
  const ttHigh = new Alarm(3, (v) => v > ttTarget);
  const ttLow = new Alarm(15, (v) => v < ttTarget * 0.9);
  // Cluster alarms: 5-minute period, 1 datapoint.
  const clPeriod = periodic(cl.periodSeconds / 60);
  const clHigh = new Alarm(cl.evaluationPeriods, (v) =>
    policy === 'stackpilot' ? v > cl.reservationHigh : v > cl.cpuHigh,
  );
  const clLow = new Alarm(cl.evaluationPeriods, (v) =>
    policy === 'stackpilot' ? v < cl.reservationLow : v < cl.cpuLow,
  );
  let svcLoopUntil = -1;
  let clLoopUntil = -1;
  let placementWindowUsed = -1;
  let ttOutUntil = -1;
  let ttInUntil = -1;

  for (let m = 0; m < demand.length; m += 1) {
    const d = demand[m] ?? 0;
    const registered = instanceReady.filter((r) => r <= m).length;
    // Place tasks: those within the registered slots run (or start), the rest wait.
    const slots = registered * capacity.perInstance;
    taskReady = taskReady.slice(0, desiredTasks);
    while (taskReady.length < desiredTasks) taskReady.push(Number.POSITIVE_INFINITY);
    let placed = 0;
    let pending = 0;
    taskReady = taskReady.map((r) => {
      if (placed < slots) {
        placed += 1;
        return r === Number.POSITIVE_INFINITY ? m + MODEL.taskStartMinutes : r;
      }
      pending += 1;
      return Number.POSITIVE_INFINITY;
    });
    const running = taskReady.filter((r) => r <= m).length;
    const cpu = running > 0 ? Math.min(100, (d / running) * 100) : undefined;
    if (d > running || pending > 0) out.overloadMinutes += 1;
    out.instanceHours += instanceReady.length / 60;
    out.taskHours += running / 60;
    out.tasks.push(running);
    out.instances.push(registered);

    const setTasks = (to: number) => {
      if (to !== desiredTasks) {
        desiredTasks = to;
        out.scalingActions += 1;
      }
    };
    const setInstances = (to: number) => {
      const target = Math.max(instanceBounds.min, Math.min(instanceBounds.max, to));
      if (target > groupDesired)
        for (let i = groupDesired; i < target; i += 1) instanceReady.push(m + MODEL.instanceBootMinutes);
      if (target < groupDesired) {
        // Drain the newest instances (fewest tasks); gone after the drain.
        instanceReady = instanceReady.slice(0, target);
      }
      if (target !== groupDesired) out.scalingActions += 1;
      groupDesired = target;
    };

    if (policy === 'target-tracking') {
      // Application Auto Scaling target tracking on service CPU; capacity-provider managed
      // scaling at target capacity 100%: instances follow the tasks (running + pending).
      const outNow = ttHigh.feed(cpu) || ttHigh.state;
      const inNow = ttLow.feed(cpu) || ttLow.state;
      if (outNow && m >= ttOutUntil && cpu !== undefined) {
        const want = Math.ceil((running * cpu) / ttTarget);
        setTasks(Math.min(stage.tasks.max, Math.max(desiredTasks, want)));
        ttOutUntil = m + svc.cooldownOutSeconds / 60;
      } else if (inNow && m >= ttInUntil && m >= ttOutUntil && cpu !== undefined) {
        const want = Math.max(stage.tasks.min, Math.ceil((running * cpu) / ttTarget));
        if (want < desiredTasks) setTasks(want);
        ttInUntil = m + svc.cooldownInSeconds / 60;
      }
      // Managed scaling: CapacityProviderReservation = needed / current; out after 1 minute, in after 15.
      const needed = Math.max(1, Math.ceil(desiredTasks / capacity.perInstance));
      if (needed > groupDesired) setInstances(needed);
      else if (needed < groupDesired && m % 15 === 14) setInstances(needed);
      continue;
    }

    // stackpilot / TinyStacks: alarm-driven loops (one per target), cooldowns from the config.
    if (svcHigh.feed(cpu) && m >= svcLoopUntil) out.executions += 1;
    if (svcLow.feed(cpu) && m >= svcLoopUntil) out.executions += 1;
    if (m >= svcLoopUntil) {
      if (svcHigh.state) {
        const step = nextDesiredCount(desiredTasks, { direction: 'out', step: svc.step }, taskBounds);
        if (policy === 'stackpilot' && step.changed)
          setInstances(Math.max(groupDesired, instancesNeeded(ref, step.to)));
        setTasks(step.to);
        svcLoopUntil = m + svc.cooldownOutSeconds / 60;
        if (step.atBound) svcHigh.rearm();
      } else if (svcLow.state) {
        const step = nextDesiredCount(desiredTasks, { direction: 'in', step: svc.step }, taskBounds);
        setTasks(step.to);
        svcLoopUntil = m + svc.cooldownInSeconds / 60;
        if (step.atBound) svcLow.rearm();
      }
    }
    // Placement failures: ECS reports one a minute while tasks wait.
    if (pending > 0) {
      const window = Math.floor(m / (cl.cooldownOutSeconds / 60));
      const onTheirWay = groupDesired - registered;
      if (policy === 'tinystacks') {
        out.executions += 1;
        if (m >= clLoopUntil) {
          setInstances(groupDesired + 1);
          clLoopUntil = m + cl.cooldownOutSeconds / 60;
        }
      } else if (window !== placementWindowUsed) {
        out.executions += 1;
        placementWindowUsed = window;
        if (m >= clLoopUntil && onTheirWay === 0) {
          setInstances(groupDesired + 1);
          clLoopUntil = m + cl.cooldownOutSeconds / 60;
        }
      }
    }
    // Cluster alarm: reservation (stackpilot) or CPU utilization (TinyStacks), 5-minute periods.
    const reservation = registered > 0 ? (Math.min(desiredTasks, slots) / slots) * 100 : undefined;
    const clusterCpu =
      registered > 0 && cpu !== undefined
        ? (running * cpu) /
          (registered *
            capacity.perInstance *
            (capacity.instance.cpu / capacity.task.cpu / capacity.perInstance))
        : undefined;
    const value = clPeriod(policy === 'stackpilot' ? reservation : clusterCpu, m);
    if (value !== 'pending') {
      if (clHigh.feed(value)) out.executions += 1;
      if (clLow.feed(value)) out.executions += 1;
      if (m >= clLoopUntil) {
        if (clHigh.state) {
          setInstances(groupDesired + 1);
          clLoopUntil = m + cl.cooldownOutSeconds / 60;
        } else if (clLow.state) {
          const floor =
            policy === 'stackpilot'
              ? instancesNeeded(ref, desiredTasks)
              : Math.ceil(desiredTasks / capacity.perInstance);
          if (groupDesired - 1 >= floor) {
            setInstances(groupDesired - 1);
            clLoopUntil = m + cl.cooldownInSeconds / 60 + MODEL.drainMinutes;
          }
        }
      }
    }
  }
  const months = demand.length / (30 * 24 * 60);
  out.monthCost =
    (out.instanceHours * MODEL.instancePerHour +
      (out.executions * MODEL.transitionsPerExecution * MODEL.perThousandTransitions) / 1000) /
    months;
  return out;
}

/** Per-minute demand in tasks' worth of work, scaled so the busiest minute needs `peakTasks`. */
export function scaleTrace(requests: readonly number[], peakTasks: number): number[] {
  const max = Math.max(...requests);
  return requests.map((r) => (r / max) * peakTasks);
}

export function generatedTraces(peak: number): Record<string, number[]> {
  const week = 7 * 24 * 60;
  const range = (n: number, f: (m: number) => number) => Array.from({ length: n }, (_, m) => f(m));
  return {
    diurnal: range(
      week,
      (m) => peak * (0.15 + 0.85 * (0.5 - 0.5 * Math.cos((2 * Math.PI * (m % 1440)) / 1440))),
    ),
    ramp: range(week, (m) => peak * Math.min(1, 0.1 + (0.9 * m) / (week / 2))),
    // A 10x flash spike in one minute, every day at noon for 30 minutes.
    spike: range(week, (m) => (m % 1440 >= 720 && m % 1440 < 750 ? peak : peak / 10)),
    saw: range(week, (m) => peak * (0.1 + (0.9 * (m % 240)) / 240)),
  };
}

function readNasa(): number[] | undefined {
  const path =
    process.env.STACKPILOT_NASA_TRACE ?? join(PROJECT_ROOT, '..', 'shared', 'traces', 'nasa-per-minute.csv');
  if (!existsSync(path)) return undefined;
  return readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => Number(line.split(',')[1]));
}

/** An SVG of demand, running tasks and instances over time, the policies on top of each other. */
function plot(name: string, demand: readonly number[], outcomes: Record<PolicyName, Outcome>): string {
  const w = 1200;
  const h = 400;
  const bucket = Math.max(1, Math.ceil(demand.length / w));
  const series = (values: readonly number[]) => {
    const pts: string[] = [];
    for (let i = 0; i * bucket < values.length; i += 1) {
      const slice = values.slice(i * bucket, (i + 1) * bucket);
      pts.push(`${i},${(h - (Math.max(...slice) / 10) * h).toFixed(1)}`);
    }
    return pts.join(' ');
  };
  const colors: Record<PolicyName, string> = {
    stackpilot: '#d62728',
    tinystacks: '#2ca02c',
    'target-tracking': '#1f77b4',
  };
  const lines = [
    `<polyline fill="none" stroke="#999" stroke-width="1" points="${series(demand)}"/>`,
    ...POLICIES.flatMap((p) => [
      `<polyline fill="none" stroke="${colors[p]}" stroke-width="1" points="${series(outcomes[p].tasks)}"/>`,
      `<polyline fill="none" stroke="${colors[p]}" stroke-dasharray="4 3" stroke-width="1" points="${series(outcomes[p].instances)}"/>`,
    ]),
  ];
  const legend = [
    `<text x="10" y="15" font-size="12">${name}: demand (grey, tasks' worth), running tasks (solid), instances (dashed); y: 0-10</text>`,
    ...POLICIES.map(
      (p, i) => `<text x="10" y="${32 + i * 15}" font-size="12" fill="${colors[p]}">${p}</text>`,
    ),
  ];
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${Math.ceil(demand.length / bucket)} ${h}" preserveAspectRatio="none">${lines.join('')}${legend.join('')}</svg>\n`;
}

const LABEL: Record<PolicyName, string> = {
  stackpilot: 'stackpilot default',
  tinystacks: 'TinyStacks rules',
  'target-tracking': 'target tracking',
};

export async function benchScaling(): Promise<BenchRow[]> {
  const config = loadConfigFile(join(PROJECT_ROOT, 'stackpilot.yml'));
  const peak = config.apps.starter?.stages.dev?.tasks.max ?? 5;
  const traces: Record<string, number[]> = {};
  const nasa = readNasa();
  if (nasa) traces.NASA = scaleTrace(nasa, peak);
  else
    process.stderr.write(
      'bench scaling: no NASA trace found (set STACKPILOT_NASA_TRACE); generated traces only\n',
    );
  Object.assign(traces, generatedTraces(peak));
  const rows: BenchRow[] = [];
  const metrics: [keyof Outcome, string, string][] = [
    ['overloadMinutes', 'overload minutes', 'min'],
    ['instanceHours', 'instance-hours', 'h'],
    ['taskHours', 'task-hours', 'h'],
    ['scalingActions', 'scaling actions', 'count'],
    ['executions', 'Step Functions executions', 'count'],
    ['monthCost', "month's cost", 'USD'],
  ];
  for (const [name, demand] of Object.entries(traces)) {
    const outcomes = Object.fromEntries(POLICIES.map((p) => [p, replay(demand, p)])) as Record<
      PolicyName,
      Outcome
    >;
    writeFileSync(
      join(PROJECT_ROOT, 'bench', 'results', `scaling-${name.toLowerCase()}.svg`),
      plot(name, demand, outcomes),
    );
    for (const [key, label, unit] of metrics) {
      for (const reference of ['tinystacks', 'target-tracking'] as const) {
        const ours = Number((outcomes.stackpilot[key] as number).toFixed(3));
        const ref = Number((outcomes[reference][key] as number).toFixed(3));
        const target =
          key === 'overloadMinutes'
            ? 'fewer than the reference'
            : key === 'instanceHours' && reference === 'target-tracking'
              ? 'no more than the reference'
              : undefined;
        rows.push({
          name: `scaling ${name}: ${label} (ref: ${LABEL[reference]})`,
          unit,
          ours,
          reference: ref,
          ...(target && { target, met: key === 'overloadMinutes' ? ours < ref : ours <= ref }),
        });
      }
    }
  }
  return rows;
}
