/**
 * Input of the `release` state machine: what the pipeline's Release stage starts it with,
 * and what an operator pastes into the console to redeploy an image or roll back
 * (`events/samples/release-*.json`).
 *
 * Three shapes, told apart by their fields:
 * - release `{app, stage, image, commit?}`: the pipeline, after the build pushed `image`;
 * - redeploy `{app, stage, image}`: the same without a commit (an operator re-releasing an image);
 * - promote `{app, stage, image, promotedFrom}`: the image released in another stage of the app
 *   (`stackpilot promote`, `events/samples/release-promote.json`);
 * - rollback `{app, stage, action: "rollback", toRevision?}`: back to the named task-definition
 *   revision, or to the newest successful release other than the one running.
 */
import * as z from 'zod';
import { ecrRepositoryName } from './names.ts';

const name = z.string().regex(/^[a-z][a-z0-9-]{0,19}$/, 'an app or stage name from stackpilot.yml');

/** A container image reference: `<registry>/<repository>[:tag][@sha256:<digest>]`. */
const image = z
  .string()
  .min(1)
  .max(255)
  .regex(
    /^[a-z0-9.-]+(:[0-9]+)?\/[a-z0-9._/-]+(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[0-9a-f]{64})?$/,
    'an image URI such as "123456789012.dkr.ecr.us-east-1.amazonaws.com/stackpilot/web:<commit>"',
  );

const commit = z
  .string()
  .regex(/^([0-9a-f]{40}|[0-9a-f]{64})$/, 'a full commit id (40 or 64 lowercase hex digits)');

/** True when `image` is in the app's ECR repository (`<registry>/stackpilot/<app>[:tag|@digest]`). */
export function isAppImage(app: string, reference: string): boolean {
  // String operations, not a RegExp built from the input: any app name is safe here.
  const slash = reference.indexOf('/');
  if (slash <= 0) return false;
  const repository = ecrRepositoryName(app);
  const rest = reference.slice(slash + 1);
  if (!rest.startsWith(repository)) return false;
  return /^(:[^/@]+)?(@sha256:[0-9a-f]{64})?$/.test(rest.slice(repository.length));
}

const imageRelease = z
  .object({
    app: name,
    stage: name,
    image,
    /** The commit the image was built from (the pipeline passes it); recorded with the release. */
    commit: commit.optional(),
    /**
     * A promotion (`stackpilot promote`): the stage of the same app whose released image this
     * is. Recorded in the history and on the revision; Prepare Release checks the image is
     * still in ECR.
     */
    promotedFrom: name.optional(),
  })
  .strict()
  .refine((input) => isAppImage(input.app, input.image), {
    message: 'the image must be in the app\'s ECR repository "stackpilot/<app>"',
    path: ['image'],
  })
  .refine((input) => input.promotedFrom !== input.stage, {
    message: 'a stage cannot be promoted from itself',
    path: ['promotedFrom'],
  });

const rollback = z
  .object({
    app: name,
    stage: name,
    action: z.literal('rollback'),
    /** Task-definition revision to return to; default: the newest successful release other than the running one. */
    toRevision: z.number().int().positive().optional(),
  })
  .strict();

export const releaseInputSchema = z.union([rollback, imageRelease]);

/**
 * The schema an input is meant for (an `action` field makes it a rollback), so a bad input
 * is told what is wrong with the shape it was meant to have, not that it matches none.
 */
export function releaseInputSchemaFor(input: unknown) {
  return typeof input === 'object' && input !== null && 'action' in input ? rollback : imageRelease;
}

export type ReleaseInput = z.output<typeof releaseInputSchema>;
export type RollbackInput = z.output<typeof rollback>;
export type ImageReleaseInput = z.output<typeof imageRelease>;

/**
 * What an input asks for: `release` (with a commit), `redeploy` (an image alone), `promote`
 * (the image another stage released) or `rollback`.
 */
export type ReleaseAction = 'release' | 'redeploy' | 'promote' | 'rollback';

export function actionOf(input: ReleaseInput): ReleaseAction {
  if ('action' in input) return 'rollback';
  if (input.promotedFrom) return 'promote';
  return input.commit ? 'release' : 'redeploy';
}
