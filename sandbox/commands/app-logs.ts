/**
 * `stackpilot logs <app> <stage> [--follow] [--since 10m]`: the output of the stage's tasks,
 * read with CloudWatch Logs FilterLogEvents from the stage's log group: the emulated one of the
 * sandbox (its data folder), or with `--aws` the one the task definition's `awslogs` driver
 * writes to. Each line is prefixed by its task's id; color only on a terminal.
 */
import type { CloudWatchLogsClient, FilteredLogEvent } from '@aws-sdk/client-cloudwatch-logs';
import type { ECSClient } from '@aws-sdk/client-ecs';
import { DEFAULT_DATA_DIR } from '../location.ts';
import { api, type CliIo, CommandError, EXIT, sandboxUrl, UsageError } from './common.ts';
import { awsFailure } from './execution.ts';
import type { StageView } from './status.ts';

export const APP_LOGS_USAGE = `usage: stackpilot logs <app> <stage> [--follow] [--since DURATION] [--json] [--aws]
                       [--url URL | --data DIR]
  the output of the stage's tasks, oldest first, each line prefixed by its task id
  --since D   only what was printed in the last D (30s, 10m, 2h, 1d); default: all the log keeps
  --follow    keep printing new output until interrupted (Ctrl-C)
  --json      one JSON object per line: timestamp, task, stream, message
  --aws       the stage's CloudWatch Logs group in your AWS account (AWS_PROFILE, AWS_REGION…)
  the sandbox's logs are read from its data folder (--data, default ${DEFAULT_DATA_DIR})
stackpilot logs <execution>  (or stackpilot history <execution>): the history of an execution`;

/** One page of FilterLogEvents, wherever the group lives. */
export type LogSource = (input: {
  startTime?: number;
  nextToken?: string;
}) => Promise<{ events?: FilteredLogEvent[]; nextToken?: string }>;

export interface AppLogsDependencies {
  /** `--aws` clients (tests pass mocked ones). */
  readonly logs?: CloudWatchLogsClient;
  readonly ecs?: ECSClient;
  /** Milliseconds between two polls of `--follow`. @default 1000 (sandbox), 2000 (AWS) */
  readonly pollMs?: number;
  /** Stops `--follow` (tests; the CLI stops on Ctrl-C). */
  readonly signal?: AbortSignal;
  /** @default Date.now */
  readonly now?: () => number;
}

export interface AppLogsOptions {
  app: string;
  stage: string;
  follow: boolean;
  since?: string;
  json: boolean;
  aws: boolean;
  url?: string;
  data?: string;
}

/** `10m` -> 600000; `undefined` for a value that is not a duration. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(s|m|h|d)$/.exec(text);
  if (!match) return undefined;
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

/** The task id in an `awslogs` stream name (`<prefix>/<container>/<task id>`). */
export function taskOf(stream: string | undefined): string {
  return stream?.split('/').at(-1) ?? '?';
}

export async function appLogs(
  options: AppLogsOptions,
  io: CliIo,
  deps: AppLogsDependencies = {},
): Promise<number> {
  let since: number | undefined;
  if (options.since !== undefined) {
    const ms = parseDuration(options.since);
    if (ms === undefined)
      throw new UsageError(`--since takes a duration such as 30s, 10m, 2h or 1d, got ${options.since}`);
    since = (deps.now ?? Date.now)() - ms;
  }
  const source = options.aws ? await awsSource(options, deps) : await sandboxSource(options);
  const color = !options.json && isTerminal(io);
  /** Ids of the events printed at `startTime`: the next poll starts there and must not repeat them. */
  let seen = new Set<string>();
  let startTime = since;
  let printed = 0;
  const pollMs = deps.pollMs ?? (options.aws ? 2000 : 1000);
  for (;;) {
    let nextToken: string | undefined;
    const fresh: { id: string; timestamp: number }[] = [];
    do {
      const page = await source({ startTime, nextToken });
      for (const event of page.events ?? []) {
        const id = event.eventId ?? `${event.logStreamName}@${event.timestamp}:${event.message}`;
        if (seen.has(id)) continue;
        fresh.push({ id, timestamp: event.timestamp ?? 0 });
        io.stdout.write(`${formatEvent(event, { json: options.json, color })}\n`);
        printed += 1;
      }
      nextToken = page.nextToken;
    } while (nextToken);
    if (!options.follow) break;
    const latest = Math.max(startTime ?? 0, ...fresh.map((e) => e.timestamp));
    if (latest !== startTime) seen = new Set();
    for (const e of fresh) if (e.timestamp === latest) seen.add(e.id);
    startTime = latest;
    if (await stopped(pollMs, deps.signal)) break;
  }
  if (printed === 0 && !options.follow && !options.json)
    io.stderr.write(
      `no output from ${options.app}/${options.stage}'s tasks${options.since ? ` in the last ${options.since}` : ''}\n`,
    );
  return EXIT.ok;
}

/** Time, task id and message; the task id in color on a terminal. */
export function formatEvent(
  event: FilteredLogEvent,
  { json, color }: { json: boolean; color: boolean },
): string {
  const task = taskOf(event.logStreamName);
  const message = (event.message ?? '').replace(/\n$/, '');
  if (json)
    return JSON.stringify({
      timestamp: new Date(event.timestamp ?? 0).toISOString(),
      task,
      stream: event.logStreamName,
      message,
    });
  const time = new Date(event.timestamp ?? 0).toISOString().slice(11, 19);
  const prefix = task.slice(0, 8);
  return color ? `${time} \x1b[36m${prefix}\x1b[0m ${message}` : `${time} ${prefix} ${message}`;
}

function isTerminal(io: CliIo): boolean {
  if (process.env.NO_COLOR) return false;
  return Boolean((io.stdout as { isTTY?: boolean }).isTTY);
}

/** Waits `ms`; true when `signal` aborted (before or during the wait). */
function stopped(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(false);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(true);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The sandbox's log group of the stage (`GET /stages`: the `awslogs-group` of its task
 * definition), read from the data folder through the emulator's own FilterLogEvents.
 */
async function sandboxSource(options: AppLogsOptions): Promise<LogSource> {
  const url = sandboxUrl(options);
  const { status, body } = await api<{ stages: (StageView & { logGroup?: string })[]; message?: string }>(
    url,
    '/stages',
  );
  if (status !== 200) throw new CommandError(body.message ?? `the sandbox answered ${status}`);
  const stage = body.stages.find((s) => s.app === options.app && s.stage === options.stage);
  if (!stage)
    throw new UsageError(
      `no stage ${options.app}/${options.stage} in the sandbox; its stages are ${body.stages.map((s) => `${s.app}/${s.stage}`).join(', ')}`,
    );
  if (!stage.logGroup)
    throw new CommandError(
      `${options.app}/${options.stage} has no log group in the sandbox yet: is it deployed?`,
    );
  const { CloudWatchLogsEmulator, LogsRequestError } = await import('../account/logs.ts');
  const emulator = new CloudWatchLogsEmulator(options.data ?? DEFAULT_DATA_DIR);
  const logGroupName = stage.logGroup;
  return async (input) => {
    try {
      return emulator.filterLogEvents({ logGroupName, ...input });
    } catch (error) {
      // The group appears with the first output of a task.
      if (error instanceof LogsRequestError && error.code === 'ResourceNotFoundException')
        return { events: [] };
      throw error;
    }
  };
}

/** The stage's log group on AWS: the `awslogs-group` of the app container of the service's task definition. */
async function awsSource(options: AppLogsOptions, deps: AppLogsDependencies): Promise<LogSource> {
  const [
    { CloudWatchLogsClient, FilterLogEventsCommand },
    { DescribeServicesCommand, DescribeTaskDefinitionCommand, ECSClient },
    { APP_CONTAINER_NAME, stageNames },
  ] = await Promise.all([
    import('@aws-sdk/client-cloudwatch-logs'),
    import('@aws-sdk/client-ecs'),
    import('#shared/naming.ts'),
  ]);
  const ecs = deps.ecs ?? new ECSClient({});
  const logs = deps.logs ?? new CloudWatchLogsClient({});
  const names = stageNames(options.app, options.stage);
  let logGroupName: string | undefined;
  try {
    const { services } = await ecs.send(
      new DescribeServicesCommand({ cluster: names.cluster, services: [names.service] }),
    );
    const service = services?.find((s) => s.status !== 'INACTIVE');
    if (!service?.taskDefinition)
      throw new CommandError(
        `no service ${names.service} in cluster ${names.cluster}: is ${options.app}/${options.stage} deployed (npx cdk deploy --all)?`,
      );
    const { taskDefinition } = await ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: service.taskDefinition }),
    );
    const container = taskDefinition?.containerDefinitions?.find((c) => c.name === APP_CONTAINER_NAME);
    logGroupName = container?.logConfiguration?.options?.['awslogs-group'];
  } catch (error) {
    if (error instanceof CommandError) throw error;
    if ((error as Error).name === 'ClusterNotFoundException')
      throw new CommandError(
        `no cluster ${names.cluster}: is ${options.app}/${options.stage} deployed (npx cdk deploy --all)?`,
      );
    throw awsFailure(error);
  }
  if (!logGroupName)
    throw new CommandError(
      `the app container of ${names.service} does not log with awslogs: no log group to read`,
    );
  const group = logGroupName;
  return async (input) => {
    try {
      return await logs.send(new FilterLogEventsCommand({ logGroupName: group, ...input }));
    } catch (error) {
      throw awsFailure(error);
    }
  };
}
