/**
 * Starting an execution and following it to its end, on the sandbox (its HTTP API) or on
 * AWS (the deployed `stackpilot-<name>` state machine, Step Functions API): what `run`,
 * `deploy`, `rollback` and `redeploy` share. The AWS SDK is loaded only for `--aws`.
 */
import type { DescribeExecutionCommandOutput, HistoryEvent, SFNClient } from '@aws-sdk/client-sfn';
import type { StateMachineKind } from '#shared/naming.ts';
import { shortCause } from '../location.ts';
import type { ExecutionRecord } from '../runner.ts';
import { api, type CliIo, CommandError, EXIT } from './common.ts';
import { isTty, ProgressWriter, stepsOfAws, stepsOfSandbox } from './progress.ts';

export interface Follow {
  readonly io: CliIo;
  /** Epoch milliseconds after which following gives up (`--timeout`). */
  readonly deadline: number;
  readonly pollMs: number;
  /** False (`--no-wait`): print what started and return. @default true */
  readonly wait?: boolean;
  /** `--json`: the execution as JSON on stdout, instead of its output. */
  readonly json?: boolean;
}

export type ExecutionSummary = Omit<ExecutionRecord, 'history'>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts an execution through the sandbox's `POST path` (answered 202 with the execution). */
export async function startOnSandbox(url: string, path: string, body: unknown): Promise<ExecutionSummary> {
  const started = await api<ExecutionSummary & { message?: string }>(url, path, { method: 'POST', body });
  if (started.status !== 202)
    throw new CommandError(started.body.message ?? `the sandbox answered ${started.status}`);
  return started.body;
}

/** Follows a sandbox execution, showing its progress on stderr, until it ends. */
export async function followOnSandbox(url: string, started: ExecutionSummary, how: Follow): Promise<number> {
  const { io, wait = true, json = false } = how;
  const { name, stateMachine } = started;
  io.stderr.write(`${stateMachine} ${name}: started\n`);
  if (!wait) {
    if (json) io.stdout.write(`${JSON.stringify(started, null, 2)}\n`);
    else io.stdout.write(`${name}\n`);
    return EXIT.ok;
  }
  const ended = await watchOnSandbox(url, name, new ProgressWriter(io.stderr, isTty(io.stderr)), how);
  if (json) {
    const { history: _history, ...summary } = ended;
    io.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    return ended.status === 'SUCCEEDED' ? EXIT.ok : EXIT.failed;
  }
  return report(io, ended.status, ended.output, ended.error, ended.cause);
}

/** Polls a sandbox execution, drawing each change, until it ends; returns the ended record. */
export async function watchOnSandbox(
  url: string,
  name: string,
  progress: ProgressWriter,
  { deadline, pollMs }: Pick<Follow, 'deadline' | 'pollMs'>,
): Promise<ExecutionRecord> {
  for (;;) {
    const { status, body } = await api<ExecutionRecord>(url, `/executions/${encodeURIComponent(name)}`);
    if (status === 404)
      throw new CommandError(`no execution named ${name} in the sandbox (stackpilot status lists them)`);
    if (status !== 200) throw new CommandError(`the sandbox lost execution ${name} (${status})`);
    progress.update({
      title: `${body.stateMachine} ${body.name}`,
      status: body.status,
      startDate: body.startDate,
      stopDate: body.stopDate,
      steps: stepsOfSandbox(body.history ?? []),
    });
    if (body.status !== 'RUNNING') return body;
    if (Date.now() > deadline)
      throw new CommandError(
        `${body.stateMachine} ${name} still runs after --timeout; follow it with stackpilot watch ${name}`,
      );
    await sleep(pollMs);
  }
}

export function report(io: CliIo, status: string, output: unknown, error?: string, cause?: string): number {
  if (status === 'SUCCEEDED') {
    io.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
    return EXIT.ok;
  }
  io.stderr.write(`${status}: ${error ?? 'no error'}: ${shortCause(cause) || '(no cause)'}\n`);
  return EXIT.failed;
}

/** The Step Functions client of the usual AWS environment (`AWS_PROFILE`, `AWS_REGION`…). */
export async function defaultSfnClient(): Promise<SFNClient> {
  const { SFNClient } = await import('@aws-sdk/client-sfn');
  return new SFNClient({});
}

/** An AWS SDK error as one line that says what to do when it is about the environment. */
export function awsFailure(error: unknown): CommandError {
  const { name, message } = error as Error;
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(message))
    return new CommandError(
      'no AWS credentials: set AWS_PROFILE (aws configure, aws sso login) or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, then try again',
    );
  if (/Region is missing/i.test(message))
    return new CommandError(
      'no AWS region: set AWS_REGION (or a region in your AWS profile), then try again',
    );
  return new CommandError(`AWS refused: ${name}: ${message}`);
}

/** Finds `stackpilot-<kind>` among the account's state machines. */
async function findStateMachine(sfn: SFNClient, kind: StateMachineKind): Promise<string> {
  const { ListStateMachinesCommand } = await import('@aws-sdk/client-sfn');
  const { stateMachineName } = await import('#shared/naming.ts');
  const wanted = stateMachineName(kind);
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(new ListStateMachinesCommand({ nextToken }));
    const found = page.stateMachines?.find((m) => m.name === wanted);
    if (found?.stateMachineArn) return found.stateMachineArn;
    nextToken = page.nextToken;
  } while (nextToken);
  throw new CommandError(
    `no state machine ${wanted} in this account and region: deploy stackpilot with npx cdk deploy`,
  );
}

/** Starts the deployed `stackpilot-<kind>` with `input` and follows it with the Step Functions API. */
export async function runOnAws(
  kind: StateMachineKind,
  input: unknown,
  name: string | undefined,
  sfn: SFNClient,
  { io, deadline, pollMs, wait = true, json = false }: Follow,
): Promise<number> {
  const { StartExecutionCommand } = await import('@aws-sdk/client-sfn');
  let executionArn: string;
  try {
    const stateMachineArn = await findStateMachine(sfn, kind);
    const started = await sfn.send(
      new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }),
    );
    executionArn = started.executionArn ?? '';
  } catch (error) {
    if (error instanceof CommandError) throw error;
    throw awsFailure(error);
  }
  io.stderr.write(`${kind}: started ${executionArn}\n`);
  if (!wait) {
    io.stdout.write(json ? `${JSON.stringify({ executionArn }, null, 2)}\n` : `${executionArn}\n`);
    return EXIT.ok;
  }
  const described = await watchOnAws(sfn, executionArn, new ProgressWriter(io.stderr, isTty(io.stderr)), {
    deadline,
    pollMs,
  });
  const output = described.output === undefined ? undefined : JSON.parse(described.output);
  if (json) {
    const { $metadata: _metadata, ...execution } = described;
    io.stdout.write(`${JSON.stringify({ ...execution, input, output }, null, 2)}\n`);
    return described.status === 'SUCCEEDED' ? EXIT.ok : EXIT.failed;
  }
  return report(io, described.status ?? 'UNKNOWN', output, described.error, described.cause);
}

/** Polls a Step Functions execution (status, then new history events), drawing each change, until it ends. */
export async function watchOnAws(
  sfn: SFNClient,
  executionArn: string,
  progress: ProgressWriter,
  { deadline, pollMs }: Pick<Follow, 'deadline' | 'pollMs'>,
): Promise<DescribeExecutionCommandOutput> {
  const { DescribeExecutionCommand, GetExecutionHistoryCommand } = await import('@aws-sdk/client-sfn');
  const events: HistoryEvent[] = [];
  let lastEventId = 0;
  for (;;) {
    let described: DescribeExecutionCommandOutput;
    try {
      // The status first, then the history: an execution that ended has all its events listed.
      described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      let nextToken: string | undefined;
      do {
        const page = await sfn.send(
          new GetExecutionHistoryCommand({ executionArn, nextToken, maxResults: 1000 }),
        );
        for (const event of page.events ?? []) {
          if ((event.id ?? 0) <= lastEventId) continue;
          lastEventId = event.id ?? lastEventId;
          events.push(event);
        }
        nextToken = page.nextToken;
      } while (nextToken);
    } catch (error) {
      throw awsFailure(error);
    }
    const startDate = (described.startDate ?? new Date()).toISOString();
    progress.update({
      title: described.name ?? executionArn,
      status: described.status ?? 'UNKNOWN',
      startDate,
      stopDate: described.stopDate?.toISOString(),
      steps: stepsOfAws(events),
    });
    if (described.status !== 'RUNNING') return described;
    if (Date.now() > deadline)
      throw new CommandError(
        `${described.name ?? executionArn} still runs after --timeout; follow it with stackpilot watch ${executionArn} --aws`,
      );
    await sleep(pollMs);
  }
}
