import {
  DeleteParameterCommand,
  GetParameterCommand,
  GetParametersCommand,
  ParameterAlreadyExists,
  ParameterNotFound,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEmulatedAccount, manualClock } from '../../../sandbox/account/index.ts';
import { clientConfig, newDataDir, removeDataDir, testConfig } from './support.ts';

describe('emulated SSM Parameter Store', () => {
  let dataDir: string;
  let ssm: SSMClient;
  let account: ReturnType<typeof createEmulatedAccount>;
  const name = '/stackpilot/shop/dev/released-image';

  beforeEach(() => {
    dataDir = newDataDir();
    account = createEmulatedAccount({ dataDir, config: testConfig(), clock: manualClock() });
    ssm = new SSMClient(clientConfig);
    account.attach([ssm]);
  });
  afterEach(() => removeDataDir(dataDir));

  it('creates a parameter, refuses to create it twice, overwrites it when asked, counting versions', async () => {
    const first = await ssm.send(new PutParameterCommand({ Name: name, Value: 'none', Type: 'String' }));
    expect(first.Version).toBe(1);
    const again = await ssm
      .send(new PutParameterCommand({ Name: name, Value: 'x', Type: 'String', Overwrite: false }))
      .catch((e: unknown) => e);
    expect(again).toBeInstanceOf(ParameterAlreadyExists);
    const overwritten = await ssm.send(
      new PutParameterCommand({ Name: name, Value: 'repo:abc', Overwrite: true }),
    );
    expect(overwritten.Version).toBe(2);
    const got = await ssm.send(new GetParameterCommand({ Name: name }));
    expect(got.Parameter).toMatchObject({ Name: name, Value: 'repo:abc', Type: 'String', Version: 2 });
    expect(account.ssm.value(name)).toBe('repo:abc');
  });

  it('gets several parameters, naming the missing ones, and deletes', async () => {
    await ssm.send(new PutParameterCommand({ Name: name, Value: 'none', Type: 'String' }));
    const got = await ssm.send(new GetParametersCommand({ Names: [name, '/nope'] }));
    expect(got.Parameters?.map((p) => p.Name)).toEqual([name]);
    expect(got.InvalidParameters).toEqual(['/nope']);
    await ssm.send(new DeleteParameterCommand({ Name: name }));
    await expect(ssm.send(new GetParameterCommand({ Name: name }))).rejects.toBeInstanceOf(ParameterNotFound);
    await expect(ssm.send(new DeleteParameterCommand({ Name: name }))).rejects.toBeInstanceOf(
      ParameterNotFound,
    );
  });

  it('refuses a new parameter without a type and an empty value', async () => {
    await expect(ssm.send(new PutParameterCommand({ Name: name, Value: 'v' }))).rejects.toThrow(
      'A new parameter needs a Type.',
    );
    await expect(
      ssm.send(new PutParameterCommand({ Name: name, Value: '', Type: 'String' })),
    ).rejects.toThrow('Parameter value must not be empty.');
  });

  it('keeps its parameters across a restart', async () => {
    await ssm.send(new PutParameterCommand({ Name: name, Value: 'none', Type: 'String' }));
    account.flush();
    const restarted = createEmulatedAccount({ dataDir, config: testConfig(), clock: manualClock() });
    expect(restarted.ssm.value(name)).toBe('none');
  });
});
