/**
 * Emulated ECS with tasks the sandbox runs as processes: health decides when a rollout
 * completes, a process exit or a failed health check is a stopped, failed task, and enough
 * of them trip the circuit breaker. The supervisor's reports are called directly here.
 */
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  type RegisterTaskDefinitionCommandInput,
  type Service,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stageNames } from '#shared/naming.ts';
import type { TaskRecord } from '../../../sandbox/account/ecs-model.ts';
import { clientConfig, newDataDir, removeDataDir, testAccount } from './support.ts';

const names = stageNames('shop', 'dev');
const cluster = names.cluster;

describe('emulated ECS with supervised tasks', () => {
  let dataDir: string;
  let ecs: ECSClient;
  let setup: Awaited<ReturnType<typeof testAccount>>;

  beforeEach(async () => {
    dataDir = newDataDir();
    setup = await testAccount({ dataDir });
    ecs = new ECSClient(clientConfig);
    setup.account.attach({ ecs });
    // What the supervisor does for every task it can run.
    setup.account.ecs.onTaskPlaced = (task) => setup.account.ecs.supervise(task);
  });

  afterEach(() => removeDataDir(dataDir));

  const service = async (): Promise<Service> =>
    (await ecs.send(new DescribeServicesCommand({ cluster, services: [names.service] }))).services?.[0] ?? {};
  const newTasks = (): TaskRecord[] =>
    setup.account.ecs
      .liveTasks()
      .map((t) => t.task)
      .filter((t) => t.supervised && t.lastStatus === 'RUNNING' && t.desiredStatus === 'RUNNING');

  async function rollOut(tag: string): Promise<void> {
    const current = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: names.taskFamily }));
    const {
      taskDefinitionArn,
      revision,
      status,
      registeredAt,
      registeredBy,
      compatibilities,
      requiresAttributes,
      ...rest
    } = current.taskDefinition ?? {};
    const input = {
      ...rest,
      containerDefinitions: rest.containerDefinitions?.map((c) => ({ ...c, image: `repo/app:${tag}` })),
    } as RegisterTaskDefinitionCommandInput;
    const arn = (await ecs.send(new RegisterTaskDefinitionCommand(input))).taskDefinition?.taskDefinitionArn;
    await ecs.send(new UpdateServiceCommand({ cluster, service: names.service, taskDefinition: arn }));
  }

  it('completes a rollout only once the new task is healthy, keeping the old one until then', async () => {
    await rollOut('v2');
    setup.advance(60_000);
    let s = await service();
    expect(s.deployments?.[0]).toMatchObject({ rolloutState: 'IN_PROGRESS', runningCount: 1 });
    expect(s.deployments?.[1]).toMatchObject({ status: 'ACTIVE', runningCount: 1 });
    const [task] = newTasks();
    expect(task?.healthStatus).toBe('UNKNOWN');
    setup.account.ecs.taskHealthy(task as TaskRecord);
    setup.advance(10_000);
    s = await service();
    expect(s.deployments).toEqual([expect.objectContaining({ rolloutState: 'COMPLETED' })]);
    const described = await ecs.send(new DescribeTasksCommand({ cluster, tasks: [task?.taskArn ?? ''] }));
    expect(described.tasks?.[0]?.healthStatus).toBe('HEALTHY');
  });

  it('reports an exited process as a stopped task with its exit code, counted as failed', async () => {
    await rollOut('v2');
    setup.advance(15_000);
    const [task] = newTasks();
    setup.account.ecs.containerExited(task as TaskRecord, 137);
    const described = await ecs.send(new DescribeTasksCommand({ cluster, tasks: [task?.taskArn ?? ''] }));
    expect(described.tasks?.[0]).toMatchObject({
      lastStatus: 'STOPPED',
      stoppedReason: 'Essential container in task exited',
      stopCode: 'EssentialContainerExited',
      containers: [expect.objectContaining({ name: 'app', exitCode: 137 })],
    });
    expect((await service()).deployments?.[0]).toMatchObject({ failedTasks: 1 });
  });

  it('stops a task that fails its health checks and rolls back after three such failures', async () => {
    const before = (await service()).taskDefinition;
    await rollOut('broken');
    const reasons: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      setup.advance(15_000);
      const [task] = newTasks().filter((t) => !t.taskDefinitionArn.endsWith(':1'));
      if (!task) break;
      setup.account.ecs.taskUnhealthy(task);
      reasons.push(task.stoppedReason ?? '');
      // The process exits on SIGTERM: ECS reports the task stopped with the health check reason.
      setup.account.ecs.containerExited(task, 0);
    }
    expect(reasons).toEqual(Array(3).fill('Task failed container health checks'));
    setup.advance(5_000);
    const s = await service();
    expect(s.deployments?.[0]?.rolloutStateReason).toMatch(/circuit breaker: rolling back/);
    expect(s.taskDefinition).toBe(before);
    // The old task served throughout: it never stopped.
    expect(s.runningCount).toBeGreaterThanOrEqual(1);
  });
});
