/**
 * Secrets Manager reads with a small in-memory cache: a warm function verifies deliveries
 * without a Secrets Manager call each time. Values are never logged or put in errors.
 */
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** How long a secret stays cached: a rotated webhook secret is picked up within this time. */
export const SECRET_MAX_AGE_SECONDS = 300;

/** A secret that exists but holds no text (binary or empty): unusable as a webhook secret. */
export class SecretNotText extends Error {
  override readonly name = 'SecretNotText';
}

const providers = new WeakMap<SecretsManagerClient, SecretsProvider>();

function providerFor(client: SecretsManagerClient): SecretsProvider {
  let provider = providers.get(client);
  if (!provider) {
    provider = new SecretsProvider({ awsSdkV3Client: client });
    providers.set(client, provider);
  }
  return provider;
}

/**
 * The text of a secret (name or ARN), cached per client for {@link SECRET_MAX_AGE_SECONDS}.
 * AWS failures are rethrown as the SDK's own error (not Powertools' wrapper), so callers can
 * tell throttling from access denied with `isTransient`.
 */
export async function getSecretText(
  secretId: string,
  client: SecretsManagerClient,
  maxAgeSeconds = SECRET_MAX_AGE_SECONDS,
): Promise<string> {
  let value: unknown;
  try {
    value = await providerFor(client).get(secretId, { maxAge: maxAgeSeconds });
  } catch (error) {
    throw error instanceof Error && error.cause instanceof Error ? error.cause : error;
  }
  if (typeof value !== 'string' || value.length === 0) {
    throw new SecretNotText(`secret ${secretId} has no text value (SecretString)`);
  }
  return value;
}
