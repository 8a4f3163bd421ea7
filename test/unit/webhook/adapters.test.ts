import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { getSecretText, SecretNotText } from '#shared/aws/secrets.ts';
import { executionArn, startNamedExecution } from '#shared/aws/stepfunctions.ts';
import { isTransient } from '#shared/errors.ts';

const sfn = mockClient(SFNClient);
const secrets = mockClient(SecretsManagerClient);
// A client per test: the secrets cache is the client's.
let client = new SecretsManagerClient({});
const MACHINE = 'arn:aws:states:eu-west-1:111122223333:stateMachine:stackpilot-deploy';

beforeEach(() => {
  client = new SecretsManagerClient({});
});
afterEach(() => {
  sfn.reset();
  secrets.reset();
});

describe('getSecretText', () => {
  it('reads a secret once and serves it from the cache afterwards', async () => {
    secrets.on(GetSecretValueCommand, { SecretId: 'webhook' }).resolves({ SecretString: 'value-1' });
    expect(await getSecretText('webhook', client)).toBe('value-1');
    expect(await getSecretText('webhook', client)).toBe('value-1');
    expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
  });

  it('reads it again once the cache entry is older than maxAge', async () => {
    secrets
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: 'old' })
      .resolves({ SecretString: 'rotated' });
    expect(await getSecretText('webhook', client, 0)).toBe('old');
    expect(await getSecretText('webhook', client, 0)).toBe('rotated');
  });

  it('refuses a binary or empty secret without showing its value', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretBinary: new Uint8Array([1, 2, 3]) });
    await expect(getSecretText('webhook', client)).rejects.toThrow(SecretNotText);
  });

  it("rethrows the SDK's own error so that throttling reads as transient", async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    secrets.on(GetSecretValueCommand).rejects(throttled);
    const error = await getSecretText('webhook', client).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'ThrottlingException' });
    expect(isTransient(error)).toBe(true);
  });
});

describe('startNamedExecution', () => {
  it('starts the execution under the given name with the JSON input', async () => {
    sfn
      .on(StartExecutionCommand)
      .resolves({ executionArn: `${executionArn(MACHINE, 'n-1')}`, startDate: new Date() });
    const started = await startNamedExecution(MACHINE, 'n-1', { app: 'hello' }, new SFNClient({}));
    expect(started).toEqual({
      executionArn: 'arn:aws:states:eu-west-1:111122223333:execution:stackpilot-deploy:n-1',
      executionName: 'n-1',
      alreadyExisted: false,
    });
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
      stateMachineArn: MACHINE,
      name: 'n-1',
      input: '{"app":"hello"}',
    });
  });

  it('answers with the existing execution when the name is taken (closed execution, or other input)', async () => {
    sfn
      .on(StartExecutionCommand)
      .rejects(Object.assign(new Error('Execution Already Exists'), { name: 'ExecutionAlreadyExists' }));
    const started = await startNamedExecution(MACHINE, 'n-1', {}, new SFNClient({}));
    expect(started).toEqual({
      executionArn: 'arn:aws:states:eu-west-1:111122223333:execution:stackpilot-deploy:n-1',
      executionName: 'n-1',
      alreadyExisted: true,
    });
  });

  it('lets other errors through', async () => {
    sfn
      .on(StartExecutionCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    await expect(startNamedExecution(MACHINE, 'n-1', {}, new SFNClient({}))).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
  });

  it('builds execution ARNs in any partition and refuses what is not a state machine ARN', () => {
    expect(executionArn('arn:aws-cn:states:cn-north-1:111122223333:stateMachine:m', 'x')).toBe(
      'arn:aws-cn:states:cn-north-1:111122223333:execution:m:x',
    );
    expect(() => executionArn('arn:aws:lambda:us-east-1:111122223333:function:f', 'x')).toThrow(
      /not a state machine ARN/,
    );
  });
});
