/** `stackpilot status`: the stages and the recent executions of a running sandbox. */

import { readFileSync } from 'node:fs';
import type { PreviewRecord } from '#shared/preview/model.ts';
import { DEFAULT_DATA_DIR, serverFile, shortCause } from '../location.ts';
import type { ExecutionRecord } from '../runner.ts';
import {
  api,
  type CliIo,
  duration,
  EXIT,
  parse,
  SANDBOX_FLAGS,
  sandboxUrl,
  table,
  UsageError,
} from './common.ts';
import { formatScaling, recentScaleExecutions, scalingOfStages } from './scaling.ts';

export const STATUS_USAGE = `usage: stackpilot status [--json] [--limit N] [--url URL | --data DIR]
  stages (revision, image, tasks, instances, alarms, last release), the recent executions, and
  per stage the last scaling action (what, why: alarm, placement failure or operator; when)
  and when the scale state machine looks again (the end of its cooldown)`;

const options = { ...SANDBOX_FLAGS, json: { type: 'boolean' }, limit: { type: 'string' } } as const;

/** A stage as `GET /stages` returns it (the fields the table shows). */
export interface StageView {
  app: string;
  stage: string;
  taskDefinition?: { revision?: number; image?: string };
  desiredCount: number;
  runningCount: number;
  pendingCount: number;
  instances: { id: string; lifecycleState?: string; status?: string; runningTasks?: number }[];
  autoScalingGroup?: { min: number; max: number; desired: number };
  alarms?: { name: string; state: string; value?: number }[];
  load?: number;
  lastRelease?: { execution: string; status: string; commit?: string; image?: string; stopDate?: string };
  /** The last status the deploy set on a commit of the stage (the git server's, GitHub's shape). */
  commitStatus?: { state: string; sha: string; description?: string | null };
  /** The stage's front door on loopback. */
  url?: string;
  /** The previews running in the stage's cluster (their records). */
  previews?: PreviewRecord[];
}

export async function statusCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv, options);
  if (values.help) {
    io.stdout.write(`${STATUS_USAGE}\n`);
    return EXIT.ok;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
  const limit = Number(values.limit ?? 10);
  if (!(Number.isInteger(limit) && limit > 0))
    throw new UsageError(`--limit must be a positive integer, got ${values.limit}`);
  const url = sandboxUrl(values);
  const [{ body: stageBody }, { body: executionBody }, scaleExecutions] = await Promise.all([
    api<{ stages: StageView[] }>(url, '/stages'),
    api<{ executions: Omit<ExecutionRecord, 'history'>[] }>(url, `/executions?limit=${limit}`),
    recentScaleExecutions(url),
  ]);
  const scaling = await scalingOfStages(url, stageBody.stages, timeScaleOf(values.data), scaleExecutions);
  if (values.json) {
    io.stdout.write(
      `${JSON.stringify({ stages: stageBody.stages, executions: executionBody.executions, scaling }, null, 2)}\n`,
    );
    return EXIT.ok;
  }
  io.stdout.write(
    `${formatStatus(stageBody.stages, executionBody.executions)}\n\nSCALING\n${formatScaling(scaling)}\n`,
  );
  return EXIT.ok;
}

/** The sandbox's time scale (recorded in `<data>/server.json`; 60, the default, otherwise). */
function timeScaleOf(dataDir: string | undefined): number {
  try {
    const { timeScale } = JSON.parse(readFileSync(serverFile(dataDir ?? DEFAULT_DATA_DIR), 'utf8')) as {
      timeScale?: number;
    };
    if (typeof timeScale === 'number' && timeScale > 0) return timeScale;
  } catch {
    // no sandbox recorded there
  }
  return 60;
}

/** The stage and execution tables of `stackpilot status`. */
export function formatStatus(stages: StageView[], executions: Omit<ExecutionRecord, 'history'>[]): string {
  const stageRows = stages.map((s) => {
    const instances = s.instances.filter((i) => i.lifecycleState === 'InService').length;
    const alarms = (s.alarms ?? [])
      .filter((a) => a.state === 'ALARM')
      .map((a) => a.name.replace(`stackpilot-${s.app}-${s.stage}-`, ''));
    return [
      `${s.app}/${s.stage}`,
      s.taskDefinition?.revision ? `:${s.taskDefinition.revision}` : '-',
      imageTag(s.taskDefinition?.image),
      `${s.runningCount}/${s.desiredCount}${s.pendingCount ? ` (+${s.pendingCount} pending)` : ''}`,
      s.autoScalingGroup
        ? `${instances}/${s.autoScalingGroup.desired} (${s.autoScalingGroup.min}-${s.autoScalingGroup.max})`
        : `${instances}`,
      s.load === undefined ? '-' : `${Math.round(s.load)}%`,
      alarms.length > 0 ? alarms.join(', ') : '-',
      s.lastRelease ? `${s.lastRelease.status} ${s.lastRelease.commit?.slice(0, 7) ?? ''}`.trim() : '-',
      s.commitStatus ? `${s.commitStatus.state} ${s.commitStatus.sha.slice(0, 7)}` : '-',
      s.url ?? '-',
    ];
  });
  const executionRows = executions.map((e) => [
    e.stateMachine,
    e.name.length > 40 ? `${e.name.slice(0, 37)}...` : e.name,
    e.input?.app ? `${e.input.app}/${e.input.stage ?? ''}` : alarmOf(e.input),
    e.status,
    e.statesEntered.at(-1) ?? '',
    e.startDate.slice(11, 19),
    duration(e.startDate, e.stopDate),
    e.status === 'FAILED' || e.status === 'ABORTED'
      ? `${e.error ?? ''}: ${shortCause(e.cause)}`.slice(0, 80)
      : '',
  ]);
  return [
    'STAGES',
    table(
      [
        'stage',
        'revision',
        'image',
        'tasks',
        'instances',
        'cpu',
        'alarms',
        'last release',
        'commit status',
        'url',
      ],
      stageRows,
    ),
    '',
    ...previewTable(stages),
    'RECENT EXECUTIONS',
    executionRows.length > 0
      ? table(
          ['machine', 'name', 'target', 'status', 'last state', 'started', 'took', 'error'],
          executionRows,
        )
      : '(none yet: push to the starter repository, or stackpilot run ...)',
  ].join('\n');
}

/** The PREVIEWS table (a row per open preview: pull request, URL, commit, status, age), when there are any. */
function previewTable(stages: StageView[]): string[] {
  const rows = stages.flatMap((s) =>
    (s.previews ?? []).map((p) => [
      `${s.app}/${s.stage}`,
      `#${p.number}`,
      p.branch ?? '-',
      p.commit.slice(0, 7),
      p.status,
      duration(p.createdAt),
      `${duration(p.updatedAt)} ago`,
      p.url,
    ]),
  );
  if (rows.length === 0) return [];
  return [
    'PREVIEWS',
    table(['stage', 'pull request', 'branch', 'commit', 'status', 'age', 'updated', 'url'], rows),
    '',
  ];
}

function imageTag(image: string | undefined): string {
  if (!image) return '-';
  const tag = image.split(':').at(-1) ?? image;
  return /^[0-9a-f]{40,64}$/.test(tag) ? tag.slice(0, 12) : tag;
}

function alarmOf(input: unknown): string {
  const detail = (input as { detail?: { alarmName?: string; eventName?: string } } | undefined)?.detail;
  return detail?.alarmName ?? detail?.eventName ?? '';
}
