/**
 * The webhook function's environment: each variable is checked and a missing one is named in
 * the error, so a misconfigured deployment says what to fix. Read on first use and again
 * only when a variable (or the configuration) changes.
 */
import { runtimeConfig, type StackpilotConfig } from '#shared/config.ts';
import { requiredEnv } from '#shared/env.ts';
import { PREVIEW_STATE_MACHINE_ARN_ENV } from '#shared/preview/model.ts';
import { PREVIEW_BUCKET_ENV } from '#shared/preview/records.ts';

const DEPLOY_STATE_MACHINE_ARN_ENV = 'DEPLOY_STATE_MACHINE_ARN';
const GITHUB_WEBHOOK_SECRET_ARN_ENV = 'GITHUB_WEBHOOK_SECRET_ARN';
const GITLAB_WEBHOOK_TOKEN_ARN_ENV = 'GITLAB_WEBHOOK_TOKEN_ARN';

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

const required = (name: string, because?: string) =>
  requiredEnv(name, { because, error: WebhookMisconfigured });

/** The variables the environment is read from: it is read again when one of them changes. */
const VARIABLES = [
  DEPLOY_STATE_MACHINE_ARN_ENV,
  GITHUB_WEBHOOK_SECRET_ARN_ENV,
  GITLAB_WEBHOOK_TOKEN_ARN_ENV,
  PREVIEW_STATE_MACHINE_ARN_ENV,
  PREVIEW_BUCKET_ENV,
];

let cached: { readonly key: string; readonly environment: WebhookEnvironment } | undefined;

/**
 * The environment, validated on the first call and kept while its variables and the
 * configuration (`runtimeConfig()`) stay the same. `PREVIEW_STATE_MACHINE_ARN` and
 * `PREVIEW_BUCKET` are required when an app of the configuration has `previews`, and not
 * read otherwise.
 */
export function webhookEnvironment(): WebhookEnvironment {
  const key = JSON.stringify(VARIABLES.map((name) => process.env[name]));
  if (cached?.key === key && cached.environment.config === runtimeConfig()) return cached.environment;
  const deployStateMachineArn = required(DEPLOY_STATE_MACHINE_ARN_ENV);
  const githubSecretArn = required(GITHUB_WEBHOOK_SECRET_ARN_ENV);
  const gitlabTokenArn = required(GITLAB_WEBHOOK_TOKEN_ARN_ENV);
  const config = runtimeConfig();
  const withPreviews = Object.keys(config.apps).filter((app) => config.apps[app]?.previews);
  const because = `app ${withPreviews[0]} has previews`;
  const previews =
    withPreviews.length > 0
      ? {
          stateMachineArn: required(PREVIEW_STATE_MACHINE_ARN_ENV, because),
          bucket: required(PREVIEW_BUCKET_ENV, because),
        }
      : undefined;
  const environment = { deployStateMachineArn, githubSecretArn, gitlabTokenArn, config, previews };
  cached = { key, environment };
  return environment;
}
