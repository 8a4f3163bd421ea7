/**
 * `stackpilot deploy`, `rollback` and `redeploy`: one execution of the `deploy` or `release`
 * state machine for a stage, followed to its end (`--no-wait` to only start it), on the
 * running sandbox or, with `--aws`, on the state machines deployed in the AWS account.
 */
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { type CliIo, CommandError, EXIT, parse, parseTimeout, sandboxUrl, UsageError } from './common.ts';
import { defaultSfnClient, followOnSandbox, runOnAws, startOnSandbox } from './execution.ts';
import {
  checkNames,
  configForAws,
  FOLLOW_OPTIONS,
  followOf,
  releasedImageOnAws,
  releasedImageOnSandbox,
  sandboxStages,
  startRelease,
} from './stage-release.ts';

const FOLLOW_FLAGS = `  --no-wait        start it, print its name and return (exit 0)
  --timeout S      stop following after S seconds (exit 1; the execution goes on)
  --json           the execution (status, input, output or error) as JSON on stdout
  --aws            the state machines deployed in your AWS account (AWS_PROFILE, AWS_REGION…)
  --url URL | --data DIR   the sandbox to use (default: the one running on .stackpilot)
  exit codes: 0 the execution succeeded (or started, --no-wait), 1 it failed, 2 bad usage`;

export const DEPLOY_USAGE = `usage: stackpilot deploy <app> <stage> [--commit SHA] [--config FILE] [flags]
  deploys a commit of the stage's branch as a push would (package, build, release);
  default: the branch's head. --config (with --aws): stackpilot.yml, for the repository
${FOLLOW_FLAGS}`;

export const ROLLBACK_USAGE = `usage: stackpilot rollback <app> <stage> [--to REVISION] [flags]
  returns the stage to its previous successful release, or to task-definition REVISION
${FOLLOW_FLAGS}`;

export const REDEPLOY_USAGE = `usage: stackpilot redeploy <app> <stage> [--image IMAGE] [flags]
  releases the stage's released image again (new tasks, same image), or IMAGE
${FOLLOW_FLAGS}`;

export interface ReleaseDependencies {
  /** Step Functions and SSM clients of `--aws` (tests pass mocked ones). */
  readonly sfn?: SFNClient;
  readonly ssm?: SSMClient;
  /** `git ls-remote` of `--aws` deploys without `--commit` (tests pass their own). */
  readonly branchHead?: (url: string, branch: string) => Promise<string>;
  /** Milliseconds between two polls. */
  readonly pollMs?: number;
}

type Extra = Record<string, { type: 'string' | 'boolean' }>;

function parseStageCommand<E extends Extra>(command: string, argv: string[], extra: E, example: string) {
  const parsed = parse(argv, { ...FOLLOW_OPTIONS, ...extra });
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help) return { help: true as const, values };
  const [app, stage, more] = parsed.positionals;
  if (!app || !stage) throw new UsageError(`${command} needs <app> <stage>, e.g. stackpilot ${example}`);
  if (more) throw new UsageError(`unexpected argument ${more}`);
  checkNames([
    ['app', app],
    ['stage', stage],
  ]);
  const timeout = parseTimeout(values.timeout as string | undefined);
  return { help: false as const, values, app, stage, timeout };
}

export async function deployCommand(
  argv: string[],
  io: CliIo,
  deps: ReleaseDependencies = {},
): Promise<number> {
  const parsed = parseStageCommand(
    'deploy',
    argv,
    { commit: { type: 'string' }, config: { type: 'string' } },
    'deploy starter dev',
  );
  if (parsed.help) {
    io.stdout.write(`${DEPLOY_USAGE}\n`);
    return EXIT.ok;
  }
  const { values, app, stage, timeout } = parsed;
  const commit = values.commit as string | undefined;
  if (commit !== undefined && !/^[0-9a-f]{4,64}$/.test(commit))
    throw new UsageError(`--commit must be a commit id (lowercase hex digits), got ${commit}`);
  const how = followOf(io, values, timeout, deps.pollMs);
  if (!values.aws) {
    if (values.config)
      throw new UsageError('--config goes with --aws; the sandbox has its own configuration');
    const url = sandboxUrl(values);
    return followOnSandbox(url, await startOnSandbox(url, '/deploy', { app, stage, commit }), how);
  }
  if (commit !== undefined && !/^([0-9a-f]{40}|[0-9a-f]{64})$/.test(commit))
    throw new UsageError(`--commit with --aws must be a full commit id (40 or 64 hex digits), got ${commit}`);
  const [{ findStage }, { branchDeploy }] = await Promise.all([
    import('#shared/config.ts'),
    import('#shared/webhook/decide.ts'),
  ]);
  const ref = findStage(await configForAws(values.config as string | undefined), app, stage);
  if (!ref) throw new UsageError(`no stage ${app}/${stage} in stackpilot.yml`);
  const { repository } = ref.appConfig;
  const resolved = commit ?? (await (deps.branchHead ?? lsRemote)(repository.url, ref.stageConfig.branch));
  const { name, input } = branchDeploy(ref, resolved, `cli-${crypto.randomUUID()}`);
  return runOnAws('deploy', input, name, deps.sfn ?? (await defaultSfnClient()), how);
}

/** The head commit of `branch` in the repository at `url` (`git ls-remote`, the user's git credentials). */
async function lsRemote(url: string, branch: string): Promise<string> {
  const { execFile } = await import('node:child_process');
  const out = await new Promise<string>((resolve, reject) =>
    execFile(
      'git',
      ['ls-remote', url, `refs/heads/${branch}`],
      { env: { ...process.env, GIT_TERMINAL_PROMPT: '0' }, timeout: 30_000 },
      (error, stdout, stderr) =>
        error
          ? reject(
              new CommandError(
                `git ls-remote ${url} failed: ${stderr.trim() || error.message}; pass --commit SHA`,
              ),
            )
          : resolve(stdout),
    ),
  );
  const head = out.split(/\s/)[0];
  if (!head) throw new CommandError(`${url} has no branch ${branch}: push to it first, or pass --commit SHA`);
  return head;
}

export async function rollbackCommand(
  argv: string[],
  io: CliIo,
  deps: ReleaseDependencies = {},
): Promise<number> {
  const parsed = parseStageCommand(
    'rollback',
    argv,
    { to: { type: 'string' } },
    'rollback starter dev --to 3',
  );
  if (parsed.help) {
    io.stdout.write(`${ROLLBACK_USAGE}\n`);
    return EXIT.ok;
  }
  const { values, app, stage, timeout } = parsed;
  const to = values.to === undefined ? undefined : Number(values.to);
  if (to !== undefined && !(Number.isInteger(to) && to > 0))
    throw new UsageError(`--to must be a task-definition revision (a positive integer), got ${values.to}`);
  const input = { app, stage, action: 'rollback', ...(to === undefined ? {} : { toRevision: to }) };
  return startRelease(input, values, followOf(io, values, timeout, deps.pollMs), deps.sfn);
}

export async function redeployCommand(
  argv: string[],
  io: CliIo,
  deps: ReleaseDependencies = {},
): Promise<number> {
  const parsed = parseStageCommand('redeploy', argv, { image: { type: 'string' } }, 'redeploy starter dev');
  if (parsed.help) {
    io.stdout.write(`${REDEPLOY_USAGE}\n`);
    return EXIT.ok;
  }
  const { values, app, stage, timeout } = parsed;
  const image =
    (values.image as string | undefined) ??
    (values.aws
      ? await releasedImageOnAws(app, stage, deps.ssm, NOTHING_RELEASED(app, stage))
      : await imageOnSandbox(app, stage, values));
  return startRelease({ app, stage, image }, values, followOf(io, values, timeout, deps.pollMs), deps.sfn);
}

const NOTHING_RELEASED = (app: string, stage: string) =>
  `${app}/${stage} has no release yet: deploy it first (stackpilot deploy ${app} ${stage}), or pass --image`;

/** The image the stage runs in the sandbox, once a release replaced the placeholder. */
async function imageOnSandbox(app: string, stage: string, values: Record<string, unknown>): Promise<string> {
  const stages = await sandboxStages(sandboxUrl(values));
  if (!stages.some((s) => s.app === app && s.stage === stage))
    throw new UsageError(`no stage ${app}/${stage} in the sandbox`);
  return releasedImageOnSandbox(stages, app, stage, NOTHING_RELEASED(app, stage));
}
