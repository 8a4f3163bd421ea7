/**
 * The webhook function's environment, read once on first use: each variable is checked and
 * a missing one is named in the error, so a misconfigured deployment says what to fix.
 */
import { runtimeConfig, type StackpilotConfig } from '#shared/config.ts';

export interface WebhookEnvironment {
  /** ARN of the `deploy` state machine. */
  readonly deployStateMachineArn: string;
  /** ARN of the Secrets Manager secret holding the GitHub webhook secret (plain text). */
  readonly githubSecretArn: string;
  /** ARN of the Secrets Manager secret holding the GitLab webhook token (plain text). */
  readonly gitlabTokenArn: string;
  /** The validated `stackpilot.yml` (`runtimeConfig()`). */
  readonly config: StackpilotConfig;
}

/** The environment is incomplete or invalid; the message names the variable. */
export class WebhookMisconfigured extends Error {
  override readonly name = 'WebhookMisconfigured';
}

function required(name: string): string {
  const value = process.env[name]?.trim();
  if (!value) throw new WebhookMisconfigured(`environment variable ${name} is not set`);
  return value;
}

let cached: WebhookEnvironment | undefined;

/** The environment, validated on the first call and cached for the life of the process. */
export function webhookEnvironment(): WebhookEnvironment {
  if (cached) return cached;
  const env = {
    deployStateMachineArn: required('DEPLOY_STATE_MACHINE_ARN'),
    githubSecretArn: required('GITHUB_WEBHOOK_SECRET_ARN'),
    gitlabTokenArn: required('GITLAB_WEBHOOK_TOKEN_ARN'),
    config: runtimeConfig(),
  };
  cached = env;
  return env;
}

/** Forgets the cached environment (tests change it). */
export function resetWebhookEnvironment(): void {
  cached = undefined;
}
