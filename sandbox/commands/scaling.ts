/**
 * The SCALING part of `stackpilot status`: per stage, the last scaling action (what changed,
 * why: an alarm, a placement failure or an operator, and when) and when the scale state
 * machine looks again (the end of its cooldown, after which it re-reads the alarm).
 * Read from the sandbox's `scale` executions: their input says why, the `ScaleResult` their
 * steps record says what changed, the `Cool Down` state's entry says when the next look is.
 */
import { stageResourceName } from '#shared/naming.ts';
import type { ExecutionRecord, HistoryEntry } from '../runner.ts';
import { api, table } from './common.ts';

export interface ScalingView {
  app: string;
  stage: string;
  /** The last step that changed a count, or undefined when the stage never scaled. */
  lastAction?: {
    /** `service` or `cluster`. */
    target: string;
    from: number;
    to: number;
    /** `alarm`, `placement-failure` or `operator`. */
    trigger: 'alarm' | 'placement-failure' | 'operator' | 'other';
    /** The alarm's name, the placement failure's reason, the operator's request. */
    why: string;
    at: string;
    execution: string;
  };
  /** The running scale execution's next look (end of its cooldown), when one is cooling down. */
  nextLook?: { at: string; execution: string };
}

type Summary = Omit<ExecutionRecord, 'history'>;

/** What started a scale execution, for the stage it concerns. */
export function triggerOf(
  input: unknown,
  stages: readonly { app: string; stage: string }[],
):
  | { app: string; stage: string; trigger: NonNullable<ScalingView['lastAction']>['trigger']; why: string }
  | undefined {
  const i = (input ?? {}) as {
    app?: string;
    stage?: string;
    target?: string;
    desiredCount?: number;
    resources?: string[];
    detail?: { alarmName?: string; eventName?: string; reason?: string; clusterArn?: string };
  };
  if (i.app && i.stage && !i.detail)
    return {
      app: i.app,
      stage: i.stage,
      trigger: 'operator',
      why: `operator: ${i.target ?? 'service'} to ${i.desiredCount ?? '?'}`,
    };
  const base = (s: { app: string; stage: string }) => stageResourceName(s.app, s.stage);
  if (i.detail?.alarmName) {
    const name = i.detail.alarmName;
    // The longest stage name that prefixes the alarm's (app and stage names may hold hyphens).
    const stage = [...stages]
      .sort((a, b) => base(b).length - base(a).length)
      .find((s) => name.startsWith(`${base(s)}-`));
    return stage && { ...stage, trigger: 'alarm', why: `alarm ${name.slice(base(stage).length + 1)}` };
  }
  if (i.detail?.eventName === 'SERVICE_TASK_PLACEMENT_FAILURE') {
    const service = i.resources?.[0]?.split('/').at(-1);
    const stage = stages.find((s) => base(s) === service);
    return (
      stage && {
        ...stage,
        trigger: 'placement-failure',
        why: `placement failure${i.detail.reason ? ` (${i.detail.reason})` : ''}`,
      }
    );
  }
  return undefined;
}

interface ScaleResult {
  changed?: boolean;
  from?: number;
  to?: number;
  cooldownSeconds?: number;
}

/** The last count change of an execution's history: target, from, to, when. */
export function lastChange(
  history: HistoryEntry[],
): { target: string; from: number; to: number; at: string } | undefined {
  let target = 'service';
  let change: ReturnType<typeof lastChange>;
  for (const entry of history) {
    if (entry.type !== 'StateEntered' || !entry.state) continue;
    if (/cluster|instance/i.test(entry.state) && /scale|terminate/i.test(entry.state)) target = 'cluster';
    else if (/service/i.test(entry.state) && /scale/i.test(entry.state)) target = 'service';
    const result = (entry.input as { ScaleResult?: ScaleResult } | undefined)?.ScaleResult;
    if (result?.changed && result.from !== undefined && result.to !== undefined) {
      const same =
        change && change.from === result.from && change.to === result.to && change.target === target;
      if (!same) change = { target, from: result.from, to: result.to, at: entry.timestamp };
    }
  }
  return change;
}

/**
 * When a running execution looks again: the `Cool Down` it is in ends `cooldownSeconds`
 * (emulated) after it was entered, `timeScale` times faster in real time.
 */
export function nextLookOf(record: ExecutionRecord, timeScale: number): string | undefined {
  if (record.status !== 'RUNNING') return undefined;
  const entered = record.history.findLast((e) => e.type === 'StateEntered');
  if (!entered || !/cool ?down/i.test(entered.state ?? '')) return undefined;
  const seconds = (entered.input as { ScaleResult?: ScaleResult } | undefined)?.ScaleResult?.cooldownSeconds;
  if (seconds === undefined) return undefined;
  return new Date(Date.parse(entered.timestamp) + (seconds * 1000) / timeScale).toISOString();
}

/** The sandbox's recent scale executions, newest first (`scalingOfStages` reads them). */
export async function recentScaleExecutions(url: string): Promise<Summary[]> {
  const { body } = await api<{ executions?: Summary[] }>(url, '/executions?stateMachine=scale&limit=200');
  return body.executions ?? [];
}

/** The scaling view of each stage, from the sandbox's recent scale executions (fetched when not given). */
export async function scalingOfStages(
  url: string,
  stages: readonly { app: string; stage: string }[],
  timeScale: number,
  scaleExecutions?: Summary[],
): Promise<ScalingView[]> {
  const executions = scaleExecutions ?? (await recentScaleExecutions(url));
  const record = async (name: string) =>
    (await api<ExecutionRecord>(url, `/executions/${encodeURIComponent(name)}`)).body;
  return Promise.all(
    stages.map(async ({ app, stage }) => {
      const view: ScalingView = { app, stage };
      const mine = executions
        .map((e) => ({ e, trigger: triggerOf(e.input, stages) }))
        .filter(({ trigger }) => trigger?.app === app && trigger.stage === stage);
      // Newest first: the first execution whose steps changed a count holds the last action.
      for (const { e, trigger } of mine) {
        if (!e.statesEntered.some((s) => /^(scale|terminate)/i.test(s)) || !trigger) continue;
        const change = lastChange((await record(e.name)).history ?? []);
        if (!change) continue;
        view.lastAction = { ...change, trigger: trigger.trigger, why: trigger.why, execution: e.name };
        break;
      }
      const running = mine.find(({ e }) => e.status === 'RUNNING');
      if (running) {
        const at = nextLookOf(await record(running.e.name), timeScale);
        if (at) view.nextLook = { at, execution: running.e.name };
      }
      return view;
    }),
  );
}

/** `12:04:05 (3m ago)` / `12:09:05 (in 40s)`. */
function when(iso: string, now: number): string {
  const seconds = Math.round((Date.parse(iso) - now) / 1000);
  const span = Math.abs(seconds) < 60 ? `${Math.abs(seconds)}s` : `${Math.round(Math.abs(seconds) / 60)}m`;
  return `${iso.slice(11, 19)} (${seconds >= 0 ? `in ${span}` : `${span} ago`})`;
}

/** The SCALING table of `stackpilot status`. */
export function formatScaling(views: ScalingView[], now = Date.now()): string {
  const rows = views.map((v) => [
    `${v.app}/${v.stage}`,
    v.lastAction ? `${v.lastAction.target} ${v.lastAction.from} -> ${v.lastAction.to}` : '-',
    v.lastAction?.why ?? '-',
    v.lastAction ? when(v.lastAction.at, now) : '-',
    v.nextLook ? when(v.nextLook.at, now) : 'on the next alarm or placement failure',
  ]);
  return table(['stage', 'last scaling', 'why', 'when', 'next look'], rows);
}
