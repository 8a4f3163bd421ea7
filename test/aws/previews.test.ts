/**
 * The preview adapters on moto (`shared/preview/routes.ts`, `ecs.ts`): a preview's route on a
 * standard front door (Cloud Map service, HTTP API integrations and routes through a VPC link)
 * and on a hyperscale one (target group, listener rule), each made twice (idempotent) and
 * removed; the front door parameter read; the preview's service created and deleted; and the
 * deletion of exactly the preview's task-definition family. The front doors are
 * made here as the stage stack makes them (an HTTP API with its VPC link and namespace; an ALB
 * with an HTTP listener), with the setup clients: only the adapters' calls are checked.
 */
import { basename } from 'node:path';
import {
  ApiGatewayV2Client,
  CreateApiCommand,
  CreateVpcLinkCommand,
  GetIntegrationsCommand,
  GetRoutesCommand,
} from '@aws-sdk/client-apigatewayv2';
import {
  CreateClusterCommand,
  ECSClient,
  ListTaskDefinitionsCommand,
  RegisterTaskDefinitionCommand,
} from '@aws-sdk/client-ecs';
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  DescribeRulesCommand,
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  CreatePrivateDnsNamespaceCommand,
  ListNamespacesCommand,
  ListServicesCommand,
  ServiceDiscoveryClient,
} from '@aws-sdk/client-servicediscovery';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { beforeAll, describe, expect, it } from 'vitest';
import { clients } from '#shared/aws/clients.ts';
import { previewNames } from '#shared/naming.ts';
import { createService, deleteFamily, deleteService, findService } from '#shared/preview/ecs.ts';
import { type FrontDoor, frontDoorParameter } from '#shared/preview/front-door.ts';
import { previewServiceInput } from '#shared/preview/plan.ts';
import { ensureRoute, removeRoute } from '#shared/preview/routes.ts';
import { readFrontDoor } from '#shared/preview/steps.ts';
import { connectToMoto, motoEndpoint, setupClient } from './support/connect.ts';
import { queryCall, xmlValue } from './support/moto-api.ts';

const facts = { app: 'starter', stage: 'dev', number: 7, healthCheckPath: '/health' };
const names = previewNames(facts.app, facts.stage, facts.number);

describe.skipIf(!motoEndpoint())('the preview adapters on moto', () => {
  const account = connectToMoto(basename(import.meta.filename));
  let vpcId: string;
  let subnets: string[];

  beforeAll(async () => {
    vpcId = xmlValue(await queryCall(account, 'ec2', 'CreateVpc', { CidrBlock: '10.0.0.0/16' }), 'vpcId');
    subnets = [];
    for (const [i, zone] of ['us-east-1a', 'us-east-1b'].entries()) {
      const xml = await queryCall(account, 'ec2', 'CreateSubnet', {
        VpcId: vpcId,
        CidrBlock: `10.0.${i}.0/24`,
        AvailabilityZone: zone,
      });
      subnets.push(xmlValue(xml, 'subnetId'));
    }
  });

  it('routes a preview on a standard front door, twice alike, and removes every part', async () => {
    const api = setupClient(ApiGatewayV2Client, account);
    const discovery = setupClient(ServiceDiscoveryClient, account);
    const { ApiId } = await api.send(
      new CreateApiCommand({ Name: 'stackpilot-starter-dev', ProtocolType: 'HTTP' }),
    );
    const { VpcLinkId } = await api.send(new CreateVpcLinkCommand({ Name: 'link', SubnetIds: subnets }));
    await discovery.send(
      new CreatePrivateDnsNamespaceCommand({ Name: 'starter-dev.stackpilot', Vpc: vpcId }),
    );
    const namespaceId = (await discovery.send(new ListNamespacesCommand({}))).Namespaces?.[0]?.Id as string;
    const door: FrontDoor = {
      scale: 'standard',
      url: 'https://api.example',
      apiId: ApiId as string,
      vpcLinkId: VpcLinkId as string,
      namespaceId,
    };

    const first = await ensureRoute(door, facts, clients);
    const second = await ensureRoute(door, facts, clients);
    expect(second).toEqual(first);
    expect(first.kind).toBe('cloud-map');
    const services = await discovery.send(new ListServicesCommand({}));
    expect(services.Services?.map((s) => s.Name)).toEqual([names.discoveryService]);
    const routes = (await api.send(new GetRoutesCommand({ ApiId }))).Items ?? [];
    expect(routes.map((r) => r.RouteKey).sort()).toEqual(['ANY /pr-7', 'ANY /pr-7/{proxy+}']);
    const integrations = (await api.send(new GetIntegrationsCommand({ ApiId }))).Items ?? [];
    expect(integrations.map((i) => i.RequestParameters?.['overwrite:path']).sort()).toEqual([
      '/',
      '/$request.path.proxy',
    ]);
    for (const integration of integrations) {
      expect(integration).toMatchObject({
        IntegrationType: 'HTTP_PROXY',
        ConnectionType: 'VPC_LINK',
        ConnectionId: VpcLinkId,
        IntegrationUri: first.kind === 'cloud-map' ? first.registryArn : '',
      });
      expect(routes.some((r) => r.Target === `integrations/${integration.IntegrationId}`)).toBe(true);
    }

    await removeRoute(door, facts, clients);
    await removeRoute(door, facts, clients);
    expect((await api.send(new GetRoutesCommand({ ApiId }))).Items ?? []).toEqual([]);
    expect((await api.send(new GetIntegrationsCommand({ ApiId }))).Items ?? []).toEqual([]);
    expect((await discovery.send(new ListServicesCommand({}))).Services ?? []).toEqual([]);
  });

  it('routes a preview on a hyperscale front door, twice alike, and removes every part', async () => {
    const elbv2 = setupClient(ElasticLoadBalancingV2Client, account);
    const balancer = await elbv2.send(
      new CreateLoadBalancerCommand({ Name: 'stackpilot-starter-prod', Subnets: subnets }),
    );
    const LoadBalancerArn = balancer.LoadBalancers?.[0]?.LoadBalancerArn;
    const listener = await elbv2.send(
      new CreateListenerCommand({
        LoadBalancerArn,
        Protocol: 'HTTP',
        Port: 80,
        DefaultActions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404' } }],
      }),
    );
    const listenerArn = listener.Listeners?.[0]?.ListenerArn as string;
    const door: FrontDoor = { scale: 'hyperscale', url: 'http://alb.example', listenerArn, vpcId };

    const first = await ensureRoute(door, facts, clients);
    expect(await ensureRoute(door, facts, clients)).toEqual(first);
    const groups = await elbv2.send(new DescribeTargetGroupsCommand({ Names: [names.targetGroup] }));
    expect(groups.TargetGroups?.[0]).toMatchObject({
      TargetGroupName: names.targetGroup,
      VpcId: vpcId,
      HealthCheckPath: '/health',
      HealthCheckPort: 'traffic-port',
      TargetType: 'instance',
    });
    const rules = (await elbv2.send(new DescribeRulesCommand({ ListenerArn: listenerArn }))).Rules ?? [];
    const own = rules.filter((r) => !r.IsDefault);
    expect(own).toHaveLength(1);
    expect(own[0]).toMatchObject({
      Priority: '1000',
      Conditions: [expect.objectContaining({ Field: 'path-pattern' })],
    });
    expect(own[0]?.Conditions?.[0]?.PathPatternConfig?.Values ?? own[0]?.Conditions?.[0]?.Values).toEqual([
      '/pr-7',
      '/pr-7/*',
    ]);

    await removeRoute(door, facts, clients);
    await removeRoute(door, facts, clients);
    const after = (await elbv2.send(new DescribeRulesCommand({ ListenerArn: listenerArn }))).Rules ?? [];
    expect(after.filter((r) => !r.IsDefault)).toEqual([]);
    await expect(
      elbv2.send(new DescribeTargetGroupsCommand({ Names: [names.targetGroup] })),
    ).rejects.toMatchObject({
      name: 'TargetGroupNotFoundException',
    });
  });

  it('reads the front door the stage published, and refuses a missing one by name', async () => {
    const ssm = setupClient(SSMClient, account);
    const door = {
      scale: 'standard',
      url: 'https://api.example',
      apiId: 'a1',
      vpcLinkId: 'v1',
      namespaceId: 'ns-1',
    };
    await ssm.send(
      new PutParameterCommand({
        Name: frontDoorParameter('starter', 'dev'),
        Type: 'String',
        Value: JSON.stringify(door),
      }),
    );
    expect(await readFrontDoor('starter', 'dev', { clients })).toEqual(door);
    await expect(readFrontDoor('starter', 'qa', { clients })).rejects.toMatchObject({
      name: 'FrontDoorNotPublished',
      message: expect.stringContaining('/stackpilot/starter/qa/front-door does not exist'),
    });
  });

  it("creates the preview's service as the plan says, and deletes it", async () => {
    const eight = previewNames(facts.app, facts.stage, 8);
    const ecs = setupClient(ECSClient, account);
    await ecs.send(new CreateClusterCommand({ clusterName: eight.cluster }));
    const registered = await clients.ecs.send(
      new RegisterTaskDefinitionCommand({
        family: eight.taskFamily,
        containerDefinitions: [
          { name: 'app', image: 'busybox', memory: 128, portMappings: [{ containerPort: 8080 }] },
        ],
      }),
    );
    const input = previewServiceInput(
      { launchType: 'EC2', placementStrategy: [{ type: 'spread', field: 'instanceId' }] },
      {
        ...facts,
        number: 8,
        taskDefinitionArn: registered.taskDefinition?.taskDefinitionArn as string,
        containerPort: 8080,
      },
      { kind: 'cloud-map', registryArn: 'arn:aws:servicediscovery:us-east-1:123456789012:service/srv-1' },
      'token-1',
    );
    const created = await createService(input, clients.ecs);
    expect(created).toMatchObject({ serviceName: eight.service, status: 'ACTIVE', desiredCount: 1 });
    expect((await findService(eight.cluster, eight.service, clients.ecs))?.status).toBe('ACTIVE');

    // ECS answers DRAINING until the task has stopped: the step is retried until it is INACTIVE.
    const deleted = await deleteService(eight.cluster, eight.service, clients.ecs).then(
      () => 'INACTIVE',
      (error: Error) => error.name,
    );
    expect(['INACTIVE', 'PreviewStillDraining']).toContain(deleted);
    expect((await findService(eight.cluster, eight.service, clients.ecs))?.status).not.toBe('ACTIVE');
  });

  it("deletes exactly the preview's task-definition family (not pr-70's)", async () => {
    const register = (family: string) =>
      clients.ecs.send(
        new RegisterTaskDefinitionCommand({
          family,
          containerDefinitions: [{ name: 'app', image: 'busybox', memory: 128 }],
        }),
      );
    const other = previewNames('starter', 'dev', 70).taskFamily;
    for (const family of [names.taskFamily, names.taskFamily, other]) await register(family);

    expect(await deleteFamily(names.taskFamily, clients.ecs)).toBe(2);
    const active = async (family: string) =>
      (
        await clients.ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: family, status: 'ACTIVE' }))
      ).taskDefinitionArns?.map((a) => a.replace(/^.*task-definition\//, ''));
    expect(await active(names.taskFamily)).toEqual([]);
    expect(await active(other)).toEqual([`${other}:1`]);
  });
});
