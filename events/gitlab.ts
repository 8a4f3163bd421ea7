/**
 * GitLab webhook deliveries: the Push Hook, Tag Push Hook and Merge Request Hook fields
 * stackpilot reads. Everything else passes through untouched. Samples:
 * `events/samples/gitlab-push.json`, `events/samples/gitlab-tag-push.json`,
 * `events/samples/gitlab-merge-request.json`.
 */
import * as z from 'zod';
import { commitId, pushedCommit } from './github.ts';
import { previewNumber } from './preview.ts';

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

/** `X-Gitlab-Event` of a merge request event. */
export const GITLAB_MERGE_REQUEST_EVENT = 'Merge Request Hook';

/**
 * Body of a GitLab Merge Request Hook: the fields previews read (docs/previews.md).
 * Sample: `events/samples/gitlab-merge-request.json` (GitLab's documented payload).
 */
export const gitlabMergeRequestSchema = z.looseObject({
  object_kind: z.literal('merge_request'),
  /** The project the webhook belongs to: the merge request's target project. */
  project,
  object_attributes: z.looseObject({
    /** The merge request's number in its target project (`!<iid>`). */
    iid: previewNumber,
    /**
     * `open`, `reopen`, `update`, `close`, `merge`, and approval actions. Absent from some
     * deliveries (GitLab's "Test" button on older versions).
     */
    action: z.string().min(1).optional(),
    /** The head branch, in the source project. */
    source_branch: z.string().min(1),
    /** The project the head branch lives in; differs from the target for a fork (null when it was deleted). */
    source_project_id: z.number().int().nullable(),
    target_project_id: z.number().int(),
    /** The target project; the same as `project` for a project webhook. */
    target: project.partial().optional(),
    /** The head commit. */
    last_commit: z.looseObject({ id: commitId }).nullable().optional(),
    /** Present on an `update` only when it brought new commits: the head before them. */
    oldrev: commitId.nullable().optional(),
  }),
});

export type GitlabMergeRequest = z.output<typeof gitlabMergeRequestSchema>;
