/**
 * Pull request payloads of both providers (GitHub `pull_request`, GitLab Merge Request Hook),
 * parsed with their schemas (`events/github.ts`, `events/gitlab.ts`) into one provider-neutral
 * {@link PullRequest}. Only called on verified bodies.
 */
import { type GithubPullRequest, githubPullRequestSchema } from '#events/github.ts';
import { type GitlabMergeRequest, gitlabMergeRequestSchema } from '#events/gitlab.ts';
import { describe, type Parsed } from './push.ts';
import type { Provider } from './request.ts';

/** What the preview decision needs to know about a pull (merge) request event, whoever sent it. */
export interface PullRequest {
  readonly provider: Provider;
  /** GitHub's pull request number, GitLab's merge request `iid`: what names the preview. */
  readonly number: number;
  /** The provider's action as sent (`opened`, `synchronize`, … / `open`, `update`, …); undefined when GitLab sent none. */
  readonly action: string | undefined;
  /** The head commit; undefined when a GitLab payload carries no `last_commit`. */
  readonly commit: string | undefined;
  /** The head branch's name (no `refs/heads/`). */
  readonly branch: string;
  /**
   * The head lives in another repository than the base: GitHub `head.repo.full_name` differs
   * from `base.repo.full_name` (or the head repository is gone); GitLab `source_project_id`
   * differs from `target_project_id` (or is null).
   */
  readonly fork: boolean;
  /** Where the head repository is, for messages: GitHub's `<owner>/<repo>`, GitLab's project id. */
  readonly headRepository: string;
  /** GitHub `closed`: the pull request was merged (GitLab says so with the `merge` action). */
  readonly merged: boolean;
  /**
   * GitLab `update`: whether it brought new commits (`oldrev` is present only then). Undefined
   * for GitHub, whose `synchronize` action is itself the "new commits" event.
   */
  readonly newCommits: boolean | undefined;
  /** The base (target) repository's URLs as the provider reports them, clone URL first. */
  readonly repositoryUrls: readonly string[];
}

/** "pull request #2" or "merge request !2": how each provider's users name it. */
export function pullRequestLabel(pr: Pick<PullRequest, 'provider' | 'number'>): string {
  return pr.provider === 'github' ? `pull request #${pr.number}` : `merge request !${pr.number}`;
}

function fromGithub(body: GithubPullRequest): PullRequest {
  const { head, base } = body.pull_request;
  const headName = head.repo?.full_name;
  return {
    provider: 'github',
    number: body.number,
    action: body.action,
    commit: head.sha,
    branch: head.ref,
    // Repository names are case-insensitive on GitHub.
    fork: headName === undefined || headName.toLowerCase() !== base.repo.full_name.toLowerCase(),
    headRepository: headName ?? '(a deleted repository)',
    merged: body.pull_request.merged === true,
    newCommits: undefined,
    repositoryUrls: [base.repo.clone_url, base.repo.html_url],
  };
}

function fromGitlab(body: GitlabMergeRequest): PullRequest {
  const attributes = body.object_attributes;
  const { source_project_id: source, target_project_id: target } = attributes;
  const urls = [
    body.project.git_http_url,
    body.project.web_url,
    attributes.target?.git_http_url,
    attributes.target?.web_url,
  ].filter((url): url is string => url !== undefined);
  return {
    provider: 'gitlab',
    number: attributes.iid,
    action: attributes.action,
    commit: attributes.last_commit?.id,
    branch: attributes.source_branch,
    fork: source === null || source !== target,
    headRepository: source === null ? '(a deleted project)' : `project ${source}`,
    merged: attributes.action === 'merge',
    newCommits: typeof attributes.oldrev === 'string',
    repositoryUrls: [...new Set(urls)],
  };
}

/** Parses a verified GitHub `pull_request` body. */
export function parseGithubPullRequest(document: unknown): Parsed<PullRequest> {
  const result = githubPullRequestSchema.safeParse(document);
  return result.success
    ? { ok: true, value: fromGithub(result.data) }
    : { ok: false, status: 400, message: describe(result.error, 'GitHub pull_request') };
}

/** Parses a verified GitLab Merge Request Hook body. */
export function parseGitlabMergeRequest(document: unknown): Parsed<PullRequest> {
  const result = gitlabMergeRequestSchema.safeParse(document);
  return result.success
    ? { ok: true, value: fromGitlab(result.data) }
    : { ok: false, status: 400, message: describe(result.error, 'GitLab merge request') };
}
