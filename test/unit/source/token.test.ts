import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { RepositoryAccessDenied } from '../../../shared/source/errors.ts';
import { parseTokenSecret, readRepositoryToken } from '../../../shared/source/token.ts';

describe('parseTokenSecret', () => {
  it('reads a bare token, trimmed', () => {
    expect(parseTokenSecret('  ghp_abc123\n')).toBe('ghp_abc123');
  });

  it('reads the token field of a JSON secret', () => {
    expect(parseTokenSecret('{"token":"glpat-xyz","user":"ci"}')).toBe('glpat-xyz');
  });

  it('finds no token in empty text, JSON without a token, or broken JSON', () => {
    expect(parseTokenSecret('   ')).toBeUndefined();
    expect(parseTokenSecret('{"password":"x"}')).toBeUndefined();
    expect(parseTokenSecret('{"token":')).toBeUndefined();
  });
});

describe('readRepositoryToken', () => {
  const secrets = mockClient(SecretsManagerClient);
  afterEach(() => secrets.reset());
  afterAll(() => secrets.restore());

  it('reads the token from the named secret', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: '{"token":"ghs_secret"}' });
    const token = await readRepositoryToken(
      'repo/token-a',
      new SecretsManagerClient({ region: 'us-east-1' }),
    );
    expect(token).toBe('ghs_secret');
    expect(secrets).toReceiveCommandWith(GetSecretValueCommand, { SecretId: 'repo/token-a' });
  });

  it('fails with RepositoryAccessDenied naming the secret, not its value, when it holds no token', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: '{"password":"do-not-print"}' });
    const attempt = readRepositoryToken('repo/token-b', new SecretsManagerClient({ region: 'us-east-1' }));
    await expect(attempt).rejects.toBeInstanceOf(RepositoryAccessDenied);
    await expect(attempt).rejects.toThrow('repo/token-b');
    await expect(attempt).rejects.not.toThrow('do-not-print');
  });
});
