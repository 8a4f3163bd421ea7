/**
 * `POST /deploy` (what `stackpilot deploy` sends): the deploy input a push of the stage's
 * branch would give the `deploy` state machine, for the branch's head or a named commit of
 * the sandbox's own repository.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { DeployInput } from '#events/deploy.ts';
import { findStage, type StackpilotConfig } from '#shared/config.ts';
import { branchDeploy } from '#shared/webhook/decide.ts';
import { git } from './git/repo.ts';

/** A request the sandbox refuses (answered 400 or 404 with the message). */
export class DeployRequestError extends Error {
  override readonly name = 'DeployRequestError';
  constructor(
    message: string,
    readonly status: 400 | 404,
  ) {
    super(message);
  }
}

/**
 * The execution name and input of a deploy of `app`/`stage`. `config` is the functions'
 * view (repository URLs on the sandbox's git server); the repository is `<gitRoot>/<name>.git`.
 */
export async function deployRequest(
  config: StackpilotConfig,
  gitRoot: string,
  request: { app?: unknown; stage?: unknown; commit?: unknown },
): Promise<{ name: string; input: DeployInput }> {
  const { app, stage, commit } = request;
  if (typeof app !== 'string' || typeof stage !== 'string')
    throw new DeployRequestError('the body needs "app" and "stage"', 400);
  if (commit !== undefined && (typeof commit !== 'string' || !/^[0-9a-f]{4,64}$/.test(commit)))
    throw new DeployRequestError(`"commit" must be a commit id (hex digits), got ${String(commit)}`, 400);
  const ref = findStage(config, app, stage);
  if (!ref) {
    const known = Object.entries(config.apps).flatMap(([a, c]) =>
      Object.keys(c.stages).map((s) => `${a}/${s}`),
    );
    throw new DeployRequestError(
      `no stage ${app}/${stage} in stackpilot.yml (stages: ${known.join(', ')})`,
      404,
    );
  }
  const repository = config.apps[app]?.repository;
  if (!repository) throw new DeployRequestError(`app ${app} has no repository`, 404);
  const name = new URL(repository.url).pathname.split('/').at(-1) ?? '';
  const gitDir = join(gitRoot, name);
  const branch = ref.stageConfig.branch;
  let resolved: string;
  try {
    resolved = await git(
      ['rev-parse', '--verify', '--quiet', `${commit ?? `refs/heads/${branch}`}^{commit}`],
      {
        gitDir,
      },
    );
  } catch {
    throw new DeployRequestError(
      commit === undefined
        ? `the repository ${name} has no branch ${branch} yet: push to it first`
        : `no commit ${commit} in the repository ${name}`,
      404,
    );
  }
  return branchDeploy(ref, resolved, `cli-${randomUUID()}`);
}
