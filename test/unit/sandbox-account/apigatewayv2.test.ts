import {
  ApiGatewayV2Client,
  BadRequestException,
  ConflictException,
  CreateIntegrationCommand,
  type CreateIntegrationCommandInput,
  CreateRouteCommand,
  DeleteIntegrationCommand,
  DeleteRouteCommand,
  GetApisCommand,
  GetIntegrationCommand,
  GetIntegrationsCommand,
  GetRoutesCommand,
  NotFoundException,
} from '@aws-sdk/client-apigatewayv2';
import { ListServicesCommand, ServiceDiscoveryClient } from '@aws-sdk/client-servicediscovery';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEmulatedAccount, manualClock } from '../../../sandbox/account/index.ts';
import { SHARED_TEMPLATE_CACHE } from '../../../sandbox/templates/synth.ts';
import { clientConfig, newDataDir, removeDataDir, testAccount, testConfig } from './support.ts';

const PREVIEW_MAP = 'arn:aws:servicediscovery:us-east-1:123456789012:service/srv-preview00000001';

describe('emulated API Gateway v2', () => {
  let dataDir: string;
  let api: ApiGatewayV2Client;
  let setup: Awaited<ReturnType<typeof testAccount>>;
  let apiId: string;
  let vpcLinkId: string;

  beforeEach(async () => {
    dataDir = newDataDir();
    setup = await testAccount({ dataDir });
    api = new ApiGatewayV2Client(clientConfig);
    setup.account.attach([api]);
    const { Items } = await api.send(new GetApisCommand({}));
    apiId = Items?.find((a) => a.Name === 'stackpilot-shop-dev')?.ApiId ?? '';
    const integrations = await api.send(new GetIntegrationsCommand({ ApiId: apiId }));
    vpcLinkId = integrations.Items?.[0]?.ConnectionId ?? '';
  });
  afterEach(() => removeDataDir(dataDir));

  /** What the preview state machine sends for the root (`/`) or proxy route's integration. */
  function previewIntegration(role: 'root' | 'proxy'): CreateIntegrationCommandInput {
    return {
      ApiId: apiId,
      IntegrationType: 'HTTP_PROXY',
      IntegrationMethod: 'ANY',
      IntegrationUri: PREVIEW_MAP,
      ConnectionType: 'VPC_LINK',
      ConnectionId: vpcLinkId,
      PayloadFormatVersion: '1.0',
      Description: `stackpilot preview pr-1 (${role})`,
      RequestParameters: { 'overwrite:path': role === 'root' ? '/' : '/$request.path.proxy' },
    };
  }

  it("holds the stage's HTTP API from the template: a $default route to the stage's Cloud Map service through the VPC link", async () => {
    const apis = await api.send(new GetApisCommand({}));
    expect(apis.Items?.map((a) => a.Name).sort()).toEqual(['stackpilot-shop-dev', 'stackpilot-webhooks']);
    expect(apiId).toMatch(/^[a-z0-9]{10}$/);
    expect(apis.Items?.find((a) => a.ApiId === apiId)).toMatchObject({
      ProtocolType: 'HTTP',
      ApiEndpoint: `https://${apiId}.execute-api.us-east-1.amazonaws.com`,
      Tags: { 'stackpilot:app': 'shop', 'stackpilot:stage': 'dev' },
    });
    const cloudMap = new ServiceDiscoveryClient(clientConfig);
    setup.account.attach([cloudMap]);
    const stageService = (await cloudMap.send(new ListServicesCommand({}))).Services?.[0];
    const { Items: integrations } = await api.send(new GetIntegrationsCommand({ ApiId: apiId }));
    expect(integrations).toEqual([
      expect.objectContaining({
        IntegrationType: 'HTTP_PROXY',
        IntegrationMethod: 'ANY',
        IntegrationUri: stageService?.Arn,
        ConnectionType: 'VPC_LINK',
        PayloadFormatVersion: '1.0',
      }),
    ]);
    const { Items: routes } = await api.send(new GetRoutesCommand({ ApiId: apiId }));
    expect(routes).toEqual([
      expect.objectContaining({
        RouteKey: '$default',
        Target: `integrations/${integrations?.[0]?.IntegrationId}`,
        AuthorizationType: 'NONE',
      }),
    ]);
  });

  it("adds a preview's integrations and routes, lists them a page at a time, and refuses a route key twice", async () => {
    const root = await api.send(new CreateIntegrationCommand(previewIntegration('root')));
    const proxy = await api.send(new CreateIntegrationCommand(previewIntegration('proxy')));
    expect(root.IntegrationId).toMatch(/^[a-z0-9]{7}$/);
    expect(root).toMatchObject({
      IntegrationUri: PREVIEW_MAP,
      ConnectionId: vpcLinkId,
      RequestParameters: { 'overwrite:path': '/' },
      TimeoutInMillis: 30_000,
    });
    const got = await api.send(
      new GetIntegrationCommand({ ApiId: apiId, IntegrationId: proxy.IntegrationId }),
    );
    expect(got.RequestParameters).toEqual({ 'overwrite:path': '/$request.path.proxy' });

    await api.send(
      new CreateRouteCommand({
        ApiId: apiId,
        RouteKey: 'ANY /pr-1',
        Target: `integrations/${root.IntegrationId}`,
      }),
    );
    await api.send(
      new CreateRouteCommand({
        ApiId: apiId,
        RouteKey: 'ANY /pr-1/{proxy+}',
        Target: `integrations/${proxy.IntegrationId}`,
      }),
    );
    const first = await api.send(new GetRoutesCommand({ ApiId: apiId, MaxResults: '2' }));
    expect(first.Items?.map((r) => r.RouteKey)).toEqual(['$default', 'ANY /pr-1']);
    const second = await api.send(
      new GetRoutesCommand({ ApiId: apiId, MaxResults: '2', NextToken: first.NextToken }),
    );
    expect(second.Items?.map((r) => r.RouteKey)).toEqual(['ANY /pr-1/{proxy+}']);
    expect(second.NextToken).toBeUndefined();

    const again = await api
      .send(
        new CreateRouteCommand({
          ApiId: apiId,
          RouteKey: 'ANY /pr-1',
          Target: `integrations/${root.IntegrationId}`,
        }),
      )
      .catch((e: unknown) => e);
    expect(again).toBeInstanceOf(ConflictException);
    expect((again as Error).message).toBe('Route with key ANY /pr-1 already exists for this API');
  });

  it('refuses what does not exist: an API, an integration, a route, a VPC link; and a route key it cannot parse', async () => {
    const missingApi = await api.send(new GetRoutesCommand({ ApiId: 'nope000000' })).catch((e: unknown) => e);
    expect(missingApi).toBeInstanceOf(NotFoundException);
    expect((missingApi as Error).message).toBe('Invalid API identifier specified nope000000');
    await expect(
      api.send(new GetIntegrationCommand({ ApiId: apiId, IntegrationId: 'nope000' })),
    ).rejects.toBeInstanceOf(NotFoundException);
    await expect(
      api.send(new DeleteRouteCommand({ ApiId: apiId, RouteId: 'nope000' })),
    ).rejects.toBeInstanceOf(NotFoundException);
    await expect(
      api.send(new CreateRouteCommand({ ApiId: apiId, RouteKey: 'ANY /x', Target: 'integrations/nope000' })),
    ).rejects.toBeInstanceOf(NotFoundException);
    await expect(
      api.send(new CreateIntegrationCommand({ ...previewIntegration('root'), ConnectionId: 'nolink' })),
    ).rejects.toBeInstanceOf(NotFoundException);
    for (const RouteKey of ['GET', 'ANY pr-1', 'FETCH /x', 'ANY /{proxy+}/x']) {
      await expect(api.send(new CreateRouteCommand({ ApiId: apiId, RouteKey }))).rejects.toBeInstanceOf(
        BadRequestException,
      );
    }
  });

  it('deletes a route, then its integration (refused while a route still targets it)', async () => {
    const root = await api.send(new CreateIntegrationCommand(previewIntegration('root')));
    const route = await api.send(
      new CreateRouteCommand({
        ApiId: apiId,
        RouteKey: 'ANY /pr-1',
        Target: `integrations/${root.IntegrationId}`,
      }),
    );
    const inUse = await api
      .send(new DeleteIntegrationCommand({ ApiId: apiId, IntegrationId: root.IntegrationId }))
      .catch((e: unknown) => e);
    expect(inUse).toBeInstanceOf(ConflictException);
    expect((inUse as Error).message).toBe(
      `Cannot delete Integration because it is referenced by the following Routes with Ids: [${route.RouteId}]`,
    );
    await api.send(new DeleteRouteCommand({ ApiId: apiId, RouteId: route.RouteId }));
    await api.send(new DeleteIntegrationCommand({ ApiId: apiId, IntegrationId: root.IntegrationId }));
    const { Items: routes } = await api.send(new GetRoutesCommand({ ApiId: apiId }));
    expect(routes?.map((r) => r.RouteKey)).toEqual(['$default']);
    const { Items: integrations } = await api.send(new GetIntegrationsCommand({ ApiId: apiId }));
    expect(integrations?.map((i) => i.IntegrationUri)).not.toContain(PREVIEW_MAP);
    await expect(
      api.send(new DeleteIntegrationCommand({ ApiId: apiId, IntegrationId: root.IntegrationId })),
    ).rejects.toBeInstanceOf(NotFoundException);
  });

  it('keeps its routes across a restart and a redeploy of the templates', async () => {
    const root = await api.send(new CreateIntegrationCommand(previewIntegration('root')));
    await api.send(
      new CreateRouteCommand({
        ApiId: apiId,
        RouteKey: 'ANY /pr-1',
        Target: `integrations/${root.IntegrationId}`,
      }),
    );
    setup.account.flush();
    const restarted = createEmulatedAccount({ dataDir, config: testConfig(), clock: manualClock() });
    await restarted.deployApp(SHARED_TEMPLATE_CACHE);
    const again = new ApiGatewayV2Client(clientConfig);
    restarted.attach([again]);
    const { Items } = await again.send(new GetRoutesCommand({ ApiId: apiId }));
    expect(Items?.map((r) => r.RouteKey)).toEqual(['$default', 'ANY /pr-1']);
  });
});
