/**
 * GitHub webhook deliveries: the push event fields stackpilot reads. Everything else in
 * the payload passes through untouched (GitHub adds fields over time; the schema must not
 * reject a delivery because of them). Sample: `events/samples/github-push.json`.
 */
import * as z from 'zod';

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
