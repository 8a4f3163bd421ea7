/**
 * A preview's route on its stage's front door, made and removed with the AWS APIs (the plan is
 * in `plan.ts`). Every function is idempotent: it looks for what an earlier attempt made before
 * making it, so a retried or re-run step changes nothing twice.
 *
 * - standard: a Cloud Map service `pr-<n>` in the stage's namespace (ECS registers the preview's
 *   task in it), two HTTP API integrations through the stage's VPC link (`overwrite:path` drops
 *   the prefix) and the routes `ANY /pr-<n>` and `ANY /pr-<n>/{proxy+}`;
 * - hyperscale: a target group and a listener rule on `/pr-<n>` and `/pr-<n>/*` with a URL
 *   rewrite that drops the prefix.
 */
import {
  type ApiGatewayV2Client,
  CreateIntegrationCommand,
  CreateRouteCommand,
  DeleteIntegrationCommand,
  DeleteRouteCommand,
  GetIntegrationsCommand,
  GetRoutesCommand,
  type Integration,
  type Route,
} from '@aws-sdk/client-apigatewayv2';
import {
  CreateRuleCommand,
  CreateTargetGroupCommand,
  DeleteRuleCommand,
  DeleteTargetGroupCommand,
  DescribeRulesCommand,
  DescribeTargetGroupsCommand,
  type ElasticLoadBalancingV2Client,
  type Rule,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  CreateServiceCommand,
  DeleteServiceCommand,
  ListServicesCommand,
  type ServiceDiscoveryClient,
  type ServiceSummary,
} from '@aws-sdk/client-servicediscovery';
import type { Clients } from '../aws/clients.ts';
import { previewNames } from '../naming.ts';
import { PreviewStillDraining } from './errors.ts';
import type { FrontDoor } from './front-door.ts';
import {
  apiRoutes,
  freePriority,
  listenerRule,
  type PreviewFacts,
  type PreviewTarget,
  previewTags,
} from './plan.ts';

type RouteClients = Pick<Clients, 'apiGatewayV2' | 'elbv2' | 'serviceDiscovery'>;

/** The tags of a preview resource in the `{Key, Value}` shape of Cloud Map and ELBv2. */
const awsTags = (facts: PreviewFacts) => previewTags(facts).map((t) => ({ Key: t.key, Value: t.value }));

/** Makes (or finds) the preview's route; returns what its ECS service registers with. */
export async function ensureRoute(
  door: FrontDoor,
  facts: PreviewFacts & { readonly healthCheckPath: string },
  clients: RouteClients,
): Promise<PreviewTarget> {
  if (door.scale === 'standard') {
    const service = await ensureDiscoveryService(door.namespaceId, facts, clients.serviceDiscovery);
    await ensureApiRoutes(door, service, facts.number, clients.apiGatewayV2);
    return { kind: 'cloud-map', registryArn: service };
  }
  const targetGroupArn = await ensureTargetGroup(door.vpcId, facts, clients.elbv2);
  await ensureListenerRule(door.listenerArn, targetGroupArn, facts.number, clients.elbv2);
  return { kind: 'target-group', targetGroupArn };
}

/**
 * Removes the preview's route. Throws {@link PreviewStillDraining} while the last part cannot go
 * yet (Cloud Map instances still registered, a target group still in use by draining tasks).
 */
export async function removeRoute(
  door: FrontDoor,
  facts: PreviewFacts,
  clients: RouteClients,
): Promise<void> {
  const names = previewNames(facts.app, facts.stage, facts.number);
  if (door.scale === 'standard') {
    const service = await findDiscoveryService(
      door.namespaceId,
      names.discoveryService,
      clients.serviceDiscovery,
    );
    const routeKeys = new Set(apiRoutes(facts.number).map((r) => r.routeKey));
    for (const route of await allRoutes(door.apiId, clients.apiGatewayV2)) {
      if (route.RouteKey && routeKeys.has(route.RouteKey)) {
        await clients.apiGatewayV2.send(
          new DeleteRouteCommand({ ApiId: door.apiId, RouteId: route.RouteId }),
        );
      }
    }
    if (!service) return;
    for (const integration of await allIntegrations(door.apiId, clients.apiGatewayV2)) {
      if (integration.IntegrationUri === service.Arn) {
        await clients.apiGatewayV2.send(
          new DeleteIntegrationCommand({ ApiId: door.apiId, IntegrationId: integration.IntegrationId }),
        );
      }
    }
    await stillInUse(`Cloud Map service ${names.discoveryService}`, () =>
      clients.serviceDiscovery.send(new DeleteServiceCommand({ Id: service.Id })),
    );
    return;
  }
  const targetGroupArn = await findTargetGroup(names.targetGroup, clients.elbv2);
  if (!targetGroupArn) return;
  for (const rule of await rulesForwardingTo(door.listenerArn, targetGroupArn, clients.elbv2)) {
    await clients.elbv2.send(new DeleteRuleCommand({ RuleArn: rule.RuleArn }));
  }
  await stillInUse(`target group ${names.targetGroup}`, () =>
    clients.elbv2.send(new DeleteTargetGroupCommand({ TargetGroupArn: targetGroupArn })),
  );
}

/** Runs a delete; AWS's "still in use" answer becomes {@link PreviewStillDraining}. */
async function stillInUse(what: string, remove: () => Promise<unknown>): Promise<void> {
  try {
    await remove();
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'ResourceInUse' || name === 'ResourceInUseException') {
      throw new PreviewStillDraining(`${what} is still in use (${(error as Error).message}); retrying`, {
        cause: error,
      });
    }
    if (name === 'ServiceNotFound' || name === 'TargetGroupNotFoundException') return;
    throw error;
  }
}

// ---- standard: Cloud Map and the HTTP API ----

async function findDiscoveryService(
  namespaceId: string,
  name: string,
  serviceDiscovery: ServiceDiscoveryClient,
): Promise<ServiceSummary | undefined> {
  let NextToken: string | undefined;
  do {
    const page = await serviceDiscovery.send(
      new ListServicesCommand({
        Filters: [{ Name: 'NAMESPACE_ID', Values: [namespaceId], Condition: 'EQ' }],
        NextToken,
      }),
    );
    const found = page.Services?.find((s) => s.Name === name);
    if (found) return found;
    NextToken = page.NextToken;
  } while (NextToken);
  return undefined;
}

/** The preview's Cloud Map service (SRV records, as the stage's service has): its ARN. */
async function ensureDiscoveryService(
  namespaceId: string,
  facts: PreviewFacts,
  serviceDiscovery: ServiceDiscoveryClient,
): Promise<string> {
  const names = previewNames(facts.app, facts.stage, facts.number);
  const found = await findDiscoveryService(namespaceId, names.discoveryService, serviceDiscovery);
  if (found?.Arn) return found.Arn;
  const created = await serviceDiscovery.send(
    new CreateServiceCommand({
      Name: names.discoveryService,
      NamespaceId: namespaceId,
      CreatorRequestId: names.service,
      Description: `stackpilot preview of pull request #${facts.number} (${facts.app}/${facts.stage})`,
      // SRV records carry the task's dynamic host port; API Gateway reads IP and port from them.
      DnsConfig: { RoutingPolicy: 'MULTIVALUE', DnsRecords: [{ Type: 'SRV', TTL: 10 }] },
      HealthCheckCustomConfig: { FailureThreshold: 1 },
      Tags: awsTags(facts),
    }),
  );
  if (!created.Service?.Arn) throw new Error(`Cloud Map created no service ${names.discoveryService}`);
  return created.Service.Arn;
}

async function allIntegrations(apiId: string, api: ApiGatewayV2Client): Promise<Integration[]> {
  const items: Integration[] = [];
  let NextToken: string | undefined;
  do {
    const page = await api.send(new GetIntegrationsCommand({ ApiId: apiId, MaxResults: '100', NextToken }));
    items.push(...(page.Items ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  return items;
}

async function allRoutes(apiId: string, api: ApiGatewayV2Client): Promise<Route[]> {
  const items: Route[] = [];
  let NextToken: string | undefined;
  do {
    const page = await api.send(new GetRoutesCommand({ ApiId: apiId, MaxResults: '100', NextToken }));
    items.push(...(page.Items ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  return items;
}

async function ensureApiRoutes(
  door: Extract<FrontDoor, { scale: 'standard' }>,
  serviceArn: string,
  number: number,
  api: ApiGatewayV2Client,
): Promise<void> {
  const integrations = await allIntegrations(door.apiId, api);
  const routes = await allRoutes(door.apiId, api);
  for (const { routeKey, overwritePath, role } of apiRoutes(number)) {
    if (routes.some((r) => r.RouteKey === routeKey)) continue;
    let integrationId = integrations.find(
      (i) => i.IntegrationUri === serviceArn && i.RequestParameters?.['overwrite:path'] === overwritePath,
    )?.IntegrationId;
    if (!integrationId) {
      const created = await api.send(
        new CreateIntegrationCommand({
          ApiId: door.apiId,
          IntegrationType: 'HTTP_PROXY',
          IntegrationMethod: 'ANY',
          IntegrationUri: serviceArn,
          ConnectionType: 'VPC_LINK',
          ConnectionId: door.vpcLinkId,
          PayloadFormatVersion: '1.0',
          Description: `stackpilot preview pr-${number} (${role})`,
          RequestParameters: { 'overwrite:path': overwritePath },
        }),
      );
      integrationId = created.IntegrationId;
    }
    await api.send(
      new CreateRouteCommand({
        ApiId: door.apiId,
        RouteKey: routeKey,
        Target: `integrations/${integrationId}`,
      }),
    );
  }
}

// ---- hyperscale: target group and listener rule ----

async function findTargetGroup(
  name: string,
  elbv2: ElasticLoadBalancingV2Client,
): Promise<string | undefined> {
  try {
    const out = await elbv2.send(new DescribeTargetGroupsCommand({ Names: [name] }));
    return out.TargetGroups?.[0]?.TargetGroupArn;
  } catch (error) {
    if ((error as Error).name === 'TargetGroupNotFoundException') return undefined;
    throw error;
  }
}

/** The preview's target group, health checked as the stage's (dynamic host ports: `traffic-port`). */
async function ensureTargetGroup(
  vpcId: string,
  facts: PreviewFacts & { readonly healthCheckPath: string },
  elbv2: ElasticLoadBalancingV2Client,
): Promise<string> {
  const name = previewNames(facts.app, facts.stage, facts.number).targetGroup;
  const found = await findTargetGroup(name, elbv2);
  if (found) return found;
  const created = await elbv2.send(
    new CreateTargetGroupCommand({
      Name: name,
      Protocol: 'HTTP',
      Port: 80,
      VpcId: vpcId,
      TargetType: 'instance',
      HealthCheckProtocol: 'HTTP',
      HealthCheckPort: 'traffic-port',
      HealthCheckPath: facts.healthCheckPath,
      Matcher: { HttpCode: '200-399' },
      HealthCheckIntervalSeconds: 15,
      HealthyThresholdCount: 2,
      UnhealthyThresholdCount: 3,
      Tags: awsTags(facts),
    }),
  );
  const arn = created.TargetGroups?.[0]?.TargetGroupArn;
  if (!arn) throw new Error(`ELB created no target group ${name}`);
  return arn;
}

async function listenerRules(listenerArn: string, elbv2: ElasticLoadBalancingV2Client): Promise<Rule[]> {
  const rules: Rule[] = [];
  let Marker: string | undefined;
  do {
    const page = await elbv2.send(new DescribeRulesCommand({ ListenerArn: listenerArn, Marker }));
    rules.push(...(page.Rules ?? []));
    Marker = page.NextMarker;
  } while (Marker);
  return rules;
}

async function rulesForwardingTo(
  listenerArn: string,
  targetGroupArn: string,
  elbv2: ElasticLoadBalancingV2Client,
): Promise<Rule[]> {
  return (await listenerRules(listenerArn, elbv2)).filter((r) =>
    r.Actions?.some(
      (a) =>
        a.TargetGroupArn === targetGroupArn ||
        a.ForwardConfig?.TargetGroups?.some((t) => t.TargetGroupArn === targetGroupArn),
    ),
  );
}

async function ensureListenerRule(
  listenerArn: string,
  targetGroupArn: string,
  number: number,
  elbv2: ElasticLoadBalancingV2Client,
): Promise<void> {
  const rules = await listenerRules(listenerArn, elbv2);
  const forwarding = rules.some((r) => r.Actions?.some((a) => a.TargetGroupArn === targetGroupArn));
  if (forwarding) return;
  const priority = freePriority(rules.map((r) => Number(r.Priority)).filter(Number.isFinite));
  if (priority === undefined) throw new Error(`listener ${listenerArn} has no free rule priority left`);
  const { pathPatterns, rewrite } = listenerRule(number);
  await elbv2.send(
    new CreateRuleCommand({
      ListenerArn: listenerArn,
      Priority: priority,
      Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: pathPatterns } }],
      Actions: [{ Type: 'forward', TargetGroupArn: targetGroupArn }],
      Transforms: [{ Type: 'url-rewrite', UrlRewriteConfig: { Rewrites: [rewrite] } }],
    }),
  );
}
