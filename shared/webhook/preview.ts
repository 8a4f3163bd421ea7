/**
 * What a verified pull (merge) request event means for previews (docs/previews.md, "Pull request
 * events"): for each app with `previews` whose repository is the pull request's base, deploy
 * the head (the `deploy` state machine with `preview`), remove the preview (the `preview`
 * state machine), or nothing, with the reason. Pure: no AWS, no clock; the open previews are
 * an argument.
 */
import type { DeployInput } from '#events/deploy.ts';
import type { RemovePreviewInput } from '#events/preview.ts';
import { type AppConfig, normalizeRepoUrl, type StackpilotConfig } from '#shared/config.ts';
import { executionName, type Skipped } from './decide.ts';
import { type PullRequest, pullRequestLabel } from './pull-request.ts';

/** What the event asks of a preview, before any app is looked at. */
export type PreviewChange =
  | { readonly kind: 'deploy' }
  | { readonly kind: 'remove'; readonly reason: 'closed' | 'merged' }
  | { readonly kind: 'ignored'; readonly reason: string };

/** GitHub actions that deploy the head; `closed` removes; every other action changes no code. */
const GITHUB_DEPLOY_ACTIONS = new Set(['opened', 'synchronize', 'reopened']);
/** GitLab actions that deploy the head (`update` only with new commits); `close` and `merge` remove. */
const GITLAB_DEPLOY_ACTIONS = new Set(['open', 'reopen']);

/** What the pull request's action asks: deploy, remove (closed or merged), or nothing. */
export function previewChange(pr: PullRequest): PreviewChange {
  const { action } = pr;
  const label = pullRequestLabel(pr);
  if (pr.provider === 'github') {
    if (action !== undefined && GITHUB_DEPLOY_ACTIONS.has(action)) return { kind: 'deploy' };
    if (action === 'closed') return { kind: 'remove', reason: pr.merged ? 'merged' : 'closed' };
    return {
      kind: 'ignored',
      reason: `${label}: action "${action}" does not change a preview (opened, synchronize and reopened deploy it; closed removes it)`,
    };
  }
  if (action !== undefined && GITLAB_DEPLOY_ACTIONS.has(action)) return { kind: 'deploy' };
  if (action === 'update') {
    return pr.newCommits
      ? { kind: 'deploy' }
      : {
          kind: 'ignored',
          reason: `${label}: an update without new commits (no oldrev) leaves the preview as it is`,
        };
  }
  if (action === 'close') return { kind: 'remove', reason: 'closed' };
  if (action === 'merge') return { kind: 'remove', reason: 'merged' };
  return {
    kind: 'ignored',
    reason: `${label}: ${action === undefined ? 'no action' : `action "${action}"`} does not change a preview (open, reopen and update with new commits deploy it; close and merge remove it)`,
  };
}

/** An app that runs previews of the pull request's repository, and the stage they run in. */
export interface PreviewTarget {
  readonly app: string;
  /** `previews.stage`. */
  readonly stage: string;
  readonly appConfig: AppConfig;
  readonly previews: NonNullable<AppConfig['previews']>;
}

/** The apps with `previews` whose repository is the pull request's base (URLs compared normalized, as for pushes). */
export function previewTargets(
  config: StackpilotConfig,
  pr: Pick<PullRequest, 'repositoryUrls'>,
): PreviewTarget[] {
  const wanted = new Set(pr.repositoryUrls.map(normalizeRepoUrl));
  return Object.entries(config.apps).flatMap(([app, appConfig]) =>
    appConfig.previews && wanted.has(normalizeRepoUrl(appConfig.repository.url))
      ? [{ app, stage: appConfig.previews.stage, appConfig, previews: appConfig.previews }]
      : [],
  );
}

/** One execution to start for a preview: a deploy of the head, or a removal. */
export type PreviewStart =
  | {
      readonly action: 'deploy';
      readonly app: string;
      readonly stage: string;
      readonly number: number;
      readonly executionName: string;
      /** Input of the `deploy` state machine. */
      readonly input: DeployInput;
    }
  | {
      readonly action: 'remove';
      readonly app: string;
      readonly stage: string;
      readonly number: number;
      readonly executionName: string;
      /** Input of the `preview` state machine. */
      readonly input: RemovePreviewInput;
    };

export type PreviewDecision =
  /** Start these; `skipped` (forks) and `refused` (over `max`) name the apps left out, each with why. */
  | {
      readonly outcome: 'start';
      readonly starts: PreviewStart[];
      readonly skipped: Skipped[];
      readonly refused: Skipped[];
    }
  /** Every app that would deploy the preview is at its `max` (HTTP 409). */
  | {
      readonly outcome: 'refused';
      readonly message: string;
      readonly refused: Skipped[];
      readonly skipped: Skipped[];
    }
  | { readonly outcome: 'ignored'; readonly ignored: string };

/**
 * The open previews of a stage, by number (the preview records, `listPreviewNumbers`).
 * Called only for a deploy, once per target.
 */
export type OpenPreviews = (app: string, stage: string) => readonly number[];

/**
 * The execution name of one preview change for one delivery: `<app>-<stage>-pr-<n>-<deliveryId>`,
 * shortened and hashed like a push's ({@link executionName}) when the id does not fit.
 */
export function previewExecutionName(app: string, stage: string, number: number, deliveryId: string): string {
  return executionName(app, `${stage}-pr-${number}`, deliveryId);
}

/** Why no app takes the pull request's repository: none names it, or none that does has previews. */
function noTarget(config: StackpilotConfig, pr: PullRequest): string {
  const url = pr.repositoryUrls[0] ?? '(no repository URL)';
  const wanted = new Set(pr.repositoryUrls.map(normalizeRepoUrl));
  const apps = Object.entries(config.apps)
    .filter(([, appConfig]) => wanted.has(normalizeRepoUrl(appConfig.repository.url)))
    .map(([app]) => app);
  if (apps.length === 0) return `repository ${url} is not in stackpilot.yml`;
  return `no app of repository ${url} has previews (${apps.join(', ')}: add "previews: { stage: … }" to run one per ${pr.provider === 'github' ? 'pull' : 'merge'} request)`;
}

/**
 * Decides a verified pull request event for every app with previews of its repository.
 * - opened / synchronize / reopened (GitLab: open / reopen / update with new commits) deploy
 *   the head commit into `previews.stage`, from `refs/pull/<n>/head` (GitLab
 *   `refs/merge-requests/<iid>/head`), unless the pull request comes from a fork and the app
 *   does not allow forks (skipped), or the stage already runs `max` previews and this number
 *   is not one of them (refused);
 * - closed (GitLab: close / merge) removes the preview, reason `merged` or `closed`. A removal
 *   runs none of the pull request's code, so it is started for forks too (a preview may exist
 *   from when `forks` was allowed; removing one that does not exist changes nothing);
 * - anything else is ignored, with the reason.
 */
export function decidePreview(
  config: StackpilotConfig,
  pr: PullRequest,
  deliveryId: string,
  openNumbers: OpenPreviews,
): PreviewDecision {
  const change = previewChange(pr);
  if (change.kind === 'ignored') return { outcome: 'ignored', ignored: change.reason };
  const targets = previewTargets(config, pr);
  if (targets.length === 0) return { outcome: 'ignored', ignored: noTarget(config, pr) };
  const { number } = pr;
  const label = pullRequestLabel(pr);

  if (change.kind === 'remove') {
    const starts: PreviewStart[] = targets.map(({ app, stage }) => ({
      action: 'remove',
      app,
      stage,
      number,
      executionName: previewExecutionName(app, stage, number, deliveryId),
      input: { app, stage, number, action: 'remove', reason: change.reason },
    }));
    return { outcome: 'start', starts, skipped: [], refused: [] };
  }

  const { commit } = pr;
  if (commit === undefined)
    return { outcome: 'ignored', ignored: `${label}: the payload names no head commit (last_commit)` };
  const starts: PreviewStart[] = [];
  const skipped: Skipped[] = [];
  const refused: Skipped[] = [];
  for (const { app, stage, appConfig, previews } of targets) {
    if (pr.fork && !previews.forks) {
      skipped.push({
        app,
        stage,
        reason: `${label} comes from a fork (${pr.headRepository}): app ${app} previews forks only with previews.forks: true`,
      });
      continue;
    }
    const open = openNumbers(app, stage);
    if (!open.includes(number) && open.length >= previews.max) {
      refused.push({
        app,
        stage,
        reason: `app ${app} already runs ${open.length} previews in stage ${stage} (previews.max ${previews.max}: ${open.map((n) => `pr-${n}`).join(', ')}): ${label} gets none until one of them closes`,
      });
      continue;
    }
    starts.push({
      action: 'deploy',
      app,
      stage,
      number,
      executionName: previewExecutionName(app, stage, number, deliveryId),
      input: {
        app,
        stage,
        // The configured repository, as for pushes: the clone step finds its token secret by
        // app, and the configured URL is the one the operator vouched for. It is the base
        // repository (that is how the app was matched), which serves the head ref of forks too.
        repository: { provider: appConfig.repository.provider, url: appConfig.repository.url },
        ref: pr.provider === 'github' ? `refs/pull/${number}/head` : `refs/merge-requests/${number}/head`,
        commit,
        deliveryId,
        preview: { number, branch: pr.branch },
      },
    });
  }
  if (starts.length > 0) return { outcome: 'start', starts, skipped, refused };
  if (refused.length > 0)
    return { outcome: 'refused', message: refused.map((r) => r.reason).join('; '), refused, skipped };
  return { outcome: 'ignored', ignored: skipped.map((s) => s.reason).join('; ') };
}
