/**
 * `stackpilot promote <app> <from> <to>`: releases the image stage <from> released to stage
 * <to> of the same app, without a build, through the normal `release` state machine (rollback
 * on failure, history). On the running sandbox, or with `--aws` on the deployed one.
 *
 * Refused before anything starts: the same stage twice, a stage the app does not have (or one
 * of another app), a <to> that is promoted from another stage only (exit 2); a <from> that
 * never released, an image ECR no longer holds (exit 1). Prepare Release checks the image again.
 */
import type { ECRClient } from '@aws-sdk/client-ecr';
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { SSMClient } from '@aws-sdk/client-ssm';
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
import { awsFailure, defaultSfnClient, followOnSandbox, runOnAws, startOnSandbox } from './execution.ts';
import type { StageView } from './status.ts';

export const PROMOTE_USAGE = `usage: stackpilot promote <app> <from> <to> [--config FILE] [flags]
  releases the image stage <from> released to stage <to> of the same app, without a build
  (the release rolls back on failure and records it as a promotion from <from>).
  --config (with --aws): stackpilot.yml, for the app's stages and their promoteFrom
  --no-wait        start it, print its name and return (exit 0)
  --timeout S      stop following after S seconds (exit 1; the execution goes on)
  --json           the execution (status, input, output or error) as JSON on stdout
  --aws            the state machines deployed in your AWS account (AWS_PROFILE, AWS_REGION…)
  --url URL | --data DIR   the sandbox to use (default: the one running on .stackpilot)
  exit codes: 0 promoted (or started, --no-wait), 1 refused or failed, 2 bad usage`;

const options = {
  ...SANDBOX_FLAGS,
  aws: { type: 'boolean' },
  json: { type: 'boolean' },
  'no-wait': { type: 'boolean' },
  timeout: { type: 'string' },
  config: { type: 'string' },
} as const;

const NAME = /^[a-z][a-z0-9-]{0,19}$/;

export interface PromoteDependencies {
  /** Clients of `--aws` (tests pass mocked ones). */
  readonly sfn?: SFNClient;
  readonly ssm?: SSMClient;
  readonly ecr?: ECRClient;
  /** Milliseconds between two polls. */
  readonly pollMs?: number;
}

/** The stages known where the promotion runs: app -> its stages, and each stage's promoteFrom when known. */
type Stages = ReadonlyArray<{ app: string; stage: string; promoteFrom?: string }>;

/**
 * The refusals that need no AWS call: the same stage twice, a stage of another app or of
 * none, a target promoted from another stage only. Exported for the tests.
 */
export function checkStages(stages: Stages, app: string, from: string, to: string): void {
  if (from === to)
    throw new UsageError(`<from> and <to> are both ${from}: promote from one stage to another`);
  const ofApp = stages.filter((s) => s.app === app);
  if (ofApp.length === 0) {
    const apps = [...new Set(stages.map((s) => s.app))].join(', ');
    throw new UsageError(`no app ${app} in stackpilot.yml (apps: ${apps || 'none'})`);
  }
  for (const stage of [from, to]) {
    if (ofApp.some((s) => s.stage === stage)) continue;
    const other = stages.find((s) => s.stage === stage);
    throw new UsageError(
      other
        ? `stage ${stage} belongs to app ${other.app}, not ${app}: a promotion moves an image between stages of one app (stages of ${app}: ${ofApp.map((s) => s.stage).join(', ')})`
        : `app ${app} has no stage ${stage} (stages: ${ofApp.map((s) => s.stage).join(', ')})`,
    );
  }
  const target = ofApp.find((s) => s.stage === to);
  if (target?.promoteFrom && target.promoteFrom !== from)
    throw new UsageError(
      `stage ${to} of app ${app} is promoted from ${target.promoteFrom} only (promoteFrom in stackpilot.yml), not from ${from}`,
    );
}

const neverReleased = (app: string, from: string) =>
  `${app}/${from} has never released an image: deploy it first (stackpilot deploy ${app} ${from}), then promote`;

export async function promoteCommand(
  argv: string[],
  io: CliIo,
  deps: PromoteDependencies = {},
): Promise<number> {
  const { values, positionals } = parse(argv, options);
  if (values.help) {
    io.stdout.write(`${PROMOTE_USAGE}\n`);
    return EXIT.ok;
  }
  const [app, from, to, more] = positionals;
  if (!app || !from || !to)
    throw new UsageError('promote needs <app> <from> <to>, e.g. stackpilot promote starter dev prod');
  if (more) throw new UsageError(`unexpected argument ${more}`);
  for (const [what, name] of [
    ['app', app],
    ['stage', from],
    ['stage', to],
  ] as const)
    if (!NAME.test(name))
      throw new UsageError(
        `${what} ${JSON.stringify(name)} is not a name from stackpilot.yml (lowercase letters, digits, hyphens; starts with a letter)`,
      );
  const timeout = values.timeout === undefined ? undefined : Number(values.timeout);
  if (timeout !== undefined && !(timeout > 0))
    throw new UsageError(`--timeout must be a positive number of seconds, got ${values.timeout}`);
  const how = {
    io,
    deadline: timeout ? Date.now() + timeout * 1000 : Number.POSITIVE_INFINITY,
    pollMs: deps.pollMs ?? (values.aws ? 2000 : 500),
    wait: !values['no-wait'],
    json: Boolean(values.json),
  };

  if (!values.aws) {
    if (values.config)
      throw new UsageError('--config goes with --aws; the sandbox has its own configuration');
    const url = sandboxUrl(values);
    const { status, body } = await api<{ stages: StageView[]; message?: string }>(url, '/stages');
    if (status !== 200) throw new CommandError(body.message ?? `the sandbox answered ${status}`);
    checkStages(body.stages, app, from, to);
    const { isAppImage } = await import('#events/release.ts');
    const image = body.stages.find((s) => s.app === app && s.stage === from)?.taskDefinition?.image;
    if (!image || !isAppImage(app, image)) throw new CommandError(neverReleased(app, from));
    const input = { app, stage: to, image, promotedFrom: from };
    io.stderr.write(`promote: ${app} ${from} -> ${to}: ${image}\n`);
    return followOnSandbox(
      url,
      await startOnSandbox(url, '/executions', { stateMachine: 'release', input }),
      how,
    );
  }

  const [{ loadConfigFile }, { allStages, ConfigError }] = await Promise.all([
    import('#shared/config-file.ts'),
    import('#shared/config.ts'),
  ]);
  let stages: Stages;
  try {
    stages = allStages(loadConfigFile(values.config)).map((s) => ({
      app: s.app,
      stage: s.stage,
      ...(s.stageConfig.promoteFrom ? { promoteFrom: s.stageConfig.promoteFrom } : {}),
    }));
  } catch (error) {
    if (error instanceof ConfigError) throw new CommandError(error.message);
    throw error;
  }
  checkStages(stages, app, from, to);
  const image = await releasedImage(app, from, deps);
  await checkImageInEcr(app, from, image, deps);
  io.stderr.write(`promote: ${app} ${from} -> ${to}: ${image}\n`);
  return runOnAws(
    'release',
    { app, stage: to, image, promotedFrom: from },
    undefined,
    deps.sfn ?? (await defaultSfnClient()),
    how,
  );
}

/** The image <from> released, from `/stackpilot/<app>/<from>/released-image`. */
async function releasedImage(app: string, from: string, deps: PromoteDependencies): Promise<string> {
  const [{ GetParameterCommand, SSMClient }, { stageNames }, { NO_RELEASE }] = await Promise.all([
    import('@aws-sdk/client-ssm'),
    import('#shared/naming.ts'),
    import('#shared/release/placeholder.ts'),
  ]);
  const name = stageNames(app, from).releasedImageParameter;
  let value: string | undefined;
  try {
    value = (await (deps.ssm ?? new SSMClient({})).send(new GetParameterCommand({ Name: name }))).Parameter
      ?.Value;
  } catch (error) {
    if ((error as Error).name === 'ParameterNotFound')
      throw new CommandError(`no parameter ${name}: is ${app}/${from} deployed (npx cdk deploy --all)?`);
    throw awsFailure(error);
  }
  if (!value || value === NO_RELEASE) throw new CommandError(neverReleased(app, from));
  return value;
}

async function checkImageInEcr(
  app: string,
  from: string,
  image: string,
  deps: PromoteDependencies,
): Promise<void> {
  const [{ ECRClient }, { imageInRepository }, { ecrRepositoryName }] = await Promise.all([
    import('@aws-sdk/client-ecr'),
    import('#shared/release/ecr.ts'),
    import('#shared/naming.ts'),
  ]);
  let found: boolean;
  try {
    found = await imageInRepository(app, image, deps.ecr ?? new ECRClient({}));
  } catch (error) {
    throw awsFailure(error);
  }
  if (!found)
    throw new CommandError(
      `${image}, released in ${app}/${from}, is no longer in ECR repository ${ecrRepositoryName(app)} (it keeps the newest imagesToKeep images): deploy ${from} again, then promote`,
    );
}
