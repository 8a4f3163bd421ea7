/** Emulated ECS: services created as given (registries, placement), deleted (DRAINING, INACTIVE), and task definitions deleted. */
import {
  ClientException,
  CreateServiceCommand,
  type CreateServiceCommandInput,
  DeleteServiceCommand,
  DeleteTaskDefinitionsCommand,
  DeregisterTaskDefinitionCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  InvalidParameterException,
  ListServicesCommand,
  ListTaskDefinitionsCommand,
  ListTasksCommand,
  type Service,
  ServiceNotActiveException,
  ServiceNotFoundException,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stageNames } from '#shared/naming.ts';
import { registerAs } from '../support/revisions.ts';
import { clientConfig, newDataDir, removeDataDir, testAccount } from './support.ts';

const names = stageNames('shop', 'dev');
const cluster = names.cluster;
const PREVIEW = `${names.service}-pr-1`;
const REGISTRY = 'arn:aws:servicediscovery:us-east-1:123456789012:service/srv-preview00000001';

describe('emulated ECS: preview services and their removal', () => {
  let dataDir: string;
  let ecs: ECSClient;
  let setup: Awaited<ReturnType<typeof testAccount>>;

  beforeEach(async () => {
    dataDir = newDataDir();
    setup = await testAccount({ dataDir });
    ecs = new ECSClient(clientConfig);
    setup.account.attach([ecs]);
  });
  afterEach(() => removeDataDir(dataDir));

  async function describe1(service: string): Promise<Service | undefined> {
    return (await ecs.send(new DescribeServicesCommand({ cluster, services: [service] }))).services?.[0];
  }

  /** A revision of the preview's family: the stage's revision under another family. */
  async function registerPreview(): Promise<string> {
    return registerAs(ecs, names.taskFamily, PREVIEW);
  }

  /** The preview's CreateService, as the preview state machine sends it (standard tier). */
  function previewInput(taskDefinition: string): CreateServiceCommandInput {
    return {
      cluster,
      serviceName: PREVIEW,
      taskDefinition,
      desiredCount: 1,
      capacityProviderStrategy: [{ capacityProvider: 'stackpilot-shop-dev', weight: 1 }],
      placementStrategy: [{ type: 'spread', field: 'instanceId' }],
      deploymentConfiguration: {
        minimumHealthyPercent: 0,
        maximumPercent: 200,
        deploymentCircuitBreaker: { enable: true, rollback: false },
      },
      serviceRegistries: [{ registryArn: REGISTRY, containerName: 'app', containerPort: 80 }],
      tags: [{ key: 'stackpilot:preview', value: '1' }],
      propagateTags: 'SERVICE',
      enableECSManagedTags: true,
      clientToken: 'preview-1-token',
    };
  }

  it("describes the stage's service with the registry, placement and launch type of its template", async () => {
    const stage = await describe1(names.service);
    expect(stage).toMatchObject({
      status: 'ACTIVE',
      launchType: 'EC2',
      placementStrategy: [
        { field: 'attribute:ecs.availability-zone', type: 'spread' },
        { field: 'instanceId', type: 'spread' },
      ],
      serviceRegistries: [{ containerName: 'app', containerPort: 80 }],
      loadBalancers: [],
    });
    expect(stage?.serviceRegistries?.[0]?.registryArn).toMatch(/:servicediscovery:.+:service\/srv-/);
  });

  it('keeps what CreateService was given, answers a retry of the same request with the same service', async () => {
    const arn = await registerPreview();
    const created = await ecs.send(new CreateServiceCommand(previewInput(arn)));
    expect(created.service).toMatchObject({
      status: 'ACTIVE',
      capacityProviderStrategy: [{ capacityProvider: 'stackpilot-shop-dev', weight: 1 }],
      placementStrategy: [{ type: 'spread', field: 'instanceId' }],
      serviceRegistries: [{ registryArn: REGISTRY, containerName: 'app', containerPort: 80 }],
      loadBalancers: [],
      deploymentConfiguration: {
        minimumHealthyPercent: 0,
        deploymentCircuitBreaker: { enable: true, rollback: false },
      },
    });
    expect(created.service?.launchType).toBeUndefined();
    const retried = await ecs.send(new CreateServiceCommand(previewInput(arn)));
    expect(retried.service?.serviceArn).toBe(created.service?.serviceArn);
    await expect(
      ecs.send(new CreateServiceCommand({ ...previewInput(arn), clientToken: 'another' })),
    ).rejects.toThrow('Creation of service was not idempotent.');
    await expect(
      ecs.send(new CreateServiceCommand({ ...previewInput(arn), serviceName: 'both', launchType: 'EC2' })),
    ).rejects.toBeInstanceOf(InvalidParameterException);
  });

  it('deletes a service: DRAINING while its tasks stop, then INACTIVE, still described; the name can be used again', async () => {
    const arn = await registerPreview();
    await ecs.send(new CreateServiceCommand(previewInput(arn)));
    setup.account.ecs.settle(cluster, PREVIEW);
    expect((await describe1(PREVIEW))?.runningCount).toBe(1);

    const scaled = await ecs
      .send(new DeleteServiceCommand({ cluster, service: PREVIEW }))
      .catch((e: unknown) => e);
    expect(scaled).toBeInstanceOf(InvalidParameterException);
    expect((scaled as Error).message).toBe('The service cannot be stopped while it is scaled above 0.');

    const deleted = await ecs.send(new DeleteServiceCommand({ cluster, service: PREVIEW, force: true }));
    expect(deleted.service).toMatchObject({ status: 'DRAINING', desiredCount: 0 });
    await expect(ecs.send(new CreateServiceCommand(previewInput(arn)))).rejects.toThrow(
      'Unable to Start a service that is still Draining.',
    );
    setup.advance(1000);
    const stopping = await ecs.send(
      new ListTasksCommand({ cluster, serviceName: PREVIEW, desiredStatus: 'STOPPED' }),
    );
    expect(stopping.taskArns).toHaveLength(1);
    expect((await describe1(PREVIEW))?.status).toBe('DRAINING');

    setup.advance(10_000);
    expect(await describe1(PREVIEW)).toMatchObject({ status: 'INACTIVE', runningCount: 0 });
    const listed = await ecs.send(new ListServicesCommand({ cluster }));
    expect(listed.serviceArns?.map((a) => a.split('/').pop())).toEqual([names.service]);
    await expect(
      ecs.send(new UpdateServiceCommand({ cluster, service: PREVIEW, desiredCount: 1 })),
    ).rejects.toBeInstanceOf(ServiceNotActiveException);
    await expect(
      ecs.send(new DeleteServiceCommand({ cluster, service: PREVIEW, force: true })),
    ).rejects.toBeInstanceOf(ServiceNotActiveException);
    await expect(
      ecs.send(new DeleteServiceCommand({ cluster, service: 'nope', force: true })),
    ).rejects.toBeInstanceOf(ServiceNotFoundException);

    const again = await ecs.send(new CreateServiceCommand({ ...previewInput(arn), clientToken: 'second' }));
    expect(again.service?.status).toBe('ACTIVE');
  });

  it('deletes INACTIVE revisions only (DELETE_IN_PROGRESS, gone once nothing runs them), at most 10 at a time', async () => {
    const arn = await registerPreview();
    await ecs.send(new CreateServiceCommand(previewInput(arn)));
    setup.account.ecs.settle(cluster, PREVIEW);

    const active = await ecs.send(new DeleteTaskDefinitionsCommand({ taskDefinitions: [arn] }));
    expect(active.taskDefinitions).toEqual([]);
    expect(active.failures).toEqual([
      {
        arn,
        reason:
          'The specified task definition is still in ACTIVE status. Please deregister the target and try again.',
      },
    ]);
    await ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: arn }));
    const inactive = await ecs.send(
      new ListTaskDefinitionsCommand({ familyPrefix: PREVIEW, status: 'INACTIVE' }),
    );
    expect(inactive.taskDefinitionArns).toEqual([arn]);
    const deleted = await ecs.send(
      new DeleteTaskDefinitionsCommand({ taskDefinitions: [arn, `${PREVIEW}:99`, PREVIEW] }),
    );
    expect(deleted.taskDefinitions?.map((d) => [d.taskDefinitionArn, d.status])).toEqual([
      [arn, 'DELETE_IN_PROGRESS'],
    ]);
    expect(deleted.failures?.map((f) => f.reason)).toEqual([
      'The specified task definition does not exist. Specify a valid account, family, revision and try again.',
      'The specified task definition identifier is invalid. Specify a valid name or ARN and try again.',
    ]);
    const listed = await ecs.send(
      new ListTaskDefinitionsCommand({ familyPrefix: PREVIEW, status: 'DELETE_IN_PROGRESS' }),
    );
    expect(listed.taskDefinitionArns).toEqual([arn]);

    // Its service's task still runs it: it stays until the service is gone.
    setup.advance(1000);
    const described = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn }));
    expect(described.taskDefinition?.status).toBe('DELETE_IN_PROGRESS');
    expect(described.taskDefinition?.deleteRequestedAt).toBeInstanceOf(Date);
    await ecs.send(new DeleteServiceCommand({ cluster, service: PREVIEW, force: true }));
    setup.advance(10_000);
    await expect(ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn }))).rejects.toBeInstanceOf(
      ClientException,
    );

    await expect(
      ecs.send(
        new DeleteTaskDefinitionsCommand({
          taskDefinitions: Array.from({ length: 11 }, (_, i) => `f:${i + 1}`),
        }),
      ),
    ).rejects.toThrow('Size of TaskDefinition references list cannot exceed 10');
  });
});
