/**
 * GitHub webhook deliveries: the push and pull_request event fields stackpilot reads.
 * Everything else in the payload passes through untouched (GitHub adds fields over time; the
 * schema must not reject a delivery because of them). Samples: `events/samples/github-push.json`,
 * `events/samples/github-pull-request-*.json`.
 */
import * as z from 'zod';
import { previewNumber } from './preview.ts';

/** A full commit id: 40 hex digits (SHA-1) or 64 (SHA-256 repositories); all zeros for a deletion. */
export const commitId = z
  .string()
  .regex(/^([0-9a-f]{40}|[0-9a-f]{64})$/, 'a full commit id (40 or 64 lowercase hex digits)');

/** The `X-GitHub-Event` header of a push delivery. */
export const GITHUB_PUSH_EVENT = 'push';
/** The `X-GitHub-Event` header GitHub sends once when a webhook is created. */
export const GITHUB_PING_EVENT = 'ping';

/** One commit of a push, as both providers list it: the paths it changed, from the repository root. */
export const pushedCommit = z.looseObject({
  added: z.array(z.string()).optional(),
  modified: z.array(z.string()).optional(),
  removed: z.array(z.string()).optional(),
});

/** Body of a GitHub `push` delivery (branch and tag pushes, creations and deletions). */
export const githubPushSchema = z.looseObject({
  /** `refs/heads/<branch>` or `refs/tags/<tag>`. */
  ref: z.string().min(1),
  before: commitId,
  /** The commit the ref points to after the push; all zeros when the ref was deleted. */
  after: commitId,
  created: z.boolean().optional(),
  deleted: z.boolean().optional(),
  forced: z.boolean().optional(),
  /**
   * The pushed commits, oldest first, each with the paths it added, modified and removed
   * (what decides which monorepo apps a push deploys). GitHub may cut the list short.
   */
  commits: z.array(pushedCommit).optional(),
  /** Number of commits pushed, when GitHub says so (more than `commits` holds: the list was cut). */
  size: z.number().int().nonnegative().optional(),
  distinct_size: z.number().int().nonnegative().optional(),
  repository: z.looseObject({
    full_name: z.string().optional(),
    /** `https://github.com/<owner>/<repo>.git`: what `stackpilot.yml` usually names. */
    clone_url: z.url({ protocol: /^https?$/ }),
    /** `https://github.com/<owner>/<repo>`. */
    html_url: z.url({ protocol: /^https?$/ }),
  }),
});

export type GithubPush = z.output<typeof githubPushSchema>;

/** The `X-GitHub-Event` header of a pull request delivery. */
export const GITHUB_PULL_REQUEST_EVENT = 'pull_request';

/** A repository as a pull request's `base.repo` (and a same-repository `head.repo`) reports it. */
const pullRequestRepository = z.looseObject({
  /** `<owner>/<repo>`: a head repository with another name is a fork. */
  full_name: z.string().min(1),
  clone_url: z.url({ protocol: /^https?$/ }),
  html_url: z.url({ protocol: /^https?$/ }),
});

/**
 * Body of a GitHub `pull_request` delivery: the fields previews read (docs/previews.md).
 * Samples: `events/samples/github-pull-request-*.json` (from `@octokit/webhooks-examples`).
 */
export const githubPullRequestSchema = z.looseObject({
  /** `opened`, `synchronize`, `reopened`, `closed`, and many that do not change the code (`labeled`, …). */
  action: z.string().min(1),
  /** The pull request's number, unique in the base repository (forks included). */
  number: previewNumber,
  pull_request: z.looseObject({
    /** True on a `closed` delivery when the pull request was merged. */
    merged: z.boolean().nullable().optional(),
    head: z.looseObject({
      /** The head branch's name (no `refs/heads/`), in the head repository. */
      ref: z.string().min(1),
      sha: commitId,
      /** The repository the head branch lives in; null when that fork was deleted. */
      repo: z.looseObject({ full_name: z.string().min(1) }).nullable(),
    }),
    base: z.looseObject({
      ref: z.string().min(1),
      /** The repository the pull request is made to: the one `stackpilot.yml` names. */
      repo: pullRequestRepository,
    }),
  }),
});

export type GithubPullRequest = z.output<typeof githubPullRequestSchema>;
