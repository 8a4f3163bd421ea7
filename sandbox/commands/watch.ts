/**
 * `stackpilot watch [execution | app stage]`: follows a running execution live (state,
 * elapsed time, each step's result) until it ends, then exits with its outcome: 0 succeeded,
 * 1 failed, aborted or timed out. On the sandbox through its HTTP API; with `--aws` through
 * the Step Functions API (`DescribeExecution`, `GetExecutionHistory`).
 */
import type { SFNClient } from '@aws-sdk/client-sfn';
import {
  api,
  type CliIo,
  CommandError,
  EXIT,
  parse,
  parseTimeout,
  SANDBOX_FLAGS,
  sandboxUrl,
  UsageError,
} from './common.ts';
import {
  awsFailure,
  defaultSfnClient,
  type ExecutionSummary,
  watchOnAws,
  watchOnSandbox,
} from './execution.ts';
import { isTty, ProgressWriter } from './progress.ts';
import { triggerOf } from './scaling.ts';

export const WATCH_USAGE = `usage: stackpilot watch [<execution> | <app> <stage>] [--json] [--timeout S] [--aws]
                       [--url URL | --data DIR]
  follows an execution live until it ends, then exits with its outcome (0 succeeded, 1 not)
  <execution>    its name (stackpilot status lists them; an execution ARN with --aws)
  <app> <stage>  the stage's running execution (deploy, release, scale or preview), else its last one
  (nothing)      the running execution, when exactly one runs
  on a terminal one block is redrawn; in a pipe each state is one line
  --json         the ended execution as JSON on stdout
  --aws          the executions of the state machines deployed in your AWS account`;

const options = {
  ...SANDBOX_FLAGS,
  json: { type: 'boolean' },
  aws: { type: 'boolean' },
  timeout: { type: 'string' },
} as const;

export interface WatchDependencies {
  readonly sfn?: SFNClient;
  readonly pollMs?: number;
}

const KINDS = ['deploy', 'release', 'scale', 'preview'] as const;

export async function watchCommand(argv: string[], io: CliIo, deps: WatchDependencies = {}): Promise<number> {
  const { values, positionals } = parse(argv, options);
  if (values.help) {
    io.stdout.write(`${WATCH_USAGE}\n`);
    return EXIT.ok;
  }
  if (positionals.length > 2) throw new UsageError(`unexpected argument ${positionals[2]}`);
  const timeout = parseTimeout(values.timeout);
  const deadline = timeout ? Date.now() + timeout * 1000 : Number.POSITIVE_INFINITY;
  // --json keeps stdout for the JSON document: the progress goes to stderr then.
  const view = values.json ? io.stderr : io.stdout;
  const progress = new ProgressWriter(view, isTty(view));
  const [first, second] = positionals;

  if (values.aws) {
    const sfn = deps.sfn ?? (await defaultSfnClient());
    const executionArn = second === undefined && first ? first : await runningOnAws(sfn, first, second);
    if (!executionArn.startsWith('arn:'))
      throw new UsageError(`with --aws, watch takes an execution ARN, or <app> <stage>; got ${executionArn}`);
    const ended = await watchOnAws(sfn, executionArn, progress, { deadline, pollMs: deps.pollMs ?? 2000 });
    return finish(io, values.json, ended.status ?? 'UNKNOWN', ended, ended.error, ended.cause);
  }

  const url = sandboxUrl(values);
  const name = second === undefined && first ? first : await runningOnSandbox(url, first, second);
  const ended = await watchOnSandbox(url, name, progress, { deadline, pollMs: deps.pollMs ?? 300 });
  const { history: _history, ...summary } = ended;
  return finish(io, values.json, ended.status, summary, ended.error, ended.cause);
}

function finish(
  io: CliIo,
  json: boolean | undefined,
  status: string,
  execution: object,
  error?: string,
  cause?: string,
): number {
  if (json) {
    const { $metadata: _metadata, ...rest } = execution as { $metadata?: unknown };
    io.stdout.write(`${JSON.stringify(rest, null, 2)}\n`);
  } else if (status !== 'SUCCEEDED') {
    io.stderr.write(
      `${status}: ${error ?? 'no error'}${cause ? `: ${cause.split('\n')[0]?.slice(0, 300)}` : ''}\n`,
    );
  }
  return status === 'SUCCEEDED' ? EXIT.ok : EXIT.failed;
}

/** True when an execution's input concerns the stage: `{app, stage}`, or the alarm or ECS event of a scale. */
const matches = (input: unknown, app: string | undefined, stage: string | undefined) => {
  if (app === undefined || stage === undefined) return true;
  const i = input as { app?: string; stage?: string } | undefined;
  if (i?.app === app && i?.stage === stage) return true;
  const trigger = triggerOf(input, [{ app, stage }]);
  return trigger?.app === app && trigger.stage === stage;
};

/** The sandbox execution to watch: the stage's running one (else its last), or the only one running. */
async function runningOnSandbox(url: string, app?: string, stage?: string): Promise<string> {
  const { status, body } = await api<{ executions: ExecutionSummary[]; message?: string }>(
    url,
    '/executions?limit=200',
  );
  if (status !== 200) throw new CommandError(body.message ?? `the sandbox answered ${status}`);
  const mine = body.executions.filter((e) => matches(e.input, app, stage));
  const running = mine.filter((e) => e.status === 'RUNNING');
  const what = app ? `${app}/${stage}` : 'the sandbox';
  if (running.length === 1 || (app && running.length > 0)) return (running[0] as ExecutionSummary).name;
  if (running.length > 1)
    throw new UsageError(
      `${running.length} executions run: name one (${running.map((e) => e.name).join(', ')}) or give <app> <stage>`,
    );
  const last = mine[0];
  if (app && last) return last.name;
  throw new CommandError(
    `nothing runs in ${what}${app ? '' : ': name an execution (stackpilot status lists them) or give <app> <stage>'}`,
  );
}

/** The running AWS execution of a stage, among the deployed state machines. */
async function runningOnAws(sfn: SFNClient, app?: string, stage?: string): Promise<string> {
  if (!app) throw new UsageError('with --aws, watch needs an execution ARN or <app> <stage>');
  const [
    { DescribeExecutionCommand, ListExecutionsCommand, ListStateMachinesCommand },
    { stateMachineName },
  ] = await Promise.all([import('@aws-sdk/client-sfn'), import('#shared/naming.ts')]);
  try {
    const machines = new Map<string, string>();
    let nextToken: string | undefined;
    do {
      const page = await sfn.send(new ListStateMachinesCommand({ nextToken }));
      for (const m of page.stateMachines ?? [])
        if (m.name && m.stateMachineArn) machines.set(m.name, m.stateMachineArn);
      nextToken = page.nextToken;
    } while (nextToken);
    for (const kind of KINDS) {
      const stateMachineArn = machines.get(stateMachineName(kind));
      if (!stateMachineArn) continue;
      const { executions } = await sfn.send(
        new ListExecutionsCommand({ stateMachineArn, statusFilter: 'RUNNING', maxResults: 100 }),
      );
      for (const execution of executions ?? []) {
        const described = await sfn.send(
          new DescribeExecutionCommand({ executionArn: execution.executionArn }),
        );
        if (matches(JSON.parse(described.input ?? '{}'), app, stage) && execution.executionArn)
          return execution.executionArn;
      }
    }
  } catch (error) {
    throw awsFailure(error);
  }
  throw new CommandError(`nothing runs for ${app}/${stage} in this account and region`);
}
