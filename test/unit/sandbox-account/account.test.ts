import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  ListAttributesCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clients } from '#shared/aws/clients.ts';
import { stageNames } from '#shared/naming.ts';
import { awsError, createEmulatedAccount, manualClock } from '../../../sandbox/account/index.ts';
import { SHARED_TEMPLATE_CACHE } from '../../../sandbox/templates/synth.ts';
import { clientConfig, newDataDir, removeDataDir, testAccount, testConfig } from './support.ts';

const names = stageNames('shop', 'dev');

describe('the emulated account', () => {
  let dataDir: string;
  let setup: Awaited<ReturnType<typeof testAccount>>;

  beforeEach(async () => {
    dataDir = newDataDir();
    setup = await testAccount({
      dataDir,
      secrets: { 'stackpilot/github-webhook': "It's a Secret to Everybody" },
    });
  });

  afterEach(() => removeDataDir(dataDir));

  it('fails loudly, naming service and command, on a command it does not emulate', async () => {
    const ecs = new ECSClient(clientConfig);
    const lambda = new LambdaClient(clientConfig);
    setup.account.attach([ecs, lambda]);
    await expect(
      ecs.send(new ListAttributesCommand({ cluster: names.cluster, targetType: 'container-instance' })),
    ).rejects.toThrow('the sandbox does not emulate ECS ListAttributes');
    await expect(lambda.send(new InvokeCommand({ FunctionName: 'f' }))).rejects.toThrow(
      'the sandbox does not emulate Lambda Invoke',
    );
  });

  it("answers the project's own traced clients (shared/aws/clients.ts) without any HTTP", async () => {
    setup.account.attach(clients);
    const out = await clients.ecs.send(
      new DescribeServicesCommand({ cluster: names.cluster, services: [names.service] }),
    );
    expect(out.services?.[0]?.serviceName).toBe(names.service);
    expect(out.$metadata.httpStatusCode).toBe(200);
    const secret = await clients.secretsManager.send(
      new GetSecretValueCommand({ SecretId: 'stackpilot/github-webhook' }),
    );
    expect(secret.SecretString).toBe("It's a Secret to Everybody");
  });

  it('throws ResourceNotFoundException for an unknown secret', async () => {
    const secrets = new SecretsManagerClient(clientConfig);
    setup.account.attach([secrets]);
    const error = await secrets
      .send(new GetSecretValueCommand({ SecretId: 'nope' }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResourceNotFoundException);
  });

  it('delegates Step Functions to the backend the server provides, errors included', async () => {
    const sfn = new SFNClient(clientConfig);
    setup.account.attach([sfn]);
    await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: 'arn', name: 'x' }))).rejects.toThrow(
      'the sandbox does not emulate StepFunctions StartExecution',
    );
    const started = new Set<string>();
    setup.account.hooks.stepFunctions = {
      StartExecution: async (input) => {
        if (started.has(input.name ?? ''))
          throw awsError(ExecutionAlreadyExists, `Execution Already Exists: '${input.name}'`);
        started.add(input.name ?? '');
        return {
          executionArn: `arn:aws:states:us-east-1:123456789012:execution:deploy:${input.name}`,
          startDate: new Date(),
        };
      },
      DescribeExecution: async () => ({
        executionArn: 'a',
        stateMachineArn: 'b',
        status: 'RUNNING',
        startDate: new Date(),
      }),
    };
    const first = await sfn.send(new StartExecutionCommand({ stateMachineArn: 'arn', name: 'delivery-1' }));
    expect(first.executionArn).toMatch(/:delivery-1$/);
    const again = await sfn
      .send(new StartExecutionCommand({ stateMachineArn: 'arn', name: 'delivery-1' }))
      .catch((e: unknown) => e);
    expect(again).toBeInstanceOf(ExecutionAlreadyExists);
  });

  it('puts PutEvents entries on the bus', async () => {
    const eventBridge = new EventBridgeClient(clientConfig);
    setup.account.attach([eventBridge]);
    const out = await eventBridge.send(
      new PutEventsCommand({
        Entries: [{ Source: 'stackpilot', DetailType: 'Release Recorded', Detail: '{"app":"shop"}' }],
      }),
    );
    expect(out.FailedEntryCount).toBe(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(setup.events.at(-1)).toMatchObject({
      source: 'stackpilot',
      'detail-type': 'Release Recorded',
      detail: { app: 'shop' },
    });
  });

  it('keeps its state across a restart from the data folder, and seeding again changes nothing', async () => {
    const ecs = new ECSClient(clientConfig);
    const s3 = new S3Client(clientConfig);
    setup.account.attach([ecs, s3]);
    await ecs.send(
      new UpdateServiceCommand({ cluster: names.cluster, service: names.service, desiredCount: 2 }),
    );
    const put = await s3.send(
      new PutObjectCommand({ Bucket: setup.account.sourceBucket, Key: 'k', Body: 'v1' }),
    );
    setup.account.cloudWatch.setLoad('shop', 'dev', 90);
    setup.advance(30_000);
    const before = setup.account.snapshot();
    setup.account.flush();

    const clock = manualClock(setup.clock.now());
    const restarted = createEmulatedAccount({ dataDir, config: testConfig(), clock });
    await restarted.deployApp(SHARED_TEMPLATE_CACHE);
    const ecs2 = new ECSClient(clientConfig);
    const s32 = new S3Client(clientConfig);
    restarted.attach([ecs2, s32]);

    expect(restarted.snapshot()).toEqual(before);
    const service = (
      await ecs2.send(new DescribeServicesCommand({ cluster: names.cluster, services: [names.service] }))
    ).services?.[0];
    expect(service).toMatchObject({ desiredCount: 2, runningCount: 2 });
    const td = await ecs2.send(new DescribeTaskDefinitionCommand({ taskDefinition: names.taskFamily }));
    expect(td.taskDefinition?.revision).toBe(1);
    const object = await s32.send(
      new GetObjectCommand({ Bucket: restarted.sourceBucket, Key: 'k', VersionId: put.VersionId }),
    );
    expect(await object.Body?.transformToString()).toBe('v1');
  });

  it('gives a snapshot per stage for GET /stages', async () => {
    const autoScaling = setup.account.autoScaling;
    const group = autoScaling.commands.DescribeAutoScalingGroups({
      AutoScalingGroupNames: [names.autoScalingGroup],
    });
    const [stage] = setup.account.snapshot();
    expect(stage).toMatchObject({
      app: 'shop',
      stage: 'dev',
      taskDefinition: {
        revision: 1,
        image: 'public.ecr.aws/docker/library/busybox:stable',
      },
      desiredCount: 1,
      runningCount: 1,
      instances: [
        { id: group.AutoScalingGroups?.[0]?.Instances?.[0]?.InstanceId, status: 'ACTIVE', runningTasks: 1 },
      ],
      autoScalingGroup: { min: 1, max: 3, desired: 1 },
      lastPipelineExecution: undefined,
      load: 47.5,
    });
    expect(stage?.alarms).toHaveLength(4);
  });
});
