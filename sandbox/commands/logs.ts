/** `stackpilot logs <execution>`: the state-by-state history of an execution. */

import { shortCause } from '../location.ts';
import type { ExecutionRecord, HistoryEntry } from '../runner.ts';
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

export const LOGS_USAGE = `usage: stackpilot logs <execution> [--json] [--url URL | --data DIR]
  the history of one execution (its name, as \`stackpilot status\` lists it)`;

const options = { ...SANDBOX_FLAGS, json: { type: 'boolean' } } as const;

export async function logsCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv, options);
  if (values.help) {
    io.stdout.write(`${LOGS_USAGE}\n`);
    return EXIT.ok;
  }
  const [name, extra] = positionals;
  if (!name)
    throw new UsageError(
      'logs needs the execution name, e.g. stackpilot logs <name> (stackpilot status lists them)',
    );
  if (extra) throw new UsageError(`unexpected argument ${extra}`);
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
