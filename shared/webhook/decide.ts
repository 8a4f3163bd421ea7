/**
 * What a verified delivery means for stackpilot: deploy some stages, or nothing (with the
 * reason, answered to the provider and shown in its delivery log). Pure: no AWS, no clock.
 * Pull request events are decided in `preview.ts`.
 */
import type { DeployInput } from '#events/deploy.ts';
import { GITHUB_PING_EVENT, GITHUB_PULL_REQUEST_EVENT, GITHUB_PUSH_EVENT } from '#events/github.ts';
import { GITLAB_MERGE_REQUEST_EVENT, GITLAB_PUSH_EVENT, GITLAB_TAG_PUSH_EVENT } from '#events/gitlab.ts';
import {
  allStages,
  normalizeRepoUrl,
  type StackpilotConfig,
  type StageRef,
  stagesTracking,
} from '#shared/config.ts';
import { pathMatcher, samplePaths, watchGlobs } from '../source/watch.ts';
import type { Push } from './push.ts';
import { type Provider, sha256Hex } from './request.ts';

export type EventKind = { kind: 'push' } | { kind: 'pull-request' } | { kind: 'ignored'; ignored: string };

/**
 * What a delivery's event type (`X-GitHub-Event` / `X-Gitlab-Event`) is: a push, a pull
 * (merge) request event (previews), or something stackpilot ignores, with the reason.
 */
export function classifyEvent(provider: Provider, event: string | undefined): EventKind {
  const name = event?.trim();
  if (!name)
    return {
      kind: 'ignored',
      ignored: `no ${provider === 'github' ? 'X-GitHub-Event' : 'X-Gitlab-Event'} header: not a push`,
    };
  if (provider === 'github') {
    if (name === GITHUB_PUSH_EVENT) return { kind: 'push' };
    if (name === GITHUB_PULL_REQUEST_EVENT) return { kind: 'pull-request' };
    if (name === GITHUB_PING_EVENT) return { kind: 'ignored', ignored: 'ping: the webhook is set up' };
  } else {
    if (name === GITLAB_PUSH_EVENT || name === GITLAB_TAG_PUSH_EVENT) return { kind: 'push' };
    if (name === GITLAB_MERGE_REQUEST_EVENT) return { kind: 'pull-request' };
  }
  const what = provider === 'github' ? 'a pull request' : 'a merge request';
  return { kind: 'ignored', ignored: `event "${name.slice(0, 64)}" is neither a push nor ${what}` };
}

/** One deploy execution to start. */
export interface Deployment {
  readonly app: string;
  readonly stage: string;
  readonly executionName: string;
  readonly input: DeployInput;
}

/** A stage the push's branch deploys to, left alone by this push, and why. */
export interface Skipped {
  readonly app: string;
  readonly stage: string;
  readonly reason: string;
}

export type Decision =
  | { deploy: true; deployments: Deployment[]; skipped: Skipped[] }
  | { deploy: false; ignored: string };

/** Step Functions execution names: 1-80 characters; these are safe in every console, log and ARN. */
const NAME_LIMIT = 80;
const UNSAFE = /[^A-Za-z0-9_-]/g;

/**
 * The execution name of one stage's deploy for one delivery: `<app>-<stage>-<deliveryId>`,
 * deterministic so a redelivery maps to the execution it already started. App and stage go
 * first because the configuration guarantees `<app>-<stage>` is unique (it names resources).
 * A delivery id that had to be changed (unsafe characters, too long) is followed by a hash of
 * app, stage and the original id, so two different ids never share a name.
 */
export function executionName(app: string, stage: string, deliveryId: string): string {
  const prefix = `${app}-${stage}-`;
  const safe = deliveryId.replace(UNSAFE, '_');
  if (safe === deliveryId && prefix.length + safe.length <= NAME_LIMIT) return prefix + safe;
  // The hash covers app and stage too: truncation must not make two stages' names meet.
  const hash = sha256Hex(`${app}\u0000${stage}\u0000${deliveryId}`).slice(0, 16);
  const room = Math.max(0, NAME_LIMIT - prefix.length - hash.length - 1);
  return `${prefix}${safe.slice(0, room)}-${hash}`.slice(0, NAME_LIMIT);
}

/**
 * The execution name and input of a deploy of one stage at `commit` of its branch, started by
 * hand (`stackpilot deploy`) rather than by a delivery: the input a push of that commit gives.
 */
export function branchDeploy(
  target: StageRef,
  commit: string,
  deliveryId: string,
): { name: string; input: DeployInput } {
  const { app, stage, appConfig, stageConfig } = target;
  return {
    name: executionName(app, stage, deliveryId),
    input: {
      app,
      stage,
      repository: { provider: appConfig.repository.provider, url: appConfig.repository.url },
      ref: `refs/heads/${stageConfig.branch}`,
      commit,
      deliveryId,
    },
  };
}

function unique(stages: StageRef[]): StageRef[] {
  const seen = new Set<string>();
  return stages.filter((s) => {
    const key = `${s.app}\u0000${s.stage}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Decides a verified push: tags, deletions, other refs and untracked repositories or branches
 * are ignored with a reason; a push to a tracked branch deploys every stage that tracks it,
 * but for stages that move only by promotion (`promoteFrom`) and monorepo apps whose watched
 * paths the push did not change: those are skipped, each with its reason.
 */
export function decidePush(config: StackpilotConfig, push: Push, deliveryId: string): Decision {
  const { ref } = push;
  if (push.tagPush || ref.startsWith('refs/tags/')) {
    const tag = ref.replace(/^refs\/tags\//, '');
    return {
      deploy: false,
      ignored: push.deleted
        ? `tag deletion (${tag}): only branch pushes deploy`
        : `tag push (${tag}): only branch pushes deploy`,
    };
  }
  if (!ref.startsWith('refs/heads/')) return { deploy: false, ignored: `ref ${ref} is not a branch` };
  const branch = ref.slice('refs/heads/'.length);
  if (push.deleted) return { deploy: false, ignored: `branch deletion (${branch}): nothing to deploy` };

  const stages = unique(push.repositoryUrls.flatMap((url) => stagesTracking(config, url, branch)));
  if (stages.length === 0) {
    const wanted = new Set(push.repositoryUrls.map(normalizeRepoUrl));
    const known = allStages(config).filter((s) => wanted.has(normalizeRepoUrl(s.appConfig.repository.url)));
    const url = push.repositoryUrls[0] ?? '(no repository URL)';
    if (known.length === 0) return { deploy: false, ignored: `repository ${url} is not in stackpilot.yml` };
    const tracked = [...new Set(known.map((s) => s.stageConfig.branch))].join(', ');
    return { deploy: false, ignored: `branch ${branch} of ${url} is not tracked (tracked: ${tracked})` };
  }

  const deployments: Deployment[] = [];
  const skipped: Skipped[] = [];
  for (const target of stages) {
    const { app, stage, appConfig, stageConfig } = target;
    if (stageConfig.promoteFrom) {
      skipped.push({
        app,
        stage,
        reason: `stage ${stage} of app ${app} moves only by promotion from ${stageConfig.promoteFrom} (stackpilot promote ${app} ${stageConfig.promoteFrom} ${stage})`,
      });
      continue;
    }
    const watched = watchedChange(target, push);
    if (!watched.deploy) {
      skipped.push({ app, stage, reason: watched.reason });
      continue;
    }
    deployments.push({
      app,
      stage,
      executionName: executionName(app, stage, deliveryId),
      input: {
        app,
        stage,
        // The configured repository: the clone step finds its token secret by app, and the
        // configured URL is the one the operator vouched for.
        repository: { provider: appConfig.repository.provider, url: appConfig.repository.url },
        ref,
        commit: push.commit,
        deliveryId,
        ...(watched.changedSince ? { changedSince: watched.changedSince } : {}),
      },
    });
  }
  if (deployments.length === 0) return { deploy: false, ignored: skipped.map((s) => s.reason).join('; ') };
  return { deploy: true, deployments, skipped };
}

type Watched = { deploy: true; changedSince?: string } | { deploy: false; reason: string };

/**
 * Whether the push changed a path the stage's app watches. When the payload cannot tell, the
 * stage deploys: with the commit before the push, for Package Source to compare the trees,
 * or (a new branch) without, as a push to an app without watchPaths does.
 */
function watchedChange({ app, appConfig }: StageRef, push: Push): Watched {
  const globs = watchGlobs(appConfig);
  if (!globs) return { deploy: true };
  const { changes } = push;
  if (!changes.known)
    return changes.before ? { deploy: true, changedSince: changes.before } : { deploy: true };
  const matches = pathMatcher(globs);
  if (changes.paths.some(matches)) return { deploy: true };
  const what = changes.paths.length === 0 ? 'no file' : samplePaths(changes.paths);
  return {
    deploy: false,
    reason: `the push changes none of app ${app}'s paths (${globs.join(', ')}): it changes ${what}`,
  };
}
