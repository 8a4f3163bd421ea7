/**
 * `stackpilot run <state-machine> --input <file|->`: one execution, followed to its end;
 * prints the output JSON, or exits 1 with the Error and Cause on stderr.
 *
 * Against the sandbox at `--url` (or the one running on the data folder). When none runs,
 * it starts the sandbox in process on the same data folder, on a free port, for the
 * length of the execution. With `--aws`, it starts the deployed `stackpilot-<name>` state
 * machine with the credentials and region of the usual AWS environment and follows it.
 */
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { StateMachineKind } from '#shared/naming.ts';
import type { Sandbox } from '../server.ts';
import {
  type CliIo,
  EXIT,
  parse,
  parseTimeout,
  readInput,
  SANDBOX_FLAGS,
  sandboxRunning,
  sandboxUrl,
  UsageError,
} from './common.ts';
import { defaultSfnClient, followOnSandbox, runOnAws, startOnSandbox } from './execution.ts';
import { importServer } from './from-source.ts';

export const RUN_USAGE = `usage: stackpilot run <deploy|release|scale|preview> --input <file|-> [--name NAME] [--aws]
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

const KINDS: readonly StateMachineKind[] = ['deploy', 'release', 'scale', 'preview'];

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
  if (!kind) throw new UsageError('run needs a state machine: deploy, release, scale or preview');
  if (!KINDS.includes(kind as StateMachineKind))
    throw new UsageError(`no state machine ${kind}; use deploy, release, scale or preview`);
  if (extra) throw new UsageError(`unexpected argument ${extra}`);
  if (!values.input) throw new UsageError('run needs --input <file|-> (the samples are in events/samples/)');
  const timeoutSeconds = parseTimeout(values.timeout);
  const input = await readInput(values.input, io);
  const deadline = timeoutSeconds ? Date.now() + timeoutSeconds * 1000 : Number.POSITIVE_INFINITY;
  const follow = { io, deadline, pollMs: deps.pollMs ?? 500 };
  if (values.aws) {
    return runOnAws(kind as StateMachineKind, input, values.name, deps.sfn ?? (await defaultSfnClient()), {
      ...follow,
      pollMs: deps.pollMs ?? 2000,
    });
  }

  let url = sandboxUrl(values);
  let inProcess: Sandbox | undefined;
  if (!values.url && !(await sandboxRunning(url))) {
    io.stderr.write(`no sandbox answers at ${url}: running the execution in process\n`);
    // The server (and the CDK, the handlers) is loaded only here: a running sandbox needs none of it.
    const { startSandbox } = await importServer();
    inProcess = await startSandbox({ dataDir: values.data, port: 0, log: () => undefined });
    url = inProcess.url;
  }
  try {
    const started = await startOnSandbox(url, '/executions', {
      stateMachine: kind,
      input,
      name: values.name,
    });
    return await followOnSandbox(url, started, follow);
  } finally {
    await inProcess?.close();
  }
}
