import {
  AutoScalingClient,
  AutoScalingServiceException,
  DescribeAutoScalingGroupsCommand,
  SetDesiredCapacityCommand,
  SetInstanceProtectionCommand,
  TerminateInstanceInAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  DescribeContainerInstancesCommand,
  DescribeServicesCommand,
  ECSClient,
  ListContainerInstancesCommand,
  UpdateContainerInstancesStateCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { afterEach, describe, expect, it } from 'vitest';
import { stageNames } from '#shared/naming.ts';
import { clientConfig, newDataDir, removeDataDir, testAccount, testConfig } from './support.ts';

const names = stageNames('shop', 'dev');
const cluster = names.cluster;

async function setUp(stage: Record<string, unknown>) {
  const dataDir = newDataDir();
  const setup = await testAccount({ dataDir, config: testConfig(stage) });
  const ecs = new ECSClient(clientConfig);
  const autoScaling = new AutoScalingClient(clientConfig);
  setup.account.attach({ ecs, autoScaling });
  const instances = async () => {
    const arns = (await ecs.send(new ListContainerInstancesCommand({ cluster }))).containerInstanceArns ?? [];
    if (arns.length === 0) return [];
    return (
      (await ecs.send(new DescribeContainerInstancesCommand({ cluster, containerInstances: arns })))
        .containerInstances ?? []
    );
  };
  const group = async () =>
    (
      await autoScaling.send(
        new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [names.autoScalingGroup] }),
      )
    ).AutoScalingGroups?.[0];
  return { ...setup, dataDir, ecs, autoScaling, instances, group };
}

describe('emulated cluster capacity', () => {
  let dataDir: string | undefined;
  afterEach(() => dataDir && removeDataDir(dataDir));

  it('moves the tasks of a DRAINING instance elsewhere until it runs none', async () => {
    const s = await setUp({ instances: { min: 2, max: 3 } });
    dataDir = s.dataDir;
    const busy = (await s.instances()).find((i) => i.runningTasksCount === 1);
    expect(busy).toBeDefined();

    await s.ecs.send(
      new UpdateContainerInstancesStateCommand({
        cluster,
        containerInstances: [busy?.containerInstanceArn ?? ''],
        status: 'DRAINING',
      }),
    );
    const draining = await s.ecs.send(new ListContainerInstancesCommand({ cluster, status: 'DRAINING' }));
    expect(draining.containerInstanceArns).toEqual([busy?.containerInstanceArn]);

    s.advance(60_000);
    const after = await s.instances();
    expect(after.find((i) => i.containerInstanceArn === busy?.containerInstanceArn)).toMatchObject({
      status: 'DRAINING',
      runningTasksCount: 0,
      pendingTasksCount: 0,
    });
    expect(after.find((i) => i.containerInstanceArn !== busy?.containerInstanceArn)?.runningTasksCount).toBe(
      1,
    );
    const service = (await s.ecs.send(new DescribeServicesCommand({ cluster, services: [names.service] })))
      .services?.[0];
    expect(service?.runningCount).toBe(1);
  });

  it('emits SERVICE_TASK_PLACEMENT_FAILURE when no instance has room, and places the task once one joins', async () => {
    // A t3.micro registers 943 MiB: one 512 MiB task per instance.
    const s = await setUp({ instanceType: 't3.micro', instances: { min: 1, max: 3 } });
    dataDir = s.dataDir;
    await s.ecs.send(new UpdateServiceCommand({ cluster, service: names.service, desiredCount: 2 }));
    s.advance(2_000);

    const failure = s.events.find((e) => e.detail.eventName === 'SERVICE_TASK_PLACEMENT_FAILURE');
    expect(failure).toMatchObject({
      'detail-type': 'ECS Service Action',
      source: 'aws.ecs',
      resources: [`arn:aws:ecs:us-east-1:123456789012:service/${cluster}/${names.service}`],
      detail: {
        eventType: 'WARN',
        clusterArn: `arn:aws:ecs:us-east-1:123456789012:cluster/${cluster}`,
        reasons: ['RESOURCE:MEMORY'],
      },
    });
    const service = (await s.ecs.send(new DescribeServicesCommand({ cluster, services: [names.service] })))
      .services?.[0];
    expect(service?.events?.[0]?.message).toMatch(
      /was unable to place a task because no container instance met all of its requirements.*insufficient memory/,
    );

    await s.autoScaling.send(
      new SetDesiredCapacityCommand({ AutoScalingGroupName: names.autoScalingGroup, DesiredCapacity: 2 }),
    );
    expect((await s.group())?.Instances?.map((i) => i.LifecycleState).sort()).toEqual([
      'InService',
      'Pending',
    ]);
    s.advance(60_000);
    expect((await s.instances()).map((i) => i.runningTasksCount)).toEqual([1, 1]);
  });

  it('launches and terminates instances, keeping the group within its bounds', async () => {
    const s = await setUp({ instances: { min: 1, max: 2 } });
    dataDir = s.dataDir;
    const only = (await s.group())?.Instances?.[0]?.InstanceId ?? '';
    const atMin = await s.autoScaling
      .send(
        new TerminateInstanceInAutoScalingGroupCommand({
          InstanceId: only,
          ShouldDecrementDesiredCapacity: true,
        }),
      )
      .catch((e: unknown) => e);
    expect(atMin).toBeInstanceOf(AutoScalingServiceException);
    expect(atMin).toMatchObject({
      name: 'ValidationError',
      message: expect.stringContaining('min size constraint'),
    });
    const aboveMax = await s.autoScaling
      .send(
        new SetDesiredCapacityCommand({ AutoScalingGroupName: names.autoScalingGroup, DesiredCapacity: 3 }),
      )
      .catch((e: unknown) => e);
    expect(aboveMax).toMatchObject({
      name: 'ValidationError',
      message: expect.stringContaining('above max value 2'),
    });

    await s.autoScaling.send(
      new SetDesiredCapacityCommand({ AutoScalingGroupName: names.autoScalingGroup, DesiredCapacity: 2 }),
    );
    s.advance(50_000);
    expect(await s.instances()).toHaveLength(2);

    // New instances are protected from scale-in (as the CDK app sets it): a lower desired capacity removes none.
    await s.autoScaling.send(
      new SetDesiredCapacityCommand({ AutoScalingGroupName: names.autoScalingGroup, DesiredCapacity: 1 }),
    );
    s.advance(20_000);
    expect((await s.group())?.Instances?.map((i) => [i.LifecycleState, i.ProtectedFromScaleIn])).toEqual([
      ['InService', true],
      ['InService', true],
    ]);
    const added = (await s.group())?.Instances?.find((i) => i.InstanceId !== only)?.InstanceId ?? '';
    await s.autoScaling.send(
      new SetInstanceProtectionCommand({
        AutoScalingGroupName: names.autoScalingGroup,
        InstanceIds: [added],
        ProtectedFromScaleIn: false,
      }),
    );
    s.advance(20_000);
    const group = await s.group();
    expect(group?.Instances).toEqual([
      expect.objectContaining({ InstanceId: only, ProtectedFromScaleIn: true, LifecycleState: 'InService' }),
    ]);
    expect((await s.instances()).map((i) => i.ec2InstanceId)).toEqual([only]);
  });

  it('terminates a chosen instance with its desired capacity decremented; its container instance leaves the cluster', async () => {
    const s = await setUp({ instances: { min: 1, max: 3 } });
    dataDir = s.dataDir;
    await s.autoScaling.send(
      new SetDesiredCapacityCommand({ AutoScalingGroupName: names.autoScalingGroup, DesiredCapacity: 2 }),
    );
    s.advance(50_000);
    const empty = (await s.instances()).find((i) => i.runningTasksCount === 0);
    const out = await s.autoScaling.send(
      new TerminateInstanceInAutoScalingGroupCommand({
        InstanceId: empty?.ec2InstanceId,
        ShouldDecrementDesiredCapacity: true,
      }),
    );
    expect(out.Activity).toMatchObject({
      StatusCode: 'InProgress',
      Description: `Terminating EC2 instance: ${empty?.ec2InstanceId}`,
    });
    s.advance(20_000);
    expect((await s.group())?.DesiredCapacity).toBe(1);
    expect((await s.instances()).map((i) => i.ec2InstanceId)).not.toContain(empty?.ec2InstanceId);
    const service = (await s.ecs.send(new DescribeServicesCommand({ cluster, services: [names.service] })))
      .services?.[0];
    expect(service?.runningCount).toBe(1);
  });
});
