/**
 * The test account's own promises, which the path tests build on: calls are recorded as the
 * code under test made them, an armed fault answers exactly the next call of its command
 * with the SDK's error and changes nothing, and a planned deployment behaves as planned.
 */
import { ECSServiceException } from '@aws-sdk/client-ecs';
import { afterEach, describe, expect, it } from 'vitest';
import { clients } from '#shared/aws/clients.ts';
import { isTransient } from '#shared/errors.ts';
import { stageNames } from '#shared/naming.ts';
import { describeService, updateServiceTaskDefinition } from '#shared/release/ecs.ts';
import { createTestAccount, direct, type TestAccount, throttling } from './emulated-account.ts';

const dev = stageNames('starter', 'dev');
let t: TestAccount;
afterEach(() => t.dispose());

describe('the emulated test account', () => {
  it('records the calls of the shared SDK clients, not what created the stages', async () => {
    t = await createTestAccount();
    expect(t.calls).toEqual([]);
    await describeService(dev.cluster, dev.service, clients.ecs);
    expect(t.calls).toEqual([
      {
        service: 'ECS',
        command: 'DescribeServices',
        input: { cluster: dev.cluster, services: [dev.service] },
      },
    ]);
  });

  it('answers the next call of a command with an armed fault, as the SDK throws it, and changes nothing', async () => {
    t = await createTestAccount();
    const before = direct.service(t, dev.cluster, dev.service);
    t.fail('UpdateService', throttling);
    const failed = await updateServiceTaskDefinition(
      dev.cluster,
      dev.service,
      `${dev.taskFamily}:1`,
      clients.ecs,
    ).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(ECSServiceException);
    expect(failed).toMatchObject({ name: 'ThrottlingException', message: 'Rate exceeded' });
    expect(isTransient(failed)).toBe(true);
    expect(direct.service(t, dev.cluster, dev.service).deployments).toEqual(before.deployments);
    // Only the next call: the one after it goes through.
    await updateServiceTaskDefinition(dev.cluster, dev.service, `${dev.taskFamily}:1`, clients.ecs);
    expect(t.count('UpdateService')).toBe(2);
  });

  it('runs a planned deployment as planned: tasks that take their time, or fail with the given stop code', async () => {
    t = await createTestAccount();
    t.account.autoScaling.commands.SetDesiredCapacity({
      AutoScalingGroupName: dev.autoScalingGroup,
      DesiredCapacity: 2,
    });
    t.account.ecs.planDeployments(
      dev.cluster,
      dev.service,
      { startSeconds: 300 },
      { failReason: 'CannotPullContainerError: not found', stopCode: 'TaskFailedToStart' },
    );
    const started = t.clock.now();
    const slow = t.account.ecs.commands.UpdateService({
      cluster: dev.cluster,
      service: dev.service,
      forceNewDeployment: true,
    });
    const slowId = slow.service?.deployments?.[0]?.id;
    direct.until(
      t,
      () => direct.service(t, dev.cluster, dev.service).deployments?.[0]?.rolloutState === 'COMPLETED',
    );
    expect(direct.service(t, dev.cluster, dev.service).deployments?.[0]?.id).toBe(slowId);
    expect(t.clock.now() - started).toBeGreaterThanOrEqual(300_000);

    const failing = t.account.ecs.commands.UpdateService({
      cluster: dev.cluster,
      service: dev.service,
      forceNewDeployment: true,
    });
    const failingId = failing.service?.deployments?.[0]?.id as string;
    direct.until(t, () =>
      (direct.service(t, dev.cluster, dev.service).deployments ?? []).some(
        (d) => d.id === failingId && d.rolloutState === 'FAILED',
      ),
    );
    const stopped = t.account.ecs.commands.ListTasks({
      cluster: dev.cluster,
      startedBy: failingId,
      desiredStatus: 'STOPPED',
    }).taskArns;
    const tasks = t.account.ecs.commands.DescribeTasks({ cluster: dev.cluster, tasks: stopped }).tasks ?? [];
    expect(tasks.length).toBeGreaterThanOrEqual(3);
    for (const task of tasks)
      expect(task).toMatchObject({
        stopCode: 'TaskFailedToStart',
        stoppedReason: 'CannotPullContainerError: not found',
      });
  });
});
