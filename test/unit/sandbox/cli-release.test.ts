import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListStateMachinesCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '#shared/config.ts';
import { deployCommand, redeployCommand, rollbackCommand } from '../../../sandbox/commands/release.ts';
import { DeployRequestError, deployRequest } from '../../../sandbox/deploy-request.ts';
import { ensureStarterRepository, git } from '../../../sandbox/git/repo.ts';
import { captureIo } from '../../support/process.ts';

const machineArn = (kind: string) => `arn:aws:states:eu-west-1:111122223333:stateMachine:stackpilot-${kind}`;
const executionArn = 'arn:aws:states:eu-west-1:111122223333:execution:stackpilot-release:x';
const IMAGE =
  '111122223333.dkr.ecr.eu-west-1.amazonaws.com/stackpilot/starter:0a1b2c3d4e5f60718293a4b5c6d7e8f901234567';

describe('deploy, rollback and redeploy --aws', () => {
  const sfn = mockClient(SFNClient);
  const ssm = mockClient(SSMClient);
  afterEach(() => {
    sfn.reset();
    ssm.reset();
  });

  function deployed(status: 'SUCCEEDED' | 'FAILED' = 'SUCCEEDED') {
    sfn.on(ListStateMachinesCommand).resolves({
      stateMachines: ['deploy', 'release', 'scale'].map((kind) => ({
        name: `stackpilot-${kind}`,
        stateMachineArn: machineArn(kind),
        type: 'STANDARD',
        creationDate: new Date(),
      })),
    });
    sfn.on(StartExecutionCommand).resolves({ executionArn, startDate: new Date() });
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [] });
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn,
      stateMachineArn: machineArn('release'),
      status,
      startDate: new Date(),
      output: '{"revision":4}',
      ...(status === 'FAILED' ? { error: 'NoPreviousRelease', cause: 'nothing to return to' } : {}),
    });
  }
  const deps = () => ({ sfn: sfn as unknown as SFNClient, ssm: ssm as unknown as SSMClient, pollMs: 1 });

  it('rollback starts stackpilot-release with a rollback to the named revision', async () => {
    deployed();
    const t = captureIo();
    expect(await rollbackCommand(['starter', 'dev', '--to', '3', '--aws'], t.io, deps())).toBe(0);
    const start = sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input;
    expect(start?.stateMachineArn).toBe(machineArn('release'));
    expect(JSON.parse(start?.input ?? '')).toEqual({
      app: 'starter',
      stage: 'dev',
      action: 'rollback',
      toRevision: 3,
    });
    expect(JSON.parse(t.out())).toEqual({ revision: 4 });
  });

  it('exits 1 when the execution fails, and --json prints the execution', async () => {
    deployed('FAILED');
    const t = captureIo();
    expect(await rollbackCommand(['starter', 'dev', '--aws', '--json'], t.io, deps())).toBe(1);
    expect(JSON.parse(t.out())).toMatchObject({ status: 'FAILED', error: 'NoPreviousRelease' });
  });

  it('redeploy releases the image recorded in the stage parameter', async () => {
    deployed();
    ssm.on(GetParameterCommand, { Name: '/stackpilot/starter/dev/released-image' }).resolves({
      Parameter: { Value: IMAGE },
    });
    const t = captureIo();
    expect(await redeployCommand(['starter', 'dev', '--aws', '--no-wait'], t.io, deps())).toBe(0);
    const start = sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input;
    expect(JSON.parse(start?.input ?? '')).toEqual({ app: 'starter', stage: 'dev', image: IMAGE });
    expect(t.out()).toBe(`${executionArn}\n`);
    expect(sfn.commandCalls(DescribeExecutionCommand)).toHaveLength(0);
  });

  it('redeploy refuses a stage that has released nothing yet', async () => {
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: 'none' } });
    await expect(redeployCommand(['starter', 'dev', '--aws'], captureIo().io, deps())).rejects.toThrow(
      'starter/dev has no release yet: deploy it first (stackpilot deploy starter dev), or pass --image',
    );
  });

  it('says what to do when there are no AWS credentials', async () => {
    sfn.on(ListStateMachinesCommand).rejects(
      Object.assign(new Error('Could not load credentials from any providers'), {
        name: 'CredentialsProviderError',
      }),
    );
    await expect(rollbackCommand(['starter', 'dev', '--aws'], captureIo().io, deps())).rejects.toThrow(
      /^no AWS credentials: set AWS_PROFILE/,
    );
  });

  it('deploy starts stackpilot-deploy with the input a push of the stage branch gives', async () => {
    deployed();
    const dir = mkdtempSync(join(tmpdir(), 'stackpilot-cli-deploy-'));
    try {
      const config = join(dir, 'stackpilot.yml');
      writeFileSync(
        config,
        'apps:\n  starter:\n    repository:\n      provider: github\n      url: https://github.com/acme/starter.git\n    stages:\n      dev:\n        branch: develop\n',
      );
      const commit = 'c'.repeat(40);
      const heads: string[] = [];
      const t = captureIo();
      const code = await deployCommand(['starter', 'dev', '--aws', '--config', config], t.io, {
        ...deps(),
        branchHead: async (url, branch) => {
          heads.push(`${url} ${branch}`);
          return commit;
        },
      });
      expect(code).toBe(0);
      expect(heads).toEqual(['https://github.com/acme/starter.git develop']);
      const start = sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input;
      expect(start?.stateMachineArn).toBe(machineArn('deploy'));
      const input = JSON.parse(start?.input ?? '');
      expect(input).toMatchObject({
        app: 'starter',
        stage: 'dev',
        repository: { provider: 'github', url: 'https://github.com/acme/starter.git' },
        ref: 'refs/heads/develop',
        commit,
      });
      expect(start?.name).toBe(`starter-dev-${input.deliveryId}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('POST /deploy: the deploy request of the sandbox', () => {
  let root: string;
  let head: string;
  const config = parseConfig({
    apps: {
      starter: {
        repository: { provider: 'github', url: 'http://127.0.0.1:4010/git/starter.git' },
        stages: { dev: { branch: 'main' } },
      },
    },
  });
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'stackpilot-deploy-request-'));
    await ensureStarterRepository(root, 'starter', 'main');
    head = await git(['rev-parse', 'refs/heads/main'], { gitDir: join(root, 'starter.git') });
  }, 60_000);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('deploys the head of the stage branch, as a push would', async () => {
    const { name, input } = await deployRequest(config, root, { app: 'starter', stage: 'dev' });
    expect(input).toMatchObject({
      app: 'starter',
      stage: 'dev',
      repository: { provider: 'github', url: 'http://127.0.0.1:4010/git/starter.git' },
      ref: 'refs/heads/main',
      commit: head,
    });
    expect(name).toBe(`starter-dev-${input.deliveryId}`);
  });

  it('resolves a short commit id to the full one', async () => {
    const { input } = await deployRequest(config, root, {
      app: 'starter',
      stage: 'dev',
      commit: head.slice(0, 8),
    });
    expect(input.commit).toBe(head);
  });

  it.each([
    [
      { app: 'starter', stage: 'prod' },
      404,
      /no stage starter\/prod in stackpilot.yml \(stages: starter\/dev\)/,
    ],
    [
      { app: 'starter', stage: 'dev', commit: 'f'.repeat(40) },
      404,
      /no commit f{40} in the repository starter.git/,
    ],
    [{ app: 'starter', stage: 'dev', commit: 'HEAD~1' }, 400, /"commit" must be a commit id/],
    [{ stage: 'dev' }, 400, /the body needs "app" and "stage"/],
  ])('refuses %j with %i', async (request, status, message) => {
    const error = await deployRequest(config, root, request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeployRequestError);
    expect((error as DeployRequestError).status).toBe(status);
    expect((error as Error).message).toMatch(message);
  });
});
