/**
 * The production adapters (`shared/release/ecs.ts`, `shared/scaling/ecs.ts`,
 * `shared/scaling/autoscaling.ts`) and the release's pure decisions, unchanged, on
 * the emulated account: what the sandbox relies on when it runs the real handlers.
 */
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { ECSClient } from '@aws-sdk/client-ecs';
import { S3Client } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stageNames } from '#shared/naming.ts';
import { judgeDeployment } from '#shared/release/deployment.ts';
import {
  describeService,
  describeTaskDefinition,
  registerTaskDefinition,
  stoppedTasksOf,
  updateServiceTaskDefinition,
} from '#shared/release/ecs.ts';
import { deriveTaskDefinition } from '#shared/release/task-definition.ts';
import {
  describeGroup,
  setDesiredCapacity,
  setInstanceProtection,
  terminateInstanceInGroup,
} from '#shared/scaling/autoscaling.ts';
import {
  describeContainerInstance,
  listContainerInstances,
  setContainerInstanceState,
} from '#shared/scaling/ecs.ts';
import { acquireScalingLease, releaseScalingLease } from '#shared/scaling/lease-store.ts';
import { clientConfig, newDataDir, removeDataDir, testAccount, testConfig } from './support.ts';

const names = stageNames('shop', 'dev');
const registry = '123456789012.dkr.ecr.us-east-1.amazonaws.com/stackpilot/shop';

describe('production adapters on the emulated account', () => {
  let dataDir: string;
  let setup: Awaited<ReturnType<typeof testAccount>>;
  let ecs: ECSClient;
  let autoScaling: AutoScalingClient;

  beforeEach(async () => {
    dataDir = newDataDir();
    setup = await testAccount({ dataDir, config: testConfig({ instances: { min: 2, max: 3 } }) });
    ecs = new ECSClient(clientConfig);
    autoScaling = new AutoScalingClient(clientConfig);
    setup.account.attach([ecs, autoScaling]);
  });

  afterEach(() => removeDataDir(dataDir));

  /** Registers the image as the release does and starts the deployment; returns its id. */
  async function release(image: string): Promise<string> {
    const service = await describeService(names.cluster, names.service, ecs);
    const { taskDefinition, tags } = await describeTaskDefinition(service.taskDefinition ?? '', ecs);
    const derived = deriveTaskDefinition(taskDefinition, tags, image);
    if (!derived.input) throw new Error('nothing to register');
    const registered = await registerTaskDefinition(derived.input, ecs);
    const updated = await updateServiceTaskDefinition(
      names.cluster,
      names.service,
      registered.taskDefinitionArn ?? '',
      ecs,
    );
    return updated.deployments?.find((d) => d.status === 'PRIMARY')?.id ?? '';
  }

  it('releases a new image: the deployment is judged IN_PROGRESS, then COMPLETED', async () => {
    const id = await release(`${registry}:abc123`);
    expect(judgeDeployment(await describeService(names.cluster, names.service, ecs), id).state).toBe(
      'IN_PROGRESS',
    );
    setup.advance(40_000);
    expect(judgeDeployment(await describeService(names.cluster, names.service, ecs), id)).toEqual({
      state: 'COMPLETED',
    });
    const running = await describeService(names.cluster, names.service, ecs);
    expect(running.taskDefinition).toMatch(/:2$/);
  });

  it('judges a circuit-breaker failure as FAILED, already replaced by the rollback, with the stopped tasks as evidence', async () => {
    const id = await release(`${registry}:fail-0123`);
    // Poll as the release does; the rollback is in progress when the failure shows.
    let verdict = judgeDeployment(await describeService(names.cluster, names.service, ecs), id);
    for (let second = 0; second < 120 && verdict.state === 'IN_PROGRESS'; second += 1) {
      setup.advance(1_000);
      verdict = judgeDeployment(await describeService(names.cluster, names.service, ecs), id);
    }
    expect(verdict).toMatchObject({
      state: 'FAILED',
      reason: 'ECS deployment circuit breaker: tasks failed to start.',
      replacedBy: { byCircuitBreaker: true, taskDefinitionArn: expect.stringMatching(/:1$/) },
    });
    const stopped = await stoppedTasksOf(names.cluster, id, 10, ecs);
    expect(stopped.length).toBeGreaterThanOrEqual(3);
    expect(new Set(stopped.map((t) => t.startedBy))).toEqual(new Set([id]));
    expect(stopped[0]).toMatchObject({
      stopCode: 'EssentialContainerExited',
      stoppedReason: 'Essential container in task exited',
    });
  });

  it('scales the cluster in as the scale state machine does: drain the emptiest, unprotect, terminate', async () => {
    await setDesiredCapacity(names.autoScalingGroup, 3, autoScaling);
    setup.advance(50_000);
    const instances = await listContainerInstances(names.cluster, ecs);
    expect(instances).toHaveLength(3);
    const emptiest = [...instances].sort((a, b) => a.runningTasksCount - b.runningTasksCount)[0];
    if (!emptiest) throw new Error('no instance');

    await setContainerInstanceState(names.cluster, emptiest.arn, 'DRAINING', ecs);
    setup.advance(20_000);
    expect(await describeContainerInstance(names.cluster, emptiest.arn, ecs)).toMatchObject({
      status: 'DRAINING',
      runningTasksCount: 0,
    });

    await setInstanceProtection(names.autoScalingGroup, emptiest.ec2InstanceId, false, autoScaling);
    await terminateInstanceInGroup(emptiest.ec2InstanceId, autoScaling);
    setup.advance(20_000);
    const group = await describeGroup(names.autoScalingGroup, autoScaling);
    expect(group.desiredCapacity).toBe(2);
    expect(group.instances.map((i) => i.instanceId)).not.toContain(emptiest.ec2InstanceId);
    expect((await listContainerInstances(names.cluster, ecs)).map((i) => i.ec2InstanceId)).not.toContain(
      emptiest.ec2InstanceId,
    );
    expect((await describeService(names.cluster, names.service, ecs)).runningCount).toBe(1);
  });

  it('guards scaling loops with the S3 lease: one loop per target, one execution per event', async () => {
    const s3 = new S3Client(clientConfig);
    setup.account.attach([s3]);
    setup.account.s3.ensureBucket('guard');
    const now = () => new Date(setup.clock.now());
    const request = {
      bucket: 'guard',
      app: 'shop',
      stage: 'dev',
      target: 'service' as const,
      leaseSeconds: 600,
    };
    const first = await acquireScalingLease({ ...request, eventKey: 'e1', owner: 'exec-1' }, now, s3);
    const sameEvent = await acquireScalingLease({ ...request, eventKey: 'e1', owner: 'exec-2' }, now, s3);
    const otherEvent = await acquireScalingLease({ ...request, eventKey: 'e2', owner: 'exec-3' }, now, s3);
    expect([first.acquired, sameEvent.acquired, otherEvent.acquired]).toEqual([true, false, false]);
    expect(sameEvent).toMatchObject({ duplicate: true });
    expect(otherEvent).toMatchObject({ duplicate: false });
    expect(await releaseScalingLease({ ...request, owner: 'exec-1' }, s3)).toMatchObject({ released: true });
    expect(
      (await acquireScalingLease({ ...request, eventKey: 'e3', owner: 'exec-4' }, now, s3)).acquired,
    ).toBe(true);
  });
});
