/**
 * A preview's record (docs/previews.md): one JSON object per open preview in the control plane's
 * source bucket, at `previewNames(app, stage, number).recordKey`. The `preview` state machine
 * writes it when a preview serves and deletes it last when the preview is removed; the webhook
 * counts them against `previews.max`, the hourly expiry reads `updatedAt`, and
 * `stackpilot status` lists them.
 */
import * as z from 'zod';

/** Name of the environment variable holding the ARN of the `preview` state machine (the webhook and the expiry start it). */
export const PREVIEW_STATE_MACHINE_ARN_ENV = 'PREVIEW_STATE_MACHINE_ARN';

export const previewRecordSchema = z
  .object({
    app: z.string().min(1),
    stage: z.string().min(1),
    number: z.number().int().min(1),
    /** The commit the preview runs. */
    commit: z.string().min(1),
    image: z.string().min(1),
    /** Full URL of the preview: the stage's front door URL and `/pr-<number>/`. */
    url: z.string().min(1),
    /**
     * `deploying` from the moment the preview's resources are made (so a failed deploy still
     * has a record that removal and expiry find), `serving` once its task is healthy, `failed`
     * when its last deploy failed (`error` says why).
     */
    status: z.enum(['deploying', 'serving', 'failed']).default('serving'),
    error: z.string().min(1).optional(),
    /** The pull request's head branch, for people reading the list. */
    branch: z.string().min(1).optional(),
    /** When the preview first served, and when a push last updated it (ISO 8601). */
    createdAt: z.string().min(1),
    updatedAt: z.string().min(1),
  })
  .strict();

export type PreviewRecord = z.output<typeof previewRecordSchema>;

/** True when no push has updated the preview for `ttlHours`. */
export function isExpired(record: Pick<PreviewRecord, 'updatedAt'>, ttlHours: number, now: number): boolean {
  return now - Date.parse(record.updatedAt) >= ttlHours * 3_600_000;
}

/** The URL of preview `number` on a stage whose front door is `frontDoorUrl` (with or without a trailing slash). */
export function previewUrl(frontDoorUrl: string, number: number): string {
  return `${frontDoorUrl.replace(/\/+$/, '')}/pr-${number}/`;
}
