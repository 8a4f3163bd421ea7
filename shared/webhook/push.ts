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
}

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

function describe(error: z.ZodError, what: string): string {
  const problems = error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
  const more = error.issues.length > 5 ? ` (and ${error.issues.length - 5} more)` : '';
  return `body is not a ${what} payload: ${problems.join('; ')}${more}`;
}

function fromGithub(body: GithubPush): Push {
  return {
    provider: 'github',
    ref: body.ref,
    commit: body.after,
    deleted: body.deleted === true || ZERO_COMMIT.test(body.after),
    tagPush: false,
    repositoryUrls: [body.repository.clone_url, body.repository.html_url],
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
