import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTagsForResourceCommand,
  ListTasksCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  describeService,
  describeTaskDefinition,
  stoppedTasksOf,
  updateServiceTaskDefinition,
} from '#shared/release/ecs.ts';
import { listHistoryKeys, putRecord } from '#shared/release/history-store.ts';
import { starterRevision, starterTags } from './fixtures.ts';

const ecs = mockClient(ECSClient);
const s3 = mockClient(S3Client);
const clients = { ecs: new ECSClient({}), s3: new S3Client({}) };
afterEach(() => {
  ecs.reset();
  s3.reset();
});

describe('ECS release adapter', () => {
  it('describes the stage service by cluster and name', async () => {
    ecs
      .on(DescribeServicesCommand)
      .resolves({ services: [{ serviceName: 'stackpilot-a-b', status: 'ACTIVE' }] });
    await expect(describeService('stackpilot-a-b', 'stackpilot-a-b', clients.ecs)).resolves.toMatchObject({
      status: 'ACTIVE',
    });
    expect(ecs).toHaveReceivedCommandWith(DescribeServicesCommand, {
      cluster: 'stackpilot-a-b',
      services: ['stackpilot-a-b'],
    });
  });

  it('reports a missing or draining service as ServiceNotFound with the reason', async () => {
    ecs.on(DescribeServicesCommand).resolves({ services: [], failures: [{ reason: 'MISSING' }] });
    await expect(describeService('c', 's', clients.ecs)).rejects.toMatchObject({
      name: 'ServiceNotFound',
      message: 'ECS service s of cluster c was not found (MISSING); is the stage deployed?',
    });
    ecs.on(DescribeServicesCommand).resolves({ services: [{ serviceName: 's', status: 'DRAINING' }] });
    await expect(describeService('c', 's', clients.ecs)).rejects.toThrow('(DRAINING)');
  });

  it('describes a revision with its tags from ListTagsForResource', async () => {
    const definition = starterRevision();
    ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: definition });
    ecs.on(ListTagsForResourceCommand).resolves({ tags: starterTags });
    const described = await describeTaskDefinition('stackpilot-starter-dev:12', clients.ecs);
    expect(described.tags).toEqual(starterTags);
    expect(ecs).toHaveReceivedCommandWith(ListTagsForResourceCommand, {
      resourceArn: definition.taskDefinitionArn,
    });
  });

  it('turns the ClientException of an unknown revision into RevisionNotFound', async () => {
    ecs
      .on(DescribeTaskDefinitionCommand)
      .rejects(Object.assign(new Error('Unable to describe task definition.'), { name: 'ClientException' }));
    await expect(describeTaskDefinition('stackpilot-a-b:99', clients.ecs)).rejects.toMatchObject({
      name: 'RevisionNotFound',
      message: 'task definition stackpilot-a-b:99 does not exist',
    });
  });

  it('updates the service to a revision without forcing a new deployment', async () => {
    ecs.on(UpdateServiceCommand).resolves({ service: { serviceName: 's' } });
    await updateServiceTaskDefinition('c', 's', 'arn:td:13', clients.ecs);
    expect(ecs).toHaveReceivedCommandWith(UpdateServiceCommand, {
      cluster: 'c',
      service: 's',
      taskDefinition: 'arn:td:13',
    });
    expect(ecs.commandCalls(UpdateServiceCommand)[0]?.args[0].input).not.toHaveProperty('forceNewDeployment');
  });

  it("lists the deployment's stopped tasks by startedBy, newest first", async () => {
    ecs.on(ListTasksCommand).resolves({ taskArns: ['t1', 't2'] });
    ecs.on(DescribeTasksCommand).resolves({
      tasks: [
        { taskArn: 't1', stoppedAt: new Date(1000), stoppedReason: 'old' },
        { taskArn: 't2', stoppedAt: new Date(2000), stoppedReason: 'new' },
      ],
    });
    const tasks = await stoppedTasksOf('c', 'ecs-svc/1', undefined, clients.ecs);
    expect(tasks.map((t) => t.stoppedReason)).toEqual(['new', 'old']);
    expect(ecs).toHaveReceivedCommandWith(ListTasksCommand, {
      cluster: 'c',
      startedBy: 'ecs-svc/1',
      desiredStatus: 'STOPPED',
    });
  });

  it('asks for no task description when nothing stopped', async () => {
    ecs.on(ListTasksCommand).resolves({ taskArns: [] });
    await expect(stoppedTasksOf('c', 'ecs-svc/1', undefined, clients.ecs)).resolves.toEqual([]);
    expect(ecs).toHaveReceivedCommandTimes(DescribeTasksCommand, 0);
  });
});

describe('release history store', () => {
  it('lists every page of a stage history', async () => {
    s3.on(ListObjectsV2Command)
      .resolvesOnce({ Contents: [{ Key: 'releases/a/b/1' }], IsTruncated: true, NextContinuationToken: 'n' })
      .resolvesOnce({ Contents: [{ Key: 'releases/a/b/2' }], IsTruncated: false });
    await expect(listHistoryKeys('bucket', 'a', 'b', clients.s3)).resolves.toEqual([
      'releases/a/b/1',
      'releases/a/b/2',
    ]);
    expect(s3).toHaveReceivedCommandWith(ListObjectsV2Command, {
      Bucket: 'bucket',
      Prefix: 'releases/a/b/',
      ContinuationToken: 'n',
    });
  });

  it('stores a record as JSON under its key', async () => {
    s3.on(PutObjectCommand).resolves({});
    const key = await putRecord(
      'bucket',
      {
        app: 'a',
        stage: 'b',
        action: 'rollback',
        revision: 3,
        taskDefinitionArn: 'arn',
        result: 'COMPLETED',
        runningRevision: 3,
        execution: 'e',
        startedAt: '2026-01-01T00:00:00.000Z',
        finishedAt: '2026-01-01T00:05:00.000Z',
      },
      clients.s3,
    );
    expect(key).toBe('releases/a/b/20260101T000500000Z-r3-COMPLETED.json');
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, {
      Bucket: 'bucket',
      Key: key,
      ContentType: 'application/json',
    });
  });
});
