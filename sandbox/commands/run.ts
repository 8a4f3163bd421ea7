/**
 * `stackpilot run <state-machine> --input <file|->`: one execution, followed to its end;
 * prints the output JSON, or exits 1 with the Error and Cause on stderr.
 *
 * Against the sandbox at `--url` (or the one running on the data folder). When none runs,
 * it starts the sandbox in process on the same data folder, on a free port, for the
 * length of the execution. With `--aws`, it starts the deployed `stackpilot-<name>` state
 * machine with the credentials and region of the usual AWS environment and follows it.
 */
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListStateMachinesCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { type StateMachineKind, stateMachineName } from '#shared/naming.ts';
import type { ExecutionRecord } from '../runner.ts';
import { type Sandbox, shortCause, startSandbox } from '../server.ts';
import {
  api,
  type CliIo,
  CommandError,
  EXIT,
  parse,
  readInput,
  SANDBOX_FLAGS,
  sandboxRunning,
  sandboxUrl,
  UsageError,
} from './common.ts';

export const RUN_USAGE = `usage: stackpilot run <deploy|release|scale> --input <file|-> [--name NAME] [--aws]
                      [--timeout SECONDS] [--url URL | --data DIR]
  one execution with the JSON input (a file, or - for stdin), followed to its end;
  prints the output JSON (exit 0) or the Error and Cause on stderr (exit 1).
  Without a running sandbox, one starts in process on the data folder for the run.
  --aws: start the deployed stackpilot-<name> state machine in your AWS account instead`;

const options = {
  ...SANDBOX_FLAGS,
  input: { type: 'string', short: 'i' },
  name: { type: 'string' },
  aws: { type: 'boolean' },
  timeout: { type: 'string' },
} as const;

const KINDS: readonly StateMachineKind[] = ['deploy', 'release', 'scale'];

export interface RunDependencies {
  /** The Step Functions client of `--aws` (tests pass a mocked one). */
  readonly sfn?: SFNClient;
  /** Milliseconds between two polls. */
  readonly pollMs?: number;
}

export async function runCommand(argv: string[], io: CliIo, deps: RunDependencies = {}): Promise<number> {
  const { values, positionals } = parse(argv, options);
  if (values.help) {
    io.stdout.write(`${RUN_USAGE}\n`);
    return EXIT.ok;
  }
  const [kind, extra] = positionals;
  if (!kind) throw new UsageError('run needs a state machine: deploy, release or scale');
  if (!KINDS.includes(kind as StateMachineKind))
    throw new UsageError(`no state machine ${kind}; use deploy, release or scale`);
  if (extra) throw new UsageError(`unexpected argument ${extra}`);
  if (!values.input) throw new UsageError('run needs --input <file|-> (the samples are in events/samples/)');
  const timeoutSeconds = values.timeout === undefined ? undefined : Number(values.timeout);
  if (timeoutSeconds !== undefined && !(timeoutSeconds > 0))
    throw new UsageError(`--timeout must be a positive number of seconds, got ${values.timeout}`);
  const input = await readInput(values.input, io);
  const deadline = timeoutSeconds ? Date.now() + timeoutSeconds * 1000 : Number.POSITIVE_INFINITY;
  const follow = { io, deadline, pollMs: deps.pollMs ?? 500 };
  if (values.aws) {
    return runOnAws(kind as StateMachineKind, input, values.name, deps.sfn ?? new SFNClient({}), {
      ...follow,
      pollMs: deps.pollMs ?? 2000,
    });
  }

  let url = sandboxUrl(values);
  let inProcess: Sandbox | undefined;
  if (!values.url && !(await sandboxRunning(url))) {
    io.stderr.write(`no sandbox answers at ${url}: running the execution in process\n`);
    inProcess = await startSandbox({ dataDir: values.data, port: 0, log: () => undefined });
    url = inProcess.url;
  }
  try {
    return await runInSandbox(url, kind as StateMachineKind, input, values.name, follow);
  } finally {
    await inProcess?.close();
  }
}

interface Follow {
  readonly io: CliIo;
  readonly deadline: number;
  readonly pollMs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function runInSandbox(
  url: string,
  kind: StateMachineKind,
  input: unknown,
  name: string | undefined,
  { io, deadline, pollMs }: Follow,
): Promise<number> {
  const started = await api<ExecutionRecord & { message?: string }>(url, '/executions', {
    method: 'POST',
    body: { stateMachine: kind, input, name },
  });
  if (started.status !== 202)
    throw new CommandError(started.body.message ?? `the sandbox answered ${started.status}`);
  const executionName = started.body.name;
  io.stderr.write(`${kind} ${executionName}: started\n`);
  let shown = 0;
  for (;;) {
    const { status, body } = await api<ExecutionRecord>(
      url,
      `/executions/${encodeURIComponent(executionName)}`,
    );
    if (status !== 200) throw new CommandError(`the sandbox lost execution ${executionName} (${status})`);
    for (const state of body.statesEntered.slice(shown)) io.stderr.write(`  -> ${state}\n`);
    shown = body.statesEntered.length;
    if (body.status !== 'RUNNING') return report(io, body.status, body.output, body.error, body.cause);
    if (Date.now() > deadline)
      throw new CommandError(
        `${kind} ${executionName} still runs after --timeout; follow it with stackpilot logs`,
      );
    await sleep(pollMs);
  }
}

function report(io: CliIo, status: string, output: unknown, error?: string, cause?: string): number {
  if (status === 'SUCCEEDED') {
    io.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
    return EXIT.ok;
  }
  io.stderr.write(`${status}: ${error ?? 'no error'}: ${shortCause(cause) || '(no cause)'}\n`);
  return EXIT.failed;
}

/** Finds `stackpilot-<kind>` among the account's state machines. */
async function findStateMachine(sfn: SFNClient, kind: StateMachineKind): Promise<string> {
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

async function runOnAws(
  kind: StateMachineKind,
  input: unknown,
  name: string | undefined,
  sfn: SFNClient,
  { io, deadline, pollMs }: Follow,
): Promise<number> {
  let executionArn: string;
  try {
    const stateMachineArn = await findStateMachine(sfn, kind);
    const started = await sfn.send(
      new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }),
    );
    executionArn = started.executionArn ?? '';
  } catch (error) {
    if (error instanceof CommandError) throw error;
    throw new CommandError(`AWS refused: ${(error as Error).name}: ${(error as Error).message}`);
  }
  io.stderr.write(`${kind}: started ${executionArn}\n`);
  let lastEventId = 0;
  for (;;) {
    // The status first, then the history: an execution that ended has all its events listed.
    const described: DescribeExecutionCommandOutput = await sfn.send(
      new DescribeExecutionCommand({ executionArn }),
    );
    let nextToken: string | undefined;
    do {
      const page = await sfn.send(
        new GetExecutionHistoryCommand({ executionArn, nextToken, maxResults: 1000 }),
      );
      for (const event of page.events ?? []) {
        if ((event.id ?? 0) <= lastEventId) continue;
        lastEventId = event.id ?? lastEventId;
        const line = progressLine(event);
        if (line) io.stderr.write(`  ${line}\n`);
      }
      nextToken = page.nextToken;
    } while (nextToken);
    if (described.status !== 'RUNNING') {
      const output = described.output === undefined ? undefined : JSON.parse(described.output);
      return report(io, described.status ?? 'UNKNOWN', output, described.error, described.cause);
    }
    if (Date.now() > deadline)
      throw new CommandError(
        `${kind} still runs after --timeout; follow it in the Step Functions console: ${executionArn}`,
      );
    await sleep(pollMs);
  }
}

function progressLine(event: HistoryEvent): string | undefined {
  if (event.stateEnteredEventDetails?.name) return `-> ${event.stateEnteredEventDetails.name}`;
  if (event.taskFailedEventDetails)
    return `   failed: ${event.taskFailedEventDetails.error}: ${shortCause(event.taskFailedEventDetails.cause)}`;
  return undefined;
}
