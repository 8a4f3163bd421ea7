import {
  CreateServiceCommand as CreateEcsServiceCommand,
  DeleteServiceCommand as DeleteEcsServiceCommand,
  ECSClient,
} from '@aws-sdk/client-ecs';
import {
  CreateServiceCommand,
  DeleteServiceCommand,
  GetServiceCommand,
  ListServicesCommand,
  ListTagsForResourceCommand,
  NamespaceNotFound,
  ResourceInUse,
  ResourceNotFoundException,
  ServiceAlreadyExists,
  ServiceDiscoveryClient,
  ServiceNotFound,
  TagResourceCommand,
} from '@aws-sdk/client-servicediscovery';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stageNames } from '#shared/naming.ts';
import { createEmulatedAccount, manualClock } from '../../../sandbox/account/index.ts';
import { registerAs } from '../support/revisions.ts';
import { clientConfig, newDataDir, removeDataDir, testAccount, testConfig } from './support.ts';

const names = stageNames('shop', 'dev');

/** What the preview state machine sends to create a preview's Cloud Map service (docs: PREVIEWS.md). */
function previewService(namespaceId: string, n: number) {
  return {
    Name: `pr-${n}`,
    NamespaceId: namespaceId,
    CreatorRequestId: `${names.service}-pr-${n}`,
    Description: `stackpilot preview of pull request #${n}`,
    DnsConfig: { RoutingPolicy: 'MULTIVALUE' as const, DnsRecords: [{ Type: 'SRV' as const, TTL: 10 }] },
    HealthCheckCustomConfig: { FailureThreshold: 1 },
    Tags: [
      { Key: 'stackpilot:app', Value: 'shop' },
      { Key: 'stackpilot:stage', Value: 'dev' },
      { Key: 'stackpilot:preview', Value: String(n) },
    ],
  };
}

describe('emulated Cloud Map', () => {
  let dataDir: string;
  let cloudMap: ServiceDiscoveryClient;
  let ecs: ECSClient;
  let setup: Awaited<ReturnType<typeof testAccount>>;
  let namespaceId: string;

  beforeEach(async () => {
    dataDir = newDataDir();
    setup = await testAccount({ dataDir });
    cloudMap = new ServiceDiscoveryClient(clientConfig);
    ecs = new ECSClient(clientConfig);
    setup.account.attach([cloudMap, ecs]);
    const all = await cloudMap.send(new ListServicesCommand({}));
    const stage = await cloudMap.send(new GetServiceCommand({ Id: all.Services?.[0]?.Id }));
    namespaceId = stage.Service?.NamespaceId ?? '';
  });
  afterEach(() => removeDataDir(dataDir));

  /** Runs a preview's ECS service registered in the Cloud Map service (one task, from the stage's revision). */
  async function runPreview(registryArn: string, n: number): Promise<void> {
    const family = `${names.taskFamily}-pr-${n}`;
    const registeredArn = await registerAs(ecs, names.taskFamily, family);
    await ecs.send(
      new CreateEcsServiceCommand({
        cluster: names.cluster,
        serviceName: family,
        taskDefinition: registeredArn,
        desiredCount: 1,
        serviceRegistries: [{ registryArn, containerName: 'app', containerPort: 80 }],
      }),
    );
    setup.account.ecs.settle(names.cluster, family);
  }

  it("holds the stage's namespace and service from the template, the stage's task as its instance", async () => {
    const listed = await cloudMap.send(
      new ListServicesCommand({
        Filters: [{ Name: 'NAMESPACE_ID', Values: [namespaceId], Condition: 'EQ' }],
      }),
    );
    expect(namespaceId).toMatch(/^ns-[a-z0-9]{16}$/);
    expect(listed.Services).toEqual([
      expect.objectContaining({
        Name: 'app',
        Type: 'DNS_HTTP',
        InstanceCount: 1,
        DnsConfig: { RoutingPolicy: 'MULTIVALUE', DnsRecords: [{ Type: 'SRV', TTL: 10 }] },
        HealthCheckCustomConfig: { FailureThreshold: 1 },
      }),
    ]);
    // The stage's ECS service registers in it: the ARN its serviceRegistries name.
    const stage = setup.account.ecs.services(names.cluster).find((s) => s.serviceName === names.service);
    expect(stage?.serviceRegistries?.[0]?.registryArn).toBe(listed.Services?.[0]?.Arn);
  });

  it('creates a service, finds it by namespace, answers a retry with it and refuses a second of the same name', async () => {
    const created = await cloudMap.send(new CreateServiceCommand(previewService(namespaceId, 1)));
    expect(created.Service).toMatchObject({
      Name: 'pr-1',
      NamespaceId: namespaceId,
      CreatorRequestId: `${names.service}-pr-1`,
      InstanceCount: 0,
      Type: 'DNS_HTTP',
    });
    expect(created.Service?.Id).toMatch(/^srv-[a-z0-9]{16}$/);
    expect(created.Service?.Arn).toBe(
      `arn:aws:servicediscovery:us-east-1:123456789012:service/${created.Service?.Id}`,
    );
    const got = await cloudMap.send(new GetServiceCommand({ Id: created.Service?.Id }));
    expect(got.Service).toEqual(created.Service);

    const filtered = await cloudMap.send(
      new ListServicesCommand({
        Filters: [{ Name: 'NAMESPACE_ID', Values: [namespaceId], Condition: 'EQ' }],
      }),
    );
    expect(filtered.Services?.map((s) => s.Name)).toEqual(['app', 'pr-1']);
    const elsewhere = await cloudMap.send(
      new ListServicesCommand({ Filters: [{ Name: 'NAMESPACE_ID', Values: ['ns-other'], Condition: 'EQ' }] }),
    );
    expect(elsewhere.Services).toEqual([]);
    const paged = await cloudMap.send(new ListServicesCommand({ MaxResults: 1 }));
    expect(paged.Services).toHaveLength(1);
    const rest = await cloudMap.send(new ListServicesCommand({ MaxResults: 1, NextToken: paged.NextToken }));
    expect(rest.Services?.map((s) => s.Name)).toEqual(['pr-1']);
    expect(rest.NextToken).toBeUndefined();

    const retried = await cloudMap.send(new CreateServiceCommand(previewService(namespaceId, 1)));
    expect(retried.Service?.Id).toBe(created.Service?.Id);
    const duplicate = await cloudMap
      .send(new CreateServiceCommand({ ...previewService(namespaceId, 1), CreatorRequestId: 'another' }))
      .catch((e: unknown) => e);
    expect(duplicate).toBeInstanceOf(ServiceAlreadyExists);
    expect(duplicate).toMatchObject({ ServiceId: created.Service?.Id });
    await expect(
      cloudMap.send(new CreateServiceCommand(previewService('ns-missing', 2))),
    ).rejects.toBeInstanceOf(NamespaceNotFound);
  });

  it('tags services, refusing resources that do not exist', async () => {
    const { Service } = await cloudMap.send(new CreateServiceCommand(previewService(namespaceId, 1)));
    await cloudMap.send(
      new TagResourceCommand({
        ResourceARN: Service?.Arn,
        Tags: [
          { Key: 'stackpilot:preview', Value: 'one' },
          { Key: 'extra', Value: 'x' },
        ],
      }),
    );
    const { Tags } = await cloudMap.send(new ListTagsForResourceCommand({ ResourceARN: Service?.Arn }));
    expect(Tags).toEqual([
      { Key: 'stackpilot:app', Value: 'shop' },
      { Key: 'stackpilot:stage', Value: 'dev' },
      { Key: 'stackpilot:preview', Value: 'one' },
      { Key: 'extra', Value: 'x' },
    ]);
    await expect(
      cloudMap.send(
        new TagResourceCommand({
          ResourceARN: 'arn:aws:servicediscovery:us-east-1:123456789012:service/srv-none',
          Tags: [{ Key: 'a', Value: 'b' }],
        }),
      ),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it("refuses to delete a service while an ECS service's tasks are registered in it, deletes it once they stopped", async () => {
    const { Service } = await cloudMap.send(new CreateServiceCommand(previewService(namespaceId, 1)));
    await runPreview(Service?.Arn ?? '', 1);
    const listed = await cloudMap.send(new GetServiceCommand({ Id: Service?.Id }));
    expect(listed.Service?.InstanceCount).toBe(1);
    const inUse = await cloudMap.send(new DeleteServiceCommand({ Id: Service?.Id })).catch((e: unknown) => e);
    expect(inUse).toBeInstanceOf(ResourceInUse);
    expect((inUse as Error).message).toBe(
      'Service contains registered instances; delete the instances before deleting the service',
    );

    await ecs.send(
      new DeleteEcsServiceCommand({ cluster: names.cluster, service: `${names.service}-pr-1`, force: true }),
    );
    // The task is still stopping: still registered.
    setup.advance(1000);
    await expect(cloudMap.send(new DeleteServiceCommand({ Id: Service?.Id }))).rejects.toBeInstanceOf(
      ResourceInUse,
    );
    setup.advance(10_000);
    await cloudMap.send(new DeleteServiceCommand({ Id: Service?.Id }));
    await expect(cloudMap.send(new GetServiceCommand({ Id: Service?.Id }))).rejects.toBeInstanceOf(
      ServiceNotFound,
    );
    await expect(cloudMap.send(new DeleteServiceCommand({ Id: Service?.Id }))).rejects.toBeInstanceOf(
      ServiceNotFound,
    );
  });

  it('keeps its services across a restart', async () => {
    const { Service } = await cloudMap.send(new CreateServiceCommand(previewService(namespaceId, 1)));
    setup.account.flush();
    const restarted = createEmulatedAccount({ dataDir, config: testConfig(), clock: manualClock() });
    const again = new ServiceDiscoveryClient(clientConfig);
    restarted.attach([again]);
    const got = await again.send(new GetServiceCommand({ Id: Service?.Id }));
    expect(got.Service?.Name).toBe('pr-1');
  });
});
