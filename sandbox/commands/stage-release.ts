/**
 * What the commands that release a stage share (`deploy`, `rollback`, `redeploy`, `promote`):
 * their flags and name checks, how they follow the execution, stackpilot.yml for `--aws`, the
 * image a stage released (on the sandbox or on AWS), and the start of the `release` state machine.
 */
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { StackpilotConfig } from '#shared/config.ts';
import { api, type CliIo, CommandError, SANDBOX_FLAGS, sandboxUrl, UsageError } from './common.ts';
import {
  awsFailure,
  defaultSfnClient,
  type Follow,
  followOnSandbox,
  runOnAws,
  startOnSandbox,
} from './execution.ts';
import type { StageView } from './status.ts';

/** Flags of the commands that start an execution and follow it, on the sandbox or with `--aws`. */
export const FOLLOW_OPTIONS = {
  ...SANDBOX_FLAGS,
  aws: { type: 'boolean' },
  json: { type: 'boolean' },
  'no-wait': { type: 'boolean' },
  timeout: { type: 'string' },
} as const;

/** App and stage names as stackpilot.yml allows them. */
const NAME = /^[a-z][a-z0-9-]{0,19}$/;

/** Refuses (bad usage) each app or stage name that stackpilot.yml could not hold. */
export function checkNames(names: ReadonlyArray<readonly ['app' | 'stage', string]>): void {
  for (const [what, name] of names)
    if (!NAME.test(name))
      throw new UsageError(
        `${what} ${JSON.stringify(name)} is not a name from stackpilot.yml (lowercase letters, digits, hyphens; starts with a letter)`,
      );
}

/**
 * How to follow the execution the command starts: `--timeout`, `--no-wait`, `--json`, a poll
 * every `pollMs` (by default 2 s with `--aws`, 0.5 s on the sandbox).
 */
export function followOf(
  io: CliIo,
  values: Record<string, unknown>,
  timeout: number | undefined,
  pollMs = values.aws ? 2000 : 500,
): Follow {
  return {
    io,
    deadline: timeout ? Date.now() + timeout * 1000 : Number.POSITIVE_INFINITY,
    pollMs,
    wait: !values['no-wait'],
    json: Boolean(values.json),
  };
}

/** stackpilot.yml for `--aws` (`path`, else the default one); one that cannot be read or is invalid fails (exit 1). */
export async function configForAws(path: string | undefined): Promise<StackpilotConfig> {
  const [{ loadConfigFile }, { ConfigError }] = await Promise.all([
    import('#shared/config-file.ts'),
    import('#shared/config.ts'),
  ]);
  try {
    return loadConfigFile(path);
  } catch (error) {
    if (error instanceof ConfigError) throw new CommandError(error.message);
    throw error;
  }
}

/** The stages of the sandbox at `url`, as `GET /stages` lists them. */
export async function sandboxStages(url: string): Promise<StageView[]> {
  const { status, body } = await api<{ stages: StageView[]; message?: string }>(url, '/stages');
  if (status !== 200) throw new CommandError(body.message ?? `the sandbox answered ${status}`);
  return body.stages;
}

/** The image `app`/`stage` runs among the sandbox's `stages` once a release replaced the placeholder; else fails with `never`. */
export async function releasedImageOnSandbox(
  stages: readonly StageView[],
  app: string,
  stage: string,
  never: string,
): Promise<string> {
  const { isAppImage } = await import('#events/release.ts');
  const image = stages.find((s) => s.app === app && s.stage === stage)?.taskDefinition?.image;
  if (!image || !isAppImage(app, image)) throw new CommandError(never);
  return image;
}

/** The image the last release of `app`/`stage` recorded in `/stackpilot/<app>/<stage>/released-image`; else fails with `never`. */
export async function releasedImageOnAws(
  app: string,
  stage: string,
  ssm: SSMClient | undefined,
  never: string,
): Promise<string> {
  const [{ GetParameterCommand, SSMClient }, { stageNames }, { NO_RELEASE }] = await Promise.all([
    import('@aws-sdk/client-ssm'),
    import('#shared/naming.ts'),
    import('#shared/release/placeholder.ts'),
  ]);
  const name = stageNames(app, stage).releasedImageParameter;
  let value: string | undefined;
  try {
    value = (await (ssm ?? new SSMClient({})).send(new GetParameterCommand({ Name: name }))).Parameter?.Value;
  } catch (error) {
    if ((error as Error).name === 'ParameterNotFound')
      throw new CommandError(`no parameter ${name}: is ${app}/${stage} deployed (npx cdk deploy --all)?`);
    throw awsFailure(error);
  }
  if (!value || value === NO_RELEASE) throw new CommandError(never);
  return value;
}

/** Starts the `release` state machine with `input` and follows it: the deployed one with `--aws`, else the sandbox's. */
export async function startRelease(
  input: object,
  values: Record<string, unknown>,
  how: Follow,
  sfn: SFNClient | undefined,
): Promise<number> {
  if (values.aws) return runOnAws('release', input, undefined, sfn ?? (await defaultSfnClient()), how);
  const url = sandboxUrl(values);
  return followOnSandbox(
    url,
    await startOnSandbox(url, '/executions', { stateMachine: 'release', input }),
    how,
  );
}
