/**
 * A stage's front door with a preview, end to end on the emulated account: the preview's route
 * made with the calls the preview state machine makes, its task run by the supervisor (the
 * placeholder revision: a page on `/` and the health path, 404 elsewhere), requests routed by
 * path and rewritten, and the stage's own requests left to the stage's tasks.
 */
import {
  ApiGatewayV2Client,
  CreateIntegrationCommand,
  CreateRouteCommand,
  DeleteRouteCommand,
} from '@aws-sdk/client-apigatewayv2';
import {
  CreateServiceCommand as CreateEcsServiceCommand,
  type CreateServiceCommandInput as CreateEcsServiceInput,
  ECSClient,
} from '@aws-sdk/client-ecs';
import {
  CreateRuleCommand,
  CreateTargetGroupCommand,
  DeleteRuleCommand,
  DescribeListenersCommand,
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  CreateServiceCommand,
  GetServiceCommand,
  ListServicesCommand,
  ServiceDiscoveryClient,
} from '@aws-sdk/client-servicediscovery';
import { afterEach, describe, expect, it } from 'vitest';
import { stageNames } from '#shared/naming.ts';
import { MemoryLogSink } from '../../../sandbox/tasks/logs.ts';
import { TaskSupervisor } from '../../../sandbox/tasks/supervisor.ts';
import { registerAs } from '../support/revisions.ts';
import { clientConfig, newDataDir, removeDataDir, testAccount, testConfig } from './support.ts';

const names = stageNames('shop', 'dev');
const PREVIEW = `${names.service}-pr-1`;

describe("a stage's front door routes a preview's path to the preview's tasks", () => {
  let dataDir: string;
  let supervisor: TaskSupervisor | undefined;

  afterEach(async () => {
    await supervisor?.close(500);
    supervisor = undefined;
    removeDataDir(dataDir);
  });

  /** An account of the tier with its supervisor running the stage's tasks behind the front door. */
  async function start(scale: 'standard' | 'hyperscale') {
    dataDir = newDataDir();
    const setup = await testAccount({ dataDir, config: testConfig({ scale }) });
    const clients = {
      ecs: new ECSClient(clientConfig),
      api: new ApiGatewayV2Client(clientConfig),
      cloudMap: new ServiceDiscoveryClient(clientConfig),
      elb: new ElasticLoadBalancingV2Client(clientConfig),
    };
    setup.account.attach(clients);
    supervisor = new TaskSupervisor({
      account: setup.account,
      dataDir,
      timeScale: 60,
      log: () => undefined,
      logSink: new MemoryLogSink(),
    });
    const urls = await supervisor.open();
    return { ...setup, ...clients, url: urls['shop/dev'] ?? '' };
  }

  /** The preview's ECS service (the stage's revision in its own family), registered where `target` says; its task RUNNING. */
  async function runPreview(
    setup: Awaited<ReturnType<typeof start>>,
    target: Pick<CreateEcsServiceInput, 'serviceRegistries' | 'loadBalancers'>,
  ): Promise<void> {
    const registeredArn = await registerAs(setup.ecs, names.taskFamily, PREVIEW);
    await setup.ecs.send(
      new CreateEcsServiceCommand({
        cluster: names.cluster,
        serviceName: PREVIEW,
        taskDefinition: registeredArn,
        desiredCount: 1,
        ...target,
      }),
    );
    setup.advance(11_000);
    await until(
      () =>
        (supervisor?.targets('shop', 'dev', PREVIEW).length ?? 0) > 0 &&
        (supervisor?.targets('shop', 'dev').length ?? 0) > 0,
    );
  }

  /** Runs the supervisor's loop (what the server does after each tick) until `check` holds. */
  async function until(check: () => boolean, timeoutMs = 8000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      supervisor?.sync();
      if (Date.now() > deadline) throw new Error('timed out waiting for the tasks to be healthy');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it('standard: through the HTTP API routes ANY /pr-1 and ANY /pr-1/{proxy+} and their Cloud Map service', async () => {
    const setup = await start('standard');
    const stageMap = (await setup.cloudMap.send(new ListServicesCommand({}))).Services?.[0];
    const { Service: stageService } = await setup.cloudMap.send(new GetServiceCommand({ Id: stageMap?.Id }));
    const namespaceId = stageService?.NamespaceId;
    // As a stage stack from before the front door parameter: the door finds its API from its service.
    if (setup.account.ssm.value('/stackpilot/shop/dev/front-door') !== undefined)
      setup.account.ssm.commands.DeleteParameter({ Name: '/stackpilot/shop/dev/front-door' });
    const apiId = setup.account.apiGatewayV2.apisIntegrating(stageMap?.Arn ?? '')[0] ?? '';
    const vpcLinkId = setup.account.apiGatewayV2.routing(apiId)?.integrations[0]?.ConnectionId;

    const { Service } = await setup.cloudMap.send(
      new CreateServiceCommand({
        Name: 'pr-1',
        NamespaceId: namespaceId,
        DnsConfig: { RoutingPolicy: 'MULTIVALUE', DnsRecords: [{ Type: 'SRV', TTL: 10 }] },
        HealthCheckCustomConfig: { FailureThreshold: 1 },
      }),
    );
    const routeIds: string[] = [];
    for (const [routeKey, overwrite] of [
      ['ANY /pr-1', '/'],
      ['ANY /pr-1/{proxy+}', '/$request.path.proxy'],
    ] as const) {
      const integration = await setup.api.send(
        new CreateIntegrationCommand({
          ApiId: apiId,
          IntegrationType: 'HTTP_PROXY',
          IntegrationMethod: 'ANY',
          IntegrationUri: Service?.Arn,
          ConnectionType: 'VPC_LINK',
          ConnectionId: vpcLinkId,
          PayloadFormatVersion: '1.0',
          RequestParameters: { 'overwrite:path': overwrite },
        }),
      );
      const route = await setup.api.send(
        new CreateRouteCommand({
          ApiId: apiId,
          RouteKey: routeKey,
          Target: `integrations/${integration.IntegrationId}`,
        }),
      );
      routeIds.push(route.RouteId ?? '');
    }
    // The route exists, its service does not yet: 503, as API Gateway answers with no instance.
    expect((await fetchText(`${setup.url}/pr-1`)).status).toBe(503);

    await runPreview(setup, {
      serviceRegistries: [{ registryArn: Service?.Arn, containerName: 'app', containerPort: 80 }],
    });
    const previewPorts = supervisor?.targets('shop', 'dev', PREVIEW) ?? [];
    expect(supervisor?.route('shop', 'dev', 'GET', '/pr-1/a?b=1')).toEqual({
      name: `shop/dev ANY /pr-1/{proxy+} (${PREVIEW})`,
      ports: previewPorts,
      url: '/a?b=1',
    });
    expect(supervisor?.route('shop', 'dev', 'GET', '/a?b=1')).toMatchObject({
      name: 'shop/dev',
      url: '/a?b=1',
    });
    expect(supervisor?.targets('shop', 'dev')).not.toEqual(expect.arrayContaining(previewPorts));

    // The placeholder page answers `/` only: a 200 on /pr-1 is the rewritten path.
    expect(await fetchText(`${setup.url}/pr-1`)).toMatchObject({ status: 200 });
    expect(await fetchText(`${setup.url}/pr-1/?x=1`)).toMatchObject({ status: 200 });
    expect((await fetchText(`${setup.url}/pr-1/other`)).status).toBe(404);
    expect((await fetchText(`${setup.url}/`)).status).toBe(200);

    // Without its routes, /pr-1 is the stage's path again.
    for (const RouteId of routeIds) await setup.api.send(new DeleteRouteCommand({ ApiId: apiId, RouteId }));
    expect((await fetchText(`${setup.url}/pr-1`)).status).toBe(404);
  });

  it('hyperscale: through the listener rule on /pr-1 and /pr-1/* with its URL rewrite, and its target group', async () => {
    const setup = await start('hyperscale');
    const stage = setup.account.ecs.services(names.cluster).find((s) => s.serviceName === names.service);
    const stageGroup = stage?.loadBalancers?.[0]?.targetGroupArn ?? '';
    const { TargetGroups } = await setup.elb.send(
      new DescribeTargetGroupsCommand({ TargetGroupArns: [stageGroup] }),
    );
    const { Listeners } = await setup.elb.send(
      new DescribeListenersCommand({ LoadBalancerArn: TargetGroups?.[0]?.LoadBalancerArns?.[0] }),
    );
    const created = await setup.elb.send(
      new CreateTargetGroupCommand({
        Name: 'sp-0123abcd-pr-1',
        Protocol: 'HTTP',
        Port: 80,
        VpcId: TargetGroups?.[0]?.VpcId,
      }),
    );
    const targetGroupArn = created.TargetGroups?.[0]?.TargetGroupArn;
    // The stage publishes its front door: the listener it names is the one the door routes by.
    setup.account.ssm.commands.PutParameter({
      Name: '/stackpilot/shop/dev/front-door',
      Type: 'String',
      Overwrite: true,
      Value: JSON.stringify({
        scale: 'hyperscale',
        url: 'http://shop.example.com',
        listenerArn: Listeners?.[0]?.ListenerArn,
        vpcId: TargetGroups?.[0]?.VpcId,
      }),
    });
    const rule = await setup.elb.send(
      new CreateRuleCommand({
        ListenerArn: Listeners?.[0]?.ListenerArn,
        Priority: 1000,
        Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/pr-1', '/pr-1/*'] } }],
        Actions: [{ Type: 'forward', TargetGroupArn: targetGroupArn }],
        Transforms: [
          {
            Type: 'url-rewrite',
            UrlRewriteConfig: { Rewrites: [{ Regex: '^/pr-1/?(.*)$', Replace: '/$1' }] },
          },
        ],
      }),
    );
    expect((await fetchText(`${setup.url}/pr-1/`)).status).toBe(503);

    await runPreview(setup, { loadBalancers: [{ targetGroupArn, containerName: 'app', containerPort: 80 }] });
    expect(supervisor?.route('shop', 'dev', 'POST', '/pr-1/x?y')).toEqual({
      name: `shop/dev rule 1000 (${PREVIEW})`,
      ports: supervisor?.targets('shop', 'dev', PREVIEW),
      url: '/x?y',
    });
    expect(await fetchText(`${setup.url}/pr-1`)).toMatchObject({ status: 200 });
    expect((await fetchText(`${setup.url}/pr-1/other`)).status).toBe(404);

    await setup.elb.send(new DeleteRuleCommand({ RuleArn: rule.Rules?.[0]?.RuleArn }));
    expect((await fetchText(`${setup.url}/pr-1`)).status).toBe(404);
  });
});

async function fetchText(url: string): Promise<{ status: number; body: string }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.text() };
}
