/**
 * `stackpilot promote`: the release it starts, and each refusal with its exit code and line
 * (through `main`, as a shell sees it), on AWS (mocked clients) and without a sandbox.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeImagesCommand, ECRClient, ImageNotFoundException } from '@aws-sdk/client-ecr';
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
import { main } from '../../../sandbox/cli.ts';
import { checkStages } from '../../../sandbox/commands/promote.ts';
import { captureIo } from '../../support/process.ts';

const IMAGE =
  '111122223333.dkr.ecr.eu-west-1.amazonaws.com/stackpilot/shop:0a1b2c3d4e5f60718293a4b5c6d7e8f901234567';
const executionArn = 'arn:aws:states:eu-west-1:111122223333:execution:stackpilot-release:p';
const machineArn = (kind: string) => `arn:aws:states:eu-west-1:111122223333:stateMachine:stackpilot-${kind}`;

const CONFIG = `apps:
  shop:
    repository: { provider: github, url: https://github.com/acme/shop.git }
    stages:
      dev: { branch: main }
      qa: { branch: qa }
      prod: { branch: release, promoteFrom: qa }
  blog:
    repository: { provider: github, url: https://github.com/acme/blog.git }
    stages:
      preview: { branch: main }
`;

describe('promote --aws', () => {
  const sfn = mockClient(SFNClient);
  const ssm = mockClient(SSMClient);
  const ecr = mockClient(ECRClient);
  let dir: string;
  let config: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'stackpilot-cli-promote-'));
    config = join(dir, 'stackpilot.yml');
    writeFileSync(config, CONFIG);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(() => {
    sfn.reset();
    ssm.reset();
    ecr.reset();
  });

  function released(value: string) {
    ssm
      .on(GetParameterCommand, { Name: '/stackpilot/shop/qa/released-image' })
      .resolves({ Parameter: { Value: value } });
  }
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
      output: '{"revision":7}',
    });
  }
  const run = async (...args: string[]) => {
    const t = captureIo();
    const code = await main(['promote', ...args, '--aws', '--config', config], t.io);
    return { code, out: t.out(), err: t.err() };
  };

  it('starts the release of the image qa released, as a promotion from qa', async () => {
    released(IMAGE);
    ecr.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageDigest: 'sha256:1' }] });
    deployed();
    const { code, out, err } = await run('shop', 'qa', 'prod');
    expect(code).toBe(0);
    expect(err).toContain(`promote: shop qa -> prod: ${IMAGE}`);
    expect(ecr).toHaveReceivedCommandWith(DescribeImagesCommand, {
      repositoryName: 'stackpilot/shop',
      imageIds: [{ imageTag: '0a1b2c3d4e5f60718293a4b5c6d7e8f901234567' }],
    });
    const start = sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input;
    expect(start?.stateMachineArn).toBe(machineArn('release'));
    expect(JSON.parse(start?.input ?? '')).toEqual({
      app: 'shop',
      stage: 'prod',
      image: IMAGE,
      promotedFrom: 'qa',
    });
    expect(JSON.parse(out)).toEqual({ revision: 7 });
  });

  it('exits 1 when the release fails (it rolled back)', async () => {
    ssm
      .on(GetParameterCommand, { Name: '/stackpilot/shop/dev/released-image' })
      .resolves({ Parameter: { Value: IMAGE } });
    ecr.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageDigest: 'sha256:1' }] });
    deployed('FAILED');
    const { code, out } = await run('shop', 'dev', 'qa', '--json');
    expect(code).toBe(1);
    expect(JSON.parse(out)).toMatchObject({ status: 'FAILED' });
    const start = sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input;
    expect(JSON.parse(start?.input ?? '')).toMatchObject({ stage: 'qa', promotedFrom: 'dev' });
  });

  it('refuses, exit 1, a stage that never released, before starting anything', async () => {
    released('none');
    const { code, err } = await run('shop', 'qa', 'prod');
    expect(code).toBe(1);
    expect(err).toBe(
      'stackpilot promote: shop/qa has never released an image: deploy it first (stackpilot deploy shop qa), then promote\n',
    );
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('refuses, exit 1, an image ECR no longer holds', async () => {
    released(IMAGE);
    ecr
      .on(DescribeImagesCommand)
      .rejects(new ImageNotFoundException({ message: 'no such image', $metadata: {} }));
    const { code, err } = await run('shop', 'qa', 'prod');
    expect(code).toBe(1);
    expect(err).toBe(
      `stackpilot promote: ${IMAGE}, released in shop/qa, is no longer in ECR repository stackpilot/shop (it keeps the newest imagesToKeep images): deploy qa again, then promote\n`,
    );
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it.each([
    [['shop', 'dev', 'dev'], '<from> and <to> are both dev: promote from one stage to another'],
    [
      ['shop', 'preview', 'prod'],
      'stage preview belongs to app blog, not shop: a promotion moves an image between stages of one app (stages of shop: dev, qa, prod)',
    ],
    [['shop', 'dev', 'staging'], 'app shop has no stage staging (stages: dev, qa, prod)'],
    [['cart', 'dev', 'prod'], 'no app cart in stackpilot.yml (apps: shop, blog)'],
    [
      ['shop', 'dev', 'prod'],
      'stage prod of app shop is promoted from qa only (promoteFrom in stackpilot.yml), not from dev',
    ],
    [['shop', 'dev'], 'promote needs <app> <from> <to>, e.g. stackpilot promote starter dev prod'],
  ])('refuses %j with exit 2 and one line', async (args, message) => {
    const { code, err } = await run(...args);
    expect(code).toBe(2);
    expect(err).toBe(`stackpilot promote: ${message} (stackpilot promote --help)\n`);
    expect(ssm.calls()).toHaveLength(0);
    expect(sfn.calls()).toHaveLength(0);
  });
});

describe('promote on the sandbox', () => {
  it('says in one line, exit 1, that no sandbox answers', async () => {
    const t = captureIo();
    expect(await main(['promote', 'starter', 'dev', 'prod', '--url', 'http://127.0.0.1:9'], t.io)).toBe(1);
    expect(t.err()).toBe(
      'stackpilot promote: no sandbox answers at http://127.0.0.1:9: start one with `npm start` (or pass --url)\n',
    );
  });

  it('checks the sandbox stages like stackpilot.yml (no promoteFrom known there)', () => {
    const stages = [
      { app: 'starter', stage: 'dev' },
      { app: 'starter', stage: 'prod' },
    ];
    expect(() => checkStages(stages, 'starter', 'dev', 'prod')).not.toThrow();
    expect(() => checkStages(stages, 'starter', 'prod', 'dev')).not.toThrow();
    expect(() => checkStages(stages, 'starter', 'dev', 'qa')).toThrow(
      'app starter has no stage qa (stages: dev, prod)',
    );
  });
});
