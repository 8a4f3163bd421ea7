/**
 * `stackpilot pr open|update|close <app> --branch B`: a pull request on the sandbox's git
 * server, delivered to the sandbox's webhook as GitHub's signed `pull_request` event, so the
 * whole preview loop runs locally (docs/previews.md). Follows the execution the webhook
 * started (the preview's deploy, or its removal) and prints the preview's URL.
 */
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
import { type ExecutionSummary, followOnSandbox } from './execution.ts';
import type { StageView } from './status.ts';

export const PR_USAGE = `usage: stackpilot pr open|update|close <app> (--branch B | --number N) [flags]
  open     opens a pull request of branch B into the default branch (or reopens its closed one)
  update   after a push to B: GitHub's "synchronize" (the preview builds the new head)
  close    closes it (--merged: merges it); the preview is removed
  --no-wait        print what the webhook started and return (exit 0)
  --timeout S      stop following after S seconds (exit 1; the execution goes on)
  --url URL | --data DIR   the sandbox to use (default: the one running on .stackpilot)
  exit codes: 0 done, 1 refused by the webhook or the execution failed, 2 bad usage`;

const options = {
  ...SANDBOX_FLAGS,
  branch: { type: 'string' },
  number: { type: 'string' },
  merged: { type: 'boolean' },
  'no-wait': { type: 'boolean' },
  timeout: { type: 'string' },
} as const;

const ACTIONS = ['open', 'update', 'close'] as const;
type Action = (typeof ACTIONS)[number];

interface PullAnswer {
  number: number;
  action: string;
  head: string;
  commit: string;
  webhook: {
    status: number;
    answer: { executionName?: string; ignored?: string; message?: string } | string;
  };
  message?: string;
}

export interface PrDependencies {
  /** Milliseconds between two polls. @default 500 */
  readonly pollMs?: number;
}

export async function prCommand(argv: string[], io: CliIo, deps: PrDependencies = {}): Promise<number> {
  const { values, positionals } = parse(argv, options);
  if (values.help) {
    io.stdout.write(`${PR_USAGE}\n`);
    return EXIT.ok;
  }
  const [action, app, more] = positionals;
  if (!ACTIONS.includes(action as Action))
    throw new UsageError(`pr needs open, update or close, e.g. stackpilot pr open starter --branch feature`);
  if (!app)
    throw new UsageError(`pr ${action} needs <app>, e.g. stackpilot pr ${action} starter --branch feature`);
  if (more) throw new UsageError(`unexpected argument ${more}`);
  const number = values.number === undefined ? undefined : Number(values.number);
  if (number !== undefined && !(Number.isInteger(number) && number > 0))
    throw new UsageError(`--number must be a pull request number (1, 2, …), got ${values.number}`);
  if (values.branch === undefined && number === undefined)
    throw new UsageError('name the pull request: --branch B (or --number N)');
  if (values.merged && action !== 'close') throw new UsageError('--merged goes with close');
  const timeout = parseTimeout(values.timeout);

  const url = sandboxUrl(values);
  const { status, body } = await api<PullAnswer>(url, '/pulls', {
    method: 'POST',
    body: { app, action, branch: values.branch, number, merged: values.merged === true },
  });
  if (status === 400) throw new UsageError(body.message ?? 'the sandbox refused the request');
  if (status !== 200) throw new CommandError(body.message ?? `the sandbox answered ${status}`);
  const answer =
    typeof body.webhook.answer === 'string' ? { message: body.webhook.answer } : body.webhook.answer;
  io.stderr.write(
    `pull request #${body.number} ${body.action} (${body.head} at ${body.commit.slice(0, 7)}): webhook ${body.webhook.status}\n`,
  );
  if (body.webhook.status >= 400) {
    throw new CommandError(
      `the webhook refused pull request #${body.number}: ${answer.message ?? body.webhook.status}`,
    );
  }
  if (!answer.executionName) {
    io.stdout.write(
      `pull request #${body.number}: nothing to do (${answer.ignored ?? answer.message ?? 'ignored'})\n`,
    );
    return EXIT.ok;
  }
  const started = await api<ExecutionSummary>(url, `/executions/${encodeURIComponent(answer.executionName)}`);
  if (started.status !== 200) throw new CommandError(`the sandbox has no execution ${answer.executionName}`);
  const code = await followOnSandbox(url, started.body, {
    io,
    deadline: timeout ? Date.now() + timeout * 1000 : Number.POSITIVE_INFINITY,
    pollMs: deps.pollMs ?? 500,
    wait: !values['no-wait'],
  });
  if (code !== EXIT.ok || values['no-wait'] || action === 'close') return code;
  const preview = await findPreview(url, app, body.number);
  if (preview) io.stdout.write(`preview of pull request #${body.number}: ${preview.url}\n`);
  return code;
}

/** The preview of pull request `number` of `app`, as the sandbox lists it. */
async function findPreview(url: string, app: string, number: number) {
  const { body } = await api<{ stages: StageView[] }>(url, '/stages');
  return body.stages
    .filter((s) => s.app === app)
    .flatMap((s) => s.previews ?? [])
    .find((p) => p.number === number);
}
