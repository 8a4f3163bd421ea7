import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  type RegisterTaskDefinitionCommandInput,
  type Service,
  ServiceNotFoundException,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stageNames } from '#shared/naming.ts';
import { clientConfig, newDataDir, removeDataDir, testAccount } from './support.ts';

const names = stageNames('shop', 'dev');
const cluster = names.cluster;

describe('emulated ECS deployments', () => {
  let dataDir: string;
  let ecs: ECSClient;
  let setup: Awaited<ReturnType<typeof testAccount>>;

  beforeEach(async () => {
    dataDir = newDataDir();
    setup = await testAccount({ dataDir });
    ecs = new ECSClient(clientConfig);
    setup.account.attach({ ecs });
  });

  afterEach(() => removeDataDir(dataDir));

  async function service(): Promise<Service> {
    const out = await ecs.send(new DescribeServicesCommand({ cluster, services: [names.service] }));
    const found = out.services?.[0];
    if (!found) throw new Error('no service');
    return found;
  }

  /** Registers a copy of the current revision with another image (what the release does). */
  async function registerImage(tag: string): Promise<string> {
    const current = await ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: names.taskFamily, include: ['TAGS'] }),
    );
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
      containerDefinitions: rest.containerDefinitions?.map((c) => ({
        ...c,
        image: c.image?.replace(/:[^:]+$/, `:${tag}`),
      })),
      tags: current.tags,
    } as RegisterTaskDefinitionCommandInput;
    const registered = await ecs.send(new RegisterTaskDefinitionCommand(input));
    return registered.taskDefinition?.taskDefinitionArn ?? '';
  }

  it("starts the service at its minimum, steady, on revision 1: the template's placeholder", async () => {
    const s = await service();
    expect(s).toMatchObject({
      desiredCount: 1,
      runningCount: 1,
      taskDefinition: expect.stringMatching(/:1$/),
    });
    expect(s.deployments).toEqual([
      expect.objectContaining({ status: 'PRIMARY', rolloutState: 'COMPLETED' }),
    ]);
    const td = await ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: names.taskFamily, include: ['TAGS'] }),
    );
    // As the template registers it: BusyBox from ECR Public, its command and the placeholder label.
    expect(td.taskDefinition?.containerDefinitions?.[0]).toMatchObject({
      name: 'app',
      image: 'public.ecr.aws/docker/library/busybox:stable',
      command: ['sh', '-c', expect.stringContaining('httpd')],
      dockerLabels: { 'stackpilot.placeholder': 'true' },
    });
    expect(td.tags).toContainEqual({ key: 'stackpilot:app', value: 'shop' });
  });

  it('rolls a new revision out over emulated time until the deployment is COMPLETED', async () => {
    const arn = await registerImage('abc123');
    expect(arn).toMatch(/task-definition\/stackpilot-shop-dev:2$/);
    const updated = await ecs.send(
      new UpdateServiceCommand({ cluster, service: names.service, taskDefinition: arn }),
    );
    const deployment = updated.service?.deployments?.[0];
    expect(deployment).toMatchObject({
      id: expect.stringMatching(/^ecs-svc\/\d{19}$/),
      status: 'PRIMARY',
      rolloutState: 'IN_PROGRESS',
    });

    setup.advance(5_000);
    let s = await service();
    expect(s.deployments).toHaveLength(2);
    expect(s.deployments?.[1]).toMatchObject({ status: 'ACTIVE', runningCount: 1 });
    expect(s.deployments?.[0]).toMatchObject({ pendingCount: 1, runningCount: 0 });

    setup.advance(30_000);
    s = await service();
    expect(s.deployments).toEqual([
      expect.objectContaining({
        id: deployment?.id,
        status: 'PRIMARY',
        rolloutState: 'COMPLETED',
        runningCount: 1,
      }),
    ]);
    expect(s.taskDefinition).toBe(arn);
    expect(s.events?.[0]?.message).toBe('(service stackpilot-shop-dev) has reached a steady state.');
    expect(setup.events.map((e) => e.detail.eventName)).toContain('SERVICE_DEPLOYMENT_COMPLETED');
  });

  it('never lets the running count drop below the minimum healthy percent during a rollout', async () => {
    await ecs.send(new UpdateServiceCommand({ cluster, service: names.service, desiredCount: 2 }));
    setup.advance(30_000);
    const arn = await registerImage('v2');
    await ecs.send(new UpdateServiceCommand({ cluster, service: names.service, taskDefinition: arn }));
    let lowest = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 60; i += 1) {
      setup.advance(1_000);
      lowest = Math.min(lowest, (await service()).runningCount ?? 0);
    }
    expect(lowest).toBeGreaterThanOrEqual(2);
    expect((await service()).deployments?.[0]?.rolloutState).toBe('COMPLETED');
  });

  it('trips the circuit breaker on an image whose tasks fail, then rolls back to the previous revision', async () => {
    const before = (await service()).taskDefinition;
    const arn = await registerImage('fail-boot');
    const updated = await ecs.send(
      new UpdateServiceCommand({ cluster, service: names.service, taskDefinition: arn }),
    );
    const failedId = updated.service?.deployments?.[0]?.id;

    setup.advance(120_000);
    const s = await service();
    const failed = s.deployments?.find((d) => d.id === failedId);
    expect(failed).toMatchObject({
      status: 'ACTIVE',
      rolloutState: 'FAILED',
      rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.',
      failedTasks: 3,
    });
    expect(s.deployments?.[0]).toMatchObject({
      status: 'PRIMARY',
      taskDefinition: before,
      rolloutState: 'COMPLETED',
      runningCount: 1,
    });
    expect(s.taskDefinition).toBe(before);
    const rollback = setup.events.find(
      (e) =>
        e['detail-type'] === 'ECS Deployment State Change' &&
        String(e.detail.reason).includes('rolling back'),
    );
    expect(rollback?.detail).toMatchObject({ eventName: 'SERVICE_DEPLOYMENT_IN_PROGRESS' });

    const stopped = await ecs.send(
      new ListTasksCommand({ cluster, serviceName: names.service, desiredStatus: 'STOPPED' }),
    );
    const tasks = await ecs.send(new DescribeTasksCommand({ cluster, tasks: stopped.taskArns }));
    expect(tasks.tasks?.map((t) => t.stoppedReason)).toContain('Essential container in task exited');
  });

  it('fails the next deployment when told to (failNextDeployment)', async () => {
    setup.account.ecs.failNextDeployment('shop', 'dev', 'Task failed container health checks');
    const arn = await registerImage('good-looking');
    await ecs.send(new UpdateServiceCommand({ cluster, service: names.service, taskDefinition: arn }));
    setup.advance(120_000);
    const s = await service();
    expect(s.deployments?.some((d) => d.rolloutState === 'FAILED')).toBe(true);
    expect(s.deployments?.[0]?.rolloutState).toBe('COMPLETED');
  });

  it('changes the desired count without a new deployment', async () => {
    const before = (await service()).deployments?.[0]?.id;
    await ecs.send(new UpdateServiceCommand({ cluster, service: names.service, desiredCount: 3 }));
    setup.advance(30_000);
    const s = await service();
    expect(s).toMatchObject({ desiredCount: 3, runningCount: 3 });
    expect(s.deployments?.map((d) => d.id)).toEqual([before]);
  });

  it('throws ServiceNotFoundException as the SDK does', async () => {
    const error = await ecs
      .send(new UpdateServiceCommand({ cluster, service: 'nope', desiredCount: 1 }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceNotFoundException);
    expect(error).toMatchObject({ message: 'Service not found.', $metadata: { httpStatusCode: 400 } });
  });
});
