/**
 * `stackpilot logs <app> <stage>`: the output of a stage's tasks (`app-logs.ts`), and
 * `stackpilot history <execution>` (also `logs <execution>`): the state-by-state history of
 * an execution.
 */

import { shortCause } from '../location.ts';
import type { ExecutionRecord, HistoryEntry } from '../runner.ts';
import type { AppLogsDependencies } from './app-logs.ts';
import {
  api,
  type CliIo,
  CommandError,
  EXIT,
  parse,
  SANDBOX_FLAGS,
  sandboxUrl,
  UsageError,
} from './common.ts';

export const HISTORY_USAGE = `usage: stackpilot history <execution> [--json] [--url URL | --data DIR]
  the history of one execution (its name, as \`stackpilot status\` lists it);
  \`stackpilot logs <execution>\` is the same`;

const historyOptions = { ...SANDBOX_FLAGS, json: { type: 'boolean' } } as const;
const logsOptions = {
  ...historyOptions,
  follow: { type: 'boolean', short: 'f' },
  since: { type: 'string' },
  aws: { type: 'boolean' },
} as const;

/** `logs <app> <stage>`: the tasks' output; `logs <execution>`: an execution's history. */
export async function logsCommand(
  argv: string[],
  io: CliIo,
  deps: AppLogsDependencies = {},
): Promise<number> {
  const { values, positionals } = parse(argv, logsOptions);
  const { APP_LOGS_USAGE, appLogs } = await import('./app-logs.ts');
  if (values.help) {
    io.stdout.write(`${APP_LOGS_USAGE}\n`);
    return EXIT.ok;
  }
  const [first, second, extra] = positionals;
  if (!first)
    throw new UsageError(
      "logs needs <app> <stage> (the tasks' output, e.g. stackpilot logs starter dev) or an execution name",
    );
  if (extra) throw new UsageError(`unexpected argument ${extra}`);
  if (second === undefined) {
    const appOnly = [
      values.follow && '--follow',
      values.since !== undefined && '--since',
      values.aws && '--aws',
    ].filter(Boolean);
    if (appOnly.length > 0)
      throw new UsageError(
        `${appOnly.join(', ')} go with <app> <stage>, e.g. stackpilot logs ${first} dev --follow`,
      );
    return showHistory(first, values, io);
  }
  return appLogs(
    {
      app: first,
      stage: second,
      follow: Boolean(values.follow),
      since: values.since,
      json: Boolean(values.json),
      aws: Boolean(values.aws),
      url: values.url,
      data: values.data,
    },
    io,
    deps,
  );
}

/** `stackpilot history <execution>`. */
export async function historyCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv, historyOptions);
  if (values.help) {
    io.stdout.write(`${HISTORY_USAGE}\n`);
    return EXIT.ok;
  }
  const [name, extra] = positionals;
  if (!name)
    throw new UsageError(
      'history needs the execution name, e.g. stackpilot history <name> (stackpilot status lists them)',
    );
  if (extra) throw new UsageError(`unexpected argument ${extra}`);
  return showHistory(name, values, io);
}

async function showHistory(
  name: string,
  values: { url?: string; data?: string; json?: boolean },
  io: CliIo,
): Promise<number> {
  const { status, body } = await api<ExecutionRecord & { message?: string }>(
    sandboxUrl(values),
    `/executions/${encodeURIComponent(name)}`,
  );
  if (status === 404) throw new CommandError(`no execution named ${name} in the sandbox`);
  if (status !== 200) throw new CommandError(body.message ?? `the sandbox answered ${status}`);
  io.stdout.write(values.json ? `${JSON.stringify(body, null, 2)}\n` : `${formatHistory(body)}\n`);
  return EXIT.ok;
}

/** One line per step: time, what happened, the state; errors and retries with their reason. */
export function formatHistory(record: ExecutionRecord): string {
  const start = Date.parse(record.startDate);
  const lines = [`${record.stateMachine} ${record.name}: ${record.status}`];
  for (const entry of record.history) {
    const line = describe(entry);
    if (line)
      lines.push(`  +${((Date.parse(entry.timestamp) - start) / 1000).toFixed(1).padStart(6)}s  ${line}`);
  }
  if (record.status === 'SUCCEEDED') lines.push(`output: ${JSON.stringify(record.output)}`);
  else if (record.error) lines.push(`${record.error}: ${shortCause(record.cause)}`);
  return lines.join('\n');
}

function describe(entry: HistoryEntry): string | undefined {
  switch (entry.type) {
    case 'ExecutionStarted':
      return 'execution started';
    case 'StateEntered':
      return `-> ${entry.state} (${entry.stateType})`;
    case 'StateExited':
      return undefined;
    case 'StateFailed':
      return `   ${entry.state} failed: ${entry.error}: ${shortCause(entry.cause)}`;
    case 'StateRetried':
      return `   ${entry.state} retried (attempt ${entry.retryAttempt ?? '?'})`;
    case 'StateCaught':
      return `   ${entry.state}: error caught`;
    case 'ExecutionSucceeded':
      return 'execution succeeded';
    case 'ExecutionFailed':
      return `execution failed: ${entry.error}`;
    default:
      return entry.type;
  }
}
