/**
 * Push payloads of both providers, parsed with their schemas (`events/github.ts`,
 * `events/gitlab.ts`) into one provider-neutral {@link Push}. Only called on verified bodies.
 */

import type { z } from 'zod';
import { type GithubPush, githubPushSchema } from '#events/github.ts';
import { type GitlabPushEvent, gitlabPushEventSchema } from '#events/gitlab.ts';
import type { Provider } from './request.ts';

/** What the deploy decision needs to know about a push, whoever sent it. */
export interface Push {
  readonly provider: Provider;
  /** The pushed ref: `refs/heads/<branch>`, `refs/tags/<tag>`, or another ref. */
  readonly ref: string;
  /** The commit the ref points to after the push (all zeros when it was deleted). */
  readonly commit: string;
  /** The ref was deleted by this push. */
  readonly deleted: boolean;
  /** The provider reported a tag push (GitLab's `tag_push`; GitHub only says so through the ref). */
  readonly tagPush: boolean;
  /** The repository's URLs as the provider reports them, clone URL first. */
  readonly repositoryUrls: readonly string[];
  /** What the push changed, as far as its payload tells (which monorepo apps it deploys). */
  readonly changes: PushChanges;
}

/**
 * The paths a push changed. `known`: every path the payload's commits added, modified or
 * removed, when the payload lists all of them. Otherwise the reason it cannot tell, and the
 * commit before the push when comparing with it could (Package Source compares the trees);
 * no `before` for a new branch, which has nothing to compare with.
 */
export type PushChanges =
  | { readonly known: true; readonly paths: readonly string[] }
  | { readonly known: false; readonly reason: string; readonly before?: string };

/** The commits GitHub's Events API lists at most; a webhook payload with that many may be cut short too. */
export const GITHUB_LISTED_COMMITS = 20;

export type Parsed<T> = { ok: true; value: T } | { ok: false; status: 400; message: string };

const ZERO_COMMIT = /^0+$/;

/**
 * The JSON document of a body: `application/json`, or GitHub's form encoding
 * (`application/x-www-form-urlencoded` with the JSON in the `payload` field).
 */
export function parseJsonBody(bytes: Uint8Array, contentType: string | undefined): Parsed<unknown> {
  if (bytes.length === 0)
    return { ok: false, status: 400, message: 'body is empty; expected a JSON push payload' };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { ok: false, status: 400, message: 'body is not UTF-8 text; expected a JSON push payload' };
  }
  if (contentType?.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    const payload = new URLSearchParams(text).get('payload');
    if (payload === null) {
      return {
        ok: false,
        status: 400,
        message: 'form-encoded body has no "payload" field; set the webhook content type to application/json',
      };
    }
    text = payload;
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, status: 400, message: `body is not JSON: ${(error as Error).message}` };
  }
}

/** A 400 message naming the first bad fields of a body that is not a `what` payload. */
export function describe(error: z.ZodError, what: string): string {
  const problems = error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
  const more = error.issues.length > 5 ? ` (and ${error.issues.length - 5} more)` : '';
  return `body is not a ${what} payload: ${problems.join('; ')}${more}`;
}

type Listed = ReadonlyArray<{ added?: string[]; modified?: string[]; removed?: string[] }>;

/** Every path the listed commits touched, once. */
function touched(commits: Listed): string[] {
  const paths = new Set<string>();
  for (const c of commits)
    for (const p of [...(c.added ?? []), ...(c.modified ?? []), ...(c.removed ?? [])]) paths.add(p);
  return [...paths];
}

function githubChanges(body: GithubPush): PushChanges {
  if (body.created === true || ZERO_COMMIT.test(body.before))
    return { known: false, reason: 'a new branch: nothing to compare with' };
  const before = body.before;
  if (body.forced === true)
    return { known: false, reason: 'a forced push: the commits listed are not all that changed', before };
  const commits = body.commits ?? [];
  if (commits.length === 0) return { known: false, reason: 'the payload lists no commits', before };
  const size = body.size ?? body.distinct_size;
  const cut = size === undefined ? commits.length >= GITHUB_LISTED_COMMITS : size > commits.length;
  if (cut)
    return {
      known: false,
      reason: `the payload lists ${commits.length} commits${size === undefined ? ', maybe not all' : ` of ${size}`}`,
      before,
    };
  return { known: true, paths: touched(commits) };
}

function gitlabChanges(body: GitlabPushEvent): PushChanges {
  if (ZERO_COMMIT.test(body.before)) return { known: false, reason: 'a new branch: nothing to compare with' };
  const before = body.before;
  const commits = body.commits ?? [];
  if (commits.length === 0) return { known: false, reason: 'the payload lists no commits', before };
  const total = body.total_commits_count;
  if (total === undefined || total > commits.length)
    return {
      known: false,
      reason: `the payload lists ${commits.length} commits${total === undefined ? ', maybe not all' : ` of ${total}`}`,
      before,
    };
  return { known: true, paths: touched(commits) };
}

function fromGithub(body: GithubPush): Push {
  return {
    provider: 'github',
    ref: body.ref,
    commit: body.after,
    deleted: body.deleted === true || ZERO_COMMIT.test(body.after),
    tagPush: false,
    repositoryUrls: [body.repository.clone_url, body.repository.html_url],
    changes: githubChanges(body),
  };
}

function fromGitlab(body: GitlabPushEvent): Push {
  const commit = body.checkout_sha ?? body.after;
  return {
    provider: 'gitlab',
    ref: body.ref,
    commit,
    deleted: body.checkout_sha === null || ZERO_COMMIT.test(body.after),
    tagPush: body.object_kind === 'tag_push',
    repositoryUrls: [body.project.git_http_url, body.project.web_url],
    changes: gitlabChanges(body),
  };
}

/** Parses a verified GitHub `push` body. */
export function parseGithubPush(document: unknown): Parsed<Push> {
  const result = githubPushSchema.safeParse(document);
  return result.success
    ? { ok: true, value: fromGithub(result.data) }
    : { ok: false, status: 400, message: describe(result.error, 'GitHub push') };
}

/** Parses a verified GitLab Push Hook or Tag Push Hook body. */
export function parseGitlabPush(document: unknown): Parsed<Push> {
  const result = gitlabPushEventSchema.safeParse(document);
  return result.success
    ? { ok: true, value: fromGitlab(result.data) }
    : { ok: false, status: 400, message: describe(result.error, 'GitLab push') };
}
