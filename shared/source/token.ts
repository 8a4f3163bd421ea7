/**
 * The token of a private repository, from the app's Secrets Manager secret. The secret holds
 * the token itself, or JSON with a `token` field (what a rotation function tends to write).
 * The token is never logged and never appears in an error message.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { getSecretText } from '../aws/secrets.ts';
import { RepositoryAccessDenied } from './errors.ts';

/** The token in a secret's text: the text itself, or the `token` field of a JSON object. */
export function parseTokenSecret(text: string): string | undefined {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(trimmed);
      const token = (parsed as { token?: unknown }).token;
      return typeof token === 'string' && token.trim().length > 0 ? token.trim() : undefined;
    } catch {
      return undefined;
    }
  }
  return trimmed.length > 0 ? trimmed : undefined;
}

/** Reads the repository token from the secret `secretId` (cached for a few minutes). */
export async function readRepositoryToken(secretId: string, client: SecretsManagerClient): Promise<string> {
  const token = parseTokenSecret(await getSecretText(secretId, client));
  if (!token) {
    throw new RepositoryAccessDenied(
      `secret ${secretId} holds no repository token (expected the token, or JSON with a "token" field)`,
    );
  }
  return token;
}
