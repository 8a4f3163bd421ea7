/**
 * Emulated Secrets Manager: GetSecretValue from secrets seeded at start (the webhook
 * secret, repository tokens). Secrets live in memory only: the sandbox server keeps its
 * own secret file and seeds them on every start.
 */
import { createHash } from 'node:crypto';
import {
  type GetSecretValueCommandInput,
  type GetSecretValueCommandOutput,
  ResourceNotFoundException,
} from '@aws-sdk/client-secrets-manager';
import { awsError } from './errors.ts';
import type { AccountContext, Emulator, Result } from './types.ts';

export class SecretsManagerEmulator implements Emulator {
  readonly service = 'SecretsManager';
  private readonly secrets = new Map<string, { value: string; createdAt: number }>();

  constructor(private readonly ctx: AccountContext) {}

  /** Creates or replaces a secret (by name). */
  put(name: string, value: string): void {
    this.secrets.set(name, { value, createdAt: this.ctx.clock.now() });
  }

  arn(name: string): string {
    // Real ARNs end with six random characters; a hash keeps them stable across restarts.
    const suffix = createHash('sha256').update(name).digest('base64url').slice(0, 6);
    return `arn:aws:secretsmanager:${this.ctx.region}:${this.ctx.accountId}:secret:${name}-${suffix}`;
  }

  readonly commands = {
    GetSecretValue: (input: GetSecretValueCommandInput): Result<GetSecretValueCommandOutput> => {
      const id = input.SecretId ?? '';
      const name = [...this.secrets.keys()].find((n) => n === id || this.arn(n) === id);
      const secret = name === undefined ? undefined : this.secrets.get(name);
      if (name === undefined || !secret) {
        throw awsError(ResourceNotFoundException, "Secrets Manager can't find the specified secret.");
      }
      return {
        ARN: this.arn(name),
        Name: name,
        VersionId: createHash('sha256').update(secret.value).digest('hex').slice(0, 32),
        SecretString: secret.value,
        VersionStages: ['AWSCURRENT'],
        CreatedDate: new Date(secret.createdAt),
      };
    },
  };

  save(): void {}
}
