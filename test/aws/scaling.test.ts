/**
 * The `scale` state machine's adapters on moto, on the stage's resources as the template creates
 * them: the Auto Scaling group (sizes, scale-in protection of new instances), its instances as
 * ECS container instances, the service's counts, the four alarms, and the guard's leases in S3
 * with conditional writes (If-None-Match and If-Match).
 */
import { basename } from 'node:path';
import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { RegisterContainerInstanceCommand } from '@aws-sdk/client-ecs';
import { beforeAll, describe, expect, it } from 'vitest';
import { clients } from '#shared/aws/clients.ts';
import {
  describeGroup,
  setDesiredCapacity,
  setInstanceProtection,
  terminateInstanceInGroup,
} from '#shared/scaling/autoscaling.ts';
import { describeAlarmStates, setAlarmState } from '#shared/scaling/cloudwatch.ts';
import {
  describeContainerInstance,
  describeServiceCount,
  listContainerInstances,
  setContainerInstanceState,
  setServiceDesiredCount,
} from '#shared/scaling/ecs.ts';
import { ScalingTargetNotFound } from '#shared/scaling/errors.ts';
import { acquireScalingLease, releaseScalingLease } from '#shared/scaling/lease-store.ts';
import { appTemplates, connectToMoto, motoEndpoint } from './support/connect.ts';
import { type DeployedApp, deployApp } from './support/deploy.ts';

const NAME = 'stackpilot-starter-dev';

describe.skipIf(!motoEndpoint())('the scale adapters on moto', () => {
  const account = connectToMoto(basename(import.meta.filename));
  let app: DeployedApp;

  beforeAll(async () => {
    app = await deployApp(account, appTemplates());
  });

  it('reads and changes the service count', async () => {
    expect(await describeServiceCount(NAME, NAME, clients.ecs)).toEqual({
      desiredCount: 1,
      runningCount: 1,
      pendingCount: 0,
    });
    await setServiceDesiredCount(NAME, NAME, 2, clients.ecs);
    expect((await describeServiceCount(NAME, NAME, clients.ecs)).desiredCount).toBe(2);
    await expect(describeServiceCount(NAME, 'no-such-service', clients.ecs)).rejects.toThrow(
      ScalingTargetNotFound,
    );
  });

  it('reads the group as the template sizes it, scales it out, unprotects and terminates an instance', async () => {
    const group = await describeGroup(NAME, clients.autoScaling);
    expect(group).toMatchObject({ name: NAME, desiredCapacity: 1, minSize: 1, maxSize: 3 });
    expect(group.instances).toEqual([
      expect.objectContaining({ lifecycleState: 'InService', protectedFromScaleIn: true }),
    ]);
    await setDesiredCapacity(NAME, 2, clients.autoScaling);
    const grown = await describeGroup(NAME, clients.autoScaling);
    expect(grown.desiredCapacity).toBe(2);
    expect(grown.instances).toHaveLength(2);
    const [, added] = grown.instances;
    await setInstanceProtection(NAME, added?.instanceId as string, false, clients.autoScaling);
    expect(
      (await describeGroup(NAME, clients.autoScaling)).instances.find(
        (i) => i.instanceId === added?.instanceId,
      ),
    ).toMatchObject({
      protectedFromScaleIn: false,
    });
    await terminateInstanceInGroup(added?.instanceId as string, clients.autoScaling);
    const { AutoScalingGroups } = await app.clients.autoScaling.send(
      new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [NAME] }),
    );
    expect(AutoScalingGroups?.[0]?.DesiredCapacity).toBe(1);
    await expect(describeGroup('no-such-group', clients.autoScaling)).rejects.toThrow(ScalingTargetNotFound);
  });

  it('lists the container instances, drains one and puts it back', async () => {
    const [instance] = await listContainerInstances(NAME, clients.ecs);
    expect(instance).toMatchObject({ status: 'ACTIVE', ec2InstanceId: expect.stringMatching(/^i-/) });
    expect(instance?.registered?.cpu).toBeGreaterThan(0);
    await setContainerInstanceState(NAME, instance?.arn as string, 'DRAINING', clients.ecs);
    expect((await describeContainerInstance(NAME, instance?.arn as string, clients.ecs))?.status).toBe(
      'DRAINING',
    );
    await setContainerInstanceState(NAME, instance?.arn as string, 'ACTIVE', clients.ecs);
    expect((await describeContainerInstance(NAME, instance?.arn as string, clients.ecs))?.status).toBe(
      'ACTIVE',
    );
    // A second agent registering shows as a second instance.
    const { AutoScalingGroups } = await app.clients.autoScaling.send(
      new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [NAME] }),
    );
    await app.clients.ecs.send(
      new RegisterContainerInstanceCommand({
        cluster: NAME,
        instanceIdentityDocument: JSON.stringify({
          instanceId: AutoScalingGroups?.[0]?.Instances?.[0]?.InstanceId,
        }),
      }),
    );
    expect(await listContainerInstances(NAME, clients.ecs)).toHaveLength(2);
  });

  it('reads the four alarms of the template and sets one', async () => {
    const names = ['service-cpu-high', 'service-cpu-low', 'cluster-cpu-high', 'cluster-cpu-low'].map(
      (n) => `${NAME}-${n}`,
    );
    const states = await describeAlarmStates([...names, 'no-such-alarm'], clients.cloudWatch);
    expect([...states.keys()].sort()).toEqual([...names].sort());
    await setAlarmState(`${NAME}-service-cpu-high`, 'ALARM', 'conformance check', clients.cloudWatch);
    const after = await describeAlarmStates(
      [`${NAME}-service-cpu-high`, 'no-such-alarm'],
      clients.cloudWatch,
    );
    expect(after.get(`${NAME}-service-cpu-high`)).toBe('ALARM');
    expect(after.has('no-such-alarm')).toBe(false);
  });

  it('takes, refuses, takes over and releases the guard lease with conditional writes', async () => {
    const bucket = app.functionEnvironment('StackpilotControlPlane', 'ScaleAcquireScalingLease')
      .SCALING_GUARD_BUCKET as string;
    const request = { bucket, app: 'starter', stage: 'dev', target: 'service' as const, leaseSeconds: 60 };
    const t0 = new Date('2026-01-01T00:00:00Z');
    const first = await acquireScalingLease(
      { ...request, eventKey: 'e1', owner: 'exec-1' },
      () => t0,
      clients.s3,
    );
    expect(first).toMatchObject({ acquired: true });
    // The same event again: If-None-Match refuses the marker (412), the marker names exec-1.
    const duplicate = await acquireScalingLease(
      { ...request, eventKey: 'e1', owner: 'exec-2' },
      () => t0,
      clients.s3,
    );
    expect(duplicate).toMatchObject({ acquired: false, duplicate: true });
    const busy = await acquireScalingLease(
      { ...request, eventKey: 'e2', owner: 'exec-2' },
      () => t0,
      clients.s3,
    );
    expect(busy).toMatchObject({ acquired: false, duplicate: false });
    // After expiry the lease is taken over with If-Match on its ETag.
    const later = new Date(t0.getTime() + 120_000);
    const takeover = await acquireScalingLease(
      { ...request, eventKey: 'e3', owner: 'exec-3' },
      () => later,
      clients.s3,
    );
    expect(takeover).toMatchObject({ acquired: true, reason: expect.stringContaining('taken over') });
    expect(await releaseScalingLease({ ...request, owner: 'exec-1' }, clients.s3)).toMatchObject({
      released: false,
    });
    expect(await releaseScalingLease({ ...request, owner: 'exec-3' }, clients.s3)).toMatchObject({
      released: true,
    });
  });
});
