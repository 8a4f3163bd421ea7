/**
 * The webhook function's environment, read once on first use: each variable is checked and
 * a missing one is named in the error, so a misconfigured deployment says what to fix.
 */

import { runtimeConfig, type StackpilotConfig } from '#shared/config.ts';
import { PREVIEW_BUCKET_ENV } from '#shared/preview/records.ts';

/** Name of the environment variable holding the ARN of the `preview` state machine. */
export const PREVIEW_STATE_MACHINE_ARN_ENV = 'PREVIEW_STATE_MACHINE_ARN';

/** Where pull request events go: set when (and required as soon as) an app has `previews`. */
export interface PreviewEnvironment {
  /** ARN of the `preview` state machine (`stackpilot-preview`): removals start it. */
  readonly stateMachineArn: string;
  /** The bucket of the preview records (`PREVIEW_BUCKET`): the open previews counted against `max`. */
  readonly bucket: string;
}

export interface WebhookEnvironment {
  /** ARN of the `deploy` state machine. */
  readonly deployStateMachineArn: string;
  /** ARN of the Secrets Manager secret holding the GitHub webhook secret (plain text). */
  readonly githubSecretArn: string;
  /** ARN of the Secrets Manager secret holding the GitLab webhook token (plain text). */
  readonly gitlabTokenArn: string;
  /** The validated `stackpilot.yml` (`runtimeConfig()`). */
  readonly config: StackpilotConfig;
  /** Undefined when no app has `previews`: pull request events are then all ignored. */
  readonly previews: PreviewEnvironment | undefined;
}

/** The environment is incomplete or invalid; the message names the variable. */
export class WebhookMisconfigured extends Error {
  override readonly name = 'WebhookMisconfigured';
}

function required(name: string, why = ''): string {
  const value = process.env[name]?.trim();
  if (!value) throw new WebhookMisconfigured(`environment variable ${name} is not set${why}`);
  return value;
}

let cached: WebhookEnvironment | undefined;

/**
 * The environment, validated on the first call and cached for the life of the process.
 * `PREVIEW_STATE_MACHINE_ARN` and `PREVIEW_BUCKET` are required when an app of the
 * configuration has `previews`, and not read otherwise.
 */
export function webhookEnvironment(): WebhookEnvironment {
  if (cached) return cached;
  const deployStateMachineArn = required('DEPLOY_STATE_MACHINE_ARN');
  const githubSecretArn = required('GITHUB_WEBHOOK_SECRET_ARN');
  const gitlabTokenArn = required('GITLAB_WEBHOOK_TOKEN_ARN');
  const config = runtimeConfig();
  const withPreviews = Object.keys(config.apps).filter((app) => config.apps[app]?.previews);
  const why = ` (app ${withPreviews[0]} has previews)`;
  const previews =
    withPreviews.length > 0
      ? {
          stateMachineArn: required(PREVIEW_STATE_MACHINE_ARN_ENV, why),
          bucket: required(PREVIEW_BUCKET_ENV, why),
        }
      : undefined;
  cached = { deployStateMachineArn, githubSecretArn, gitlabTokenArn, config, previews };
  return cached;
}

/** Forgets the cached environment (tests change it). */
export function resetWebhookEnvironment(): void {
  cached = undefined;
}
