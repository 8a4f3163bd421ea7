/**
 * GitLab webhook deliveries: the Push Hook and Tag Push Hook fields stackpilot reads.
 * Everything else passes through untouched. Samples: `events/samples/gitlab-push.json`,
 * `events/samples/gitlab-tag-push.json`.
 */
import * as z from 'zod';
import { commitId, pushedCommit } from './github.ts';

/** `X-Gitlab-Event` of a branch push. */
export const GITLAB_PUSH_EVENT = 'Push Hook';
/** `X-Gitlab-Event` of a tag push (creation or deletion). */
export const GITLAB_TAG_PUSH_EVENT = 'Tag Push Hook';

const project = z.looseObject({
  path_with_namespace: z.string().optional(),
  /** `https://gitlab.example.com/<group>/<project>.git`: what `stackpilot.yml` usually names. */
  git_http_url: z.url({ protocol: /^https?$/ }),
  /** `https://gitlab.example.com/<group>/<project>`. */
  web_url: z.url({ protocol: /^https?$/ }),
});

const common = {
  /** `refs/heads/<branch>` or `refs/tags/<tag>`. */
  ref: z.string().min(1),
  before: commitId,
  /** The commit the ref points to after the push; all zeros when the ref was deleted. */
  after: commitId,
  /** The ref's head after the push; null when the ref was deleted. */
  checkout_sha: commitId.nullable(),
  project,
  /** The pushed commits with their added/modified/removed paths; GitLab lists at most 20. */
  commits: z.array(pushedCommit).optional(),
  /** How many commits were pushed: more than `commits` holds when GitLab cut the list. */
  total_commits_count: z.number().int().nonnegative().optional(),
};

/** Body of a GitLab Push Hook. */
export const gitlabPushSchema = z.looseObject({ object_kind: z.literal('push'), ...common });
/** Body of a GitLab Tag Push Hook. */
export const gitlabTagPushSchema = z.looseObject({ object_kind: z.literal('tag_push'), ...common });
/** Either push body, told apart by `object_kind`. */
export const gitlabPushEventSchema = z.discriminatedUnion('object_kind', [
  gitlabPushSchema,
  gitlabTagPushSchema,
]);

export type GitlabPush = z.output<typeof gitlabPushSchema>;
export type GitlabPushEvent = z.output<typeof gitlabPushEventSchema>;
