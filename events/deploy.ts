/**
 * Input of the `deploy` state machine: what the webhook starts it with, and what an
 * operator pastes into the console to deploy a given commit (`events/samples/deploy-input.json`).
 */
import * as z from 'zod';

export const deployInputSchema = z
  .object({
    app: z.string().min(1),
    stage: z.string().min(1),
    repository: z
      .object({
        provider: z.enum(['github', 'gitlab']),
        /** HTTPS clone URL. */
        url: z.url({ protocol: /^https?$/ }),
      })
      .strict(),
    /**
     * Full ref that was pushed, e.g. `refs/heads/main`; for a preview, the pull request's head
     * (`refs/pull/<n>/head` on GitHub, `refs/merge-requests/<n>/head` on GitLab).
     */
    ref: z
      .string()
      .regex(
        /^refs\/(heads\/.+|pull\/\d+\/head|merge-requests\/\d+\/head)$/,
        'a branch ref such as "refs/heads/main" (or a pull request head "refs/pull/<n>/head")',
      ),
    /** The exact commit to deploy: 40 hex digits (SHA-1) or 64 (SHA-256 repositories). */
    commit: z
      .string()
      .regex(/^([0-9a-f]{40}|[0-9a-f]{64})$/, 'a full commit id (40 or 64 lowercase hex digits)'),
    /** Webhook delivery id, or any unique id for a console start. */
    deliveryId: z.string().min(1).max(128),
    /**
     * Monorepos: the commit the branch was at before the push, when the push payload could not
     * tell which files changed. Package Source compares the two trees and ends the deploy as
     * skipped when none of the app's watched paths changed. Absent: deploy whatever changed.
     */
    changedSince: z
      .string()
      .regex(/^([0-9a-f]{40}|[0-9a-f]{64})$/, 'a full commit id (40 or 64 lowercase hex digits)')
      .optional(),
    /**
     * A preview (docs/previews.md): build the pull request's head into the stage's preview
     * pipeline instead of deploying the stage. `branch` is the pull request's head branch.
     */
    preview: z
      .object({ number: z.number().int().min(1).max(99_999_999), branch: z.string().min(1).optional() })
      .strict()
      .optional(),
  })
  .strict()
  .refine((input) => input.preview !== undefined || input.ref.startsWith('refs/heads/'), {
    message: 'only a preview deploys a pull request head; a stage deploys a branch ("refs/heads/…")',
    path: ['ref'],
  });

export type DeployInput = z.output<typeof deployInputSchema>;
