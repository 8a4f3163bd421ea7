import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  SetDesiredCapacityCommand,
  SetInstanceProtectionCommand,
  TerminateInstanceInAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient, DescribeAlarmsCommand, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import {
  DescribeContainerInstancesCommand,
  DescribeServicesCommand,
  ECSClient,
  ListContainerInstancesCommand,
  UpdateContainerInstancesStateCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  describeGroup,
  setDesiredCapacity,
  setInstanceProtection,
  terminateInstanceInGroup,
} from '../../../shared/scaling/autoscaling.ts';
import { describeAlarmStates, setAlarmState } from '../../../shared/scaling/cloudwatch.ts';
import {
  describeContainerInstances,
  describeServiceCount,
  listContainerInstances,
  setContainerInstanceState,
  setServiceDesiredCount,
} from '../../../shared/scaling/ecs.ts';
import { ContainerInstanceUpdateFailed, ScalingTargetNotFound } from '../../../shared/scaling/errors.ts';

const ecs = mockClient(ECSClient);
const autoScaling = mockClient(AutoScalingClient);
const cloudWatch = mockClient(CloudWatchClient);
const clients = {
  ecs: new ECSClient({}),
  autoScaling: new AutoScalingClient({}),
  cloudWatch: new CloudWatchClient({}),
};
afterEach(() => {
  ecs.reset();
  autoScaling.reset();
  cloudWatch.reset();
});

describe('ECS scaling adapter', () => {
  it('reads the desired count of an ACTIVE service', async () => {
    ecs.on(DescribeServicesCommand).resolves({
      services: [{ serviceName: 's', status: 'ACTIVE', desiredCount: 2, runningCount: 2, pendingCount: 0 }],
    });
    expect(await describeServiceCount('c', 's', clients.ecs)).toEqual({
      desiredCount: 2,
      runningCount: 2,
      pendingCount: 0,
    });
    expect(ecs).toHaveReceivedCommandWith(DescribeServicesCommand, { cluster: 'c', services: ['s'] });
  });

  it('reports a missing or draining service as ScalingTargetNotFound', async () => {
    ecs
      .on(DescribeServicesCommand)
      .resolves({ services: [{ serviceName: 's', status: 'DRAINING' }], failures: [] });
    await expect(describeServiceCount('c', 's', clients.ecs)).rejects.toBeInstanceOf(ScalingTargetNotFound);
  });

  it('changes only the desired count', async () => {
    ecs.on(UpdateServiceCommand).resolves({});
    await setServiceDesiredCount('c', 's', 4, clients.ecs);
    expect(ecs).toHaveReceivedCommandWith(UpdateServiceCommand, {
      cluster: 'c',
      service: 's',
      desiredCount: 4,
    });
    expect(Object.keys(ecs.commandCalls(UpdateServiceCommand)[0]?.args[0].input ?? {}).sort()).toEqual([
      'cluster',
      'desiredCount',
      'service',
    ]);
  });

  it('lists every container instance across pages and describes them 100 at a time', async () => {
    const arns = Array.from({ length: 150 }, (_, i) => `arn:ci/${i}`);
    ecs
      .on(ListContainerInstancesCommand)
      .resolvesOnce({ containerInstanceArns: arns.slice(0, 100), nextToken: 't' })
      .resolvesOnce({ containerInstanceArns: arns.slice(100) });
    ecs.on(DescribeContainerInstancesCommand).callsFake((input) => ({
      containerInstances: (input.containerInstances ?? []).map((arn: string) => ({
        containerInstanceArn: arn,
        ec2InstanceId: `i-${arn.slice(7)}`,
        status: 'ACTIVE',
        runningTasksCount: 1,
        pendingTasksCount: 0,
      })),
    }));
    const instances = await listContainerInstances('c', clients.ecs);
    expect(instances).toHaveLength(150);
    expect(ecs).toHaveReceivedCommandWith(ListContainerInstancesCommand, { cluster: 'c', nextToken: 't' });
    expect(
      ecs
        .commandCalls(DescribeContainerInstancesCommand)
        .map((c) => c.args[0].input.containerInstances?.length),
    ).toEqual([100, 50]);
  });

  it('reads the CPU and memory an instance offers and has left, and leaves them out when ECS does not say', async () => {
    ecs.on(DescribeContainerInstancesCommand).resolves({
      containerInstances: [
        {
          containerInstanceArn: 'arn:ci/1',
          ec2InstanceId: 'i-1',
          status: 'ACTIVE',
          runningTasksCount: 1,
          pendingTasksCount: 0,
          registeredResources: [
            { name: 'CPU', type: 'INTEGER', integerValue: 2048 },
            { name: 'MEMORY', type: 'INTEGER', integerValue: 982 },
            { name: 'PORTS', type: 'STRINGSET', stringSetValue: ['22'] },
          ],
          remainingResources: [
            { name: 'CPU', type: 'INTEGER', integerValue: 1792 },
            { name: 'MEMORY', type: 'INTEGER', integerValue: 470 },
          ],
        },
        { containerInstanceArn: 'arn:ci/2', ec2InstanceId: 'i-2', status: 'ACTIVE' },
      ],
    });
    const [one, two] = await describeContainerInstances('c', ['arn:ci/1', 'arn:ci/2'], clients.ecs);
    expect(one).toMatchObject({
      registered: { cpu: 2048, memory: 982 },
      remaining: { cpu: 1792, memory: 470 },
    });
    expect(two).not.toHaveProperty('registered');
    expect(two).not.toHaveProperty('remaining');
  });

  it('sets an instance DRAINING and surfaces an ECS failure by name', async () => {
    ecs
      .on(UpdateContainerInstancesStateCommand)
      .resolvesOnce({ failures: [] })
      .resolvesOnce({ failures: [{ arn: 'arn:ci/1', reason: 'MISSING' }] });
    await setContainerInstanceState('c', 'arn:ci/1', 'DRAINING', clients.ecs);
    expect(ecs).toHaveReceivedCommandWith(UpdateContainerInstancesStateCommand, {
      cluster: 'c',
      containerInstances: ['arn:ci/1'],
      status: 'DRAINING',
    });
    await expect(setContainerInstanceState('c', 'arn:ci/1', 'ACTIVE', clients.ecs)).rejects.toThrow(
      new ContainerInstanceUpdateFailed(
        'ECS could not set container instance arn:ci/1 of cluster c to ACTIVE: MISSING',
      ),
    );
  });
});

describe('Auto Scaling adapter', () => {
  it('reads capacity, bounds and instance protection', async () => {
    autoScaling.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [
        {
          AutoScalingGroupName: 'g',
          DesiredCapacity: 2,
          MinSize: 1,
          MaxSize: 3,
          Instances: [{ InstanceId: 'i-1', LifecycleState: 'InService', ProtectedFromScaleIn: true }],
        } as never,
      ],
    });
    expect(await describeGroup('g', clients.autoScaling)).toEqual({
      name: 'g',
      desiredCapacity: 2,
      minSize: 1,
      maxSize: 3,
      instances: [{ instanceId: 'i-1', lifecycleState: 'InService', protectedFromScaleIn: true }],
    });
  });

  it('reports a missing group as ScalingTargetNotFound', async () => {
    autoScaling.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [] });
    await expect(describeGroup('g', clients.autoScaling)).rejects.toThrow(
      'Auto Scaling group g does not exist',
    );
  });

  it('sets the capacity without honouring the group cooldown, unprotects, and terminates with the capacity decremented', async () => {
    autoScaling.on(SetDesiredCapacityCommand).resolves({});
    autoScaling.on(SetInstanceProtectionCommand).resolves({});
    autoScaling.on(TerminateInstanceInAutoScalingGroupCommand).resolves({});
    await setDesiredCapacity('g', 3, clients.autoScaling);
    await setInstanceProtection('g', 'i-1', false, clients.autoScaling);
    await terminateInstanceInGroup('i-1', clients.autoScaling);
    expect(autoScaling).toHaveReceivedCommandWith(SetDesiredCapacityCommand, {
      AutoScalingGroupName: 'g',
      DesiredCapacity: 3,
      HonorCooldown: false,
    });
    expect(autoScaling).toHaveReceivedCommandWith(SetInstanceProtectionCommand, {
      AutoScalingGroupName: 'g',
      InstanceIds: ['i-1'],
      ProtectedFromScaleIn: false,
    });
    expect(autoScaling).toHaveReceivedCommandWith(TerminateInstanceInAutoScalingGroupCommand, {
      InstanceId: 'i-1',
      ShouldDecrementDesiredCapacity: true,
    });
  });
});

describe('CloudWatch adapter', () => {
  it('reads the states of both alarms of a target in one call, leaving out the missing ones', async () => {
    cloudWatch.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: [{ AlarmName: 'high', StateValue: 'OK' }],
      CompositeAlarms: [],
    });
    const states = await describeAlarmStates(['high', 'low'], clients.cloudWatch);
    expect([...states]).toEqual([['high', 'OK']]);
    expect(cloudWatch).toHaveReceivedCommandTimes(DescribeAlarmsCommand, 1);
    expect(cloudWatch).toHaveReceivedCommandWith(DescribeAlarmsCommand, { AlarmNames: ['high', 'low'] });
  });

  it('sets an alarm state with its reason, cut to the 1023 characters CloudWatch allows', async () => {
    cloudWatch.on(SetAlarmStateCommand).resolves({});
    await setAlarmState('low', 'OK', 'stackpilot re-armed this alarm', clients.cloudWatch);
    expect(cloudWatch).toHaveReceivedCommandWith(SetAlarmStateCommand, {
      AlarmName: 'low',
      StateValue: 'OK',
      StateReason: 'stackpilot re-armed this alarm',
    });
    await setAlarmState('low', 'OK', 'x'.repeat(2000), clients.cloudWatch);
    expect(cloudWatch.commandCalls(SetAlarmStateCommand)[1]?.args[0].input.StateReason).toHaveLength(1023);
  });
});
