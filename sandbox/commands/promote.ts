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
import { type CliIo, CommandError, EXIT, parse, parseTimeout, sandboxUrl, UsageError } from './common.ts';
import { awsFailure } from './execution.ts';
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

const options = { ...FOLLOW_OPTIONS, config: { type: 'string' } } as const;

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
  checkNames([
    ['app', app],
    ['stage', from],
    ['stage', to],
  ]);
  const how = followOf(io, values, parseTimeout(values.timeout), deps.pollMs);
  let image: string;
  if (!values.aws) {
    if (values.config)
      throw new UsageError('--config goes with --aws; the sandbox has its own configuration');
    const stages = await sandboxStages(sandboxUrl(values));
    checkStages(stages, app, from, to);
    image = await releasedImageOnSandbox(stages, app, from, neverReleased(app, from));
  } else {
    const { allStages } = await import('#shared/config.ts');
    const stages = allStages(await configForAws(values.config)).map((s) => ({
      app: s.app,
      stage: s.stage,
      ...(s.stageConfig.promoteFrom ? { promoteFrom: s.stageConfig.promoteFrom } : {}),
    }));
    checkStages(stages, app, from, to);
    image = await releasedImageOnAws(app, from, deps.ssm, neverReleased(app, from));
    await checkImageInEcr(app, from, image, deps);
  }
  io.stderr.write(`promote: ${app} ${from} -> ${to}: ${image}\n`);
  return startRelease({ app, stage: to, image, promotedFrom: from }, values, how, deps.sfn);
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
