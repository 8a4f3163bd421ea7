/**
 * Emulated Secrets Manager: the templates' secrets (CreateSecret) and GetSecretValue. Secrets
 * live in memory only: the sandbox server keeps its own secret file and puts the webhook
 * secret into the template's secret on every start.
 */
import { createHash } from 'node:crypto';
import {
  type CreateSecretCommandInput,
  type CreateSecretCommandOutput,
  type GetSecretValueCommandInput,
  type GetSecretValueCommandOutput,
  ResourceExistsException,
  ResourceNotFoundException,
} from '@aws-sdk/client-secrets-manager';
import { secretArn } from '../templates/resource-types.ts';
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
    return secretArn(name, this.ctx.region, this.ctx.accountId);
  }

  /** The name of a secret given by name or ARN (undefined when there is no such secret). */
  nameOf(id: string): string | undefined {
    return [...this.secrets.keys()].find((n) => n === id || this.arn(n) === id);
  }

  readonly commands = {
    CreateSecret: (input: CreateSecretCommandInput): Result<CreateSecretCommandOutput> => {
      const name = input.Name ?? '';
      if (this.secrets.has(name)) {
        throw awsError(
          ResourceExistsException,
          `The operation failed because the secret ${name} already exists.`,
        );
      }
      this.put(name, input.SecretString ?? '');
      return { ARN: this.arn(name), Name: name };
    },
    GetSecretValue: (input: GetSecretValueCommandInput): Result<GetSecretValueCommandOutput> => {
      const id = input.SecretId ?? '';
      const name = this.nameOf(id);
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
