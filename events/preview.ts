/**
 * Input of the `preview` state machine (docs/previews.md): what the preview pipeline starts it
 * with once the image is built, what the webhook starts it with when a pull request closes,
 * what the hourly expiry starts it with, and what an operator pastes into the console
 * (`events/samples/preview-*.json`).
 *
 * - deploy `{app, stage, number, action: "deploy", image, commit}`: run (or update) the preview
 *   of pull request `number` with `image`;
 * - remove `{app, stage, number, action: "remove", reason}`: delete its service, route, task
 *   definitions and records.
 */
import * as z from 'zod';

const name = z.string().regex(/^[a-z][a-z0-9-]{0,19}$/, 'an app or stage name from stackpilot.yml');

/** A pull request (GitHub) or merge request (GitLab, its `iid`) number. */
export const previewNumber = z.number().int().min(1).max(99_999_999);

/**
 * The number as the preview pipeline passes it: CodePipeline resolves `#{variables.PREVIEW}`
 * to a string inside the action's JSON input, so digits are taken as the number they spell.
 */
const previewNumberInput = z.union([
  previewNumber,
  z
    .string()
    .regex(/^[1-9][0-9]{0,7}$/, 'a pull request number')
    .transform(Number),
]);

const commit = z
  .string()
  .regex(/^([0-9a-f]{40}|[0-9a-f]{64})$/, 'a full commit id (40 or 64 lowercase hex digits)');

export const deployPreviewInputSchema = z
  .object({
    app: name,
    /** The stage the previews run in (`previews.stage` in stackpilot.yml). */
    stage: name,
    number: previewNumberInput,
    action: z.literal('deploy'),
    /** The image the preview pipeline built, in the app's preview repository (`stackpilot/<app>/previews`). */
    image: z.string().min(1).max(255),
    commit,
    /** The pull request's head branch, for the preview list (`-` or absent: not known). */
    branch: z.string().min(1).max(255).optional(),
  })
  .strict();

/** Why a preview goes: its pull request closed or merged, its TTL ran out, or an operator removed it. */
export const removalReasons = ['closed', 'merged', 'expired', 'operator'] as const;

export const removePreviewInputSchema = z
  .object({
    app: name,
    stage: name,
    number: previewNumberInput,
    action: z.literal('remove'),
    reason: z.enum(removalReasons).default('operator'),
  })
  .strict();

export const previewInputSchema = z.discriminatedUnion('action', [
  deployPreviewInputSchema,
  removePreviewInputSchema,
]);

export type PreviewInput = z.output<typeof previewInputSchema>;
export type DeployPreviewInput = z.output<typeof deployPreviewInputSchema>;
export type RemovePreviewInput = z.output<typeof removePreviewInputSchema>;
