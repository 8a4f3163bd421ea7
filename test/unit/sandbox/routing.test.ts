/** The sandbox front door's routing: the pure decision (`routing.ts`) and the proxy that follows it. */
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Integration, Route } from '@aws-sdk/client-apigatewayv2';
import type { Service } from '@aws-sdk/client-ecs';
import type { Rule } from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterEach, describe, expect, it } from 'vitest';
import { type DoorTarget, FrontDoor } from '../../../sandbox/tasks/front-door.ts';
import {
  apiDoorRoutes,
  type DoorRoute,
  decideRoute,
  listenerDoorRoutes,
  matchRouteKey,
  pathPatternRegex,
  publishedFrontDoor,
} from '../../../sandbox/tasks/routing.ts';

const STAGE = 'stackpilot-shop-dev';
const PREVIEW = 'stackpilot-shop-dev-pr-1';

/** The two routes a preview adds on a standard stage's HTTP API (`shared/preview/plan.ts`). */
function previewApiRoutes(n: number): DoorRoute[] {
  const service = `stackpilot-shop-dev-pr-${n}`;
  return [
    { kind: 'api', routeKey: `ANY /pr-${n}`, overwritePath: '/', service },
    { kind: 'api', routeKey: `ANY /pr-${n}/{proxy+}`, overwritePath: '/$request.path.proxy', service },
  ];
}

/** The listener rule a preview adds on a hyperscale stage's listener. */
function previewRule(n: number, priority: number): DoorRoute {
  const service = `stackpilot-shop-dev-pr-${n}`;
  return {
    kind: 'rule',
    priority,
    pathPatterns: [`/pr-${n}`, `/pr-${n}/*`],
    rewrite: { regex: `^/pr-${n}/?(.*)$`, replace: '/$1' },
    service,
  };
}

const route = (method: string, url: string, routes: readonly DoorRoute[]) =>
  decideRoute({ method, url }, routes, STAGE);

describe('the front door routes as API Gateway does (standard)', () => {
  const routes = [...previewApiRoutes(1), ...previewApiRoutes(12)];

  it("sends /pr-<n> and /pr-<n>/… to the preview's service, the prefix dropped and the query string kept", () => {
    expect(route('GET', '/pr-1', routes)).toEqual({ service: PREVIEW, url: '/', via: 'ANY /pr-1' });
    expect(route('GET', '/pr-1?q=1', routes)).toEqual({ service: PREVIEW, url: '/?q=1', via: 'ANY /pr-1' });
    expect(route('POST', '/pr-1/api/items?page=2&x=%20', routes)).toEqual({
      service: PREVIEW,
      url: '/api/items?page=2&x=%20',
      via: 'ANY /pr-1/{proxy+}',
    });
    expect(route('GET', '/pr-1/', routes).url).toBe('/');
    expect(route('GET', '/pr-12/a', routes)).toMatchObject({
      service: 'stackpilot-shop-dev-pr-12',
      url: '/a',
    });
  });

  it("sends every other path to the stage's service unchanged, as its $default route does", () => {
    for (const url of ['/', '/pr-1x', '/pr-123/a', '/health?x=1', '/a/pr-1']) {
      expect(route('GET', url, routes)).toEqual({ service: STAGE, url, via: 'default' });
    }
  });

  it('answers with no service when the route reaches no ECS service (its Cloud Map service has none)', () => {
    expect(
      route(
        'GET',
        '/pr-3/x',
        previewApiRoutes(3).map((r) => ({ ...r, service: undefined })),
      ),
    ).toEqual({
      service: undefined,
      url: '/x',
      via: 'ANY /pr-3/{proxy+}',
    });
  });

  it('prefers the most specific route: literal segments over variables over greedy ones, a method over ANY', () => {
    expect(matchRouteKey('ANY /pr-1/{proxy+}', 'GET', '/pr-1')).toBeUndefined();
    expect(matchRouteKey('ANY /pr-1', 'GET', '/pr-1/a')).toBeUndefined();
    expect(matchRouteKey('GET /a', 'POST', '/a')).toBeUndefined();
    expect(matchRouteKey('ANY /{id}', 'GET', '/')).toBeUndefined();
    expect(matchRouteKey('ANY /', 'GET', '/')).toMatchObject({ variables: {} });
    const routes: DoorRoute[] = [
      { kind: 'api', routeKey: 'ANY /{proxy+}', service: 'greedy' },
      { kind: 'api', routeKey: 'ANY /items/{id}', service: 'variable' },
      { kind: 'api', routeKey: 'ANY /items/new', service: 'literal' },
      { kind: 'api', routeKey: 'GET /items/new', service: 'method' },
    ];
    expect(route('GET', '/items/new', routes).service).toBe('method');
    expect(route('PUT', '/items/new', routes).service).toBe('literal');
    expect(route('PUT', '/items/7', routes).service).toBe('variable');
    expect(route('PUT', '/items/7/parts', routes).service).toBe('greedy');
  });

  it('fills overwrite:path from the path variables and keeps the path without one', () => {
    const routes: DoorRoute[] = [
      {
        kind: 'api',
        routeKey: 'ANY /v1/{name}/{rest+}',
        overwritePath: '/$request.path.name/x/$request.path.rest',
        service: 'a',
      },
      { kind: 'api', routeKey: 'ANY /plain/{proxy+}', service: 'b' },
    ];
    expect(route('GET', '/v1/n/p/q', routes).url).toBe('/n/x/p/q');
    expect(route('GET', '/plain/p?z', routes).url).toBe('/plain/p?z');
  });
});

describe('the front door routes as the load balancer does (hyperscale)', () => {
  const rules = [previewRule(12, 1001), previewRule(1, 1000)];

  it("sends /pr-<n> and /pr-<n>/… to the preview's service, rewritten by the rule's url-rewrite, the query string kept", () => {
    expect(route('GET', '/pr-1', rules)).toEqual({ service: PREVIEW, url: '/', via: 'rule 1000' });
    expect(route('GET', '/pr-1/', rules)).toEqual({ service: PREVIEW, url: '/', via: 'rule 1000' });
    expect(route('DELETE', '/pr-1/a/b?c=d', rules)).toEqual({
      service: PREVIEW,
      url: '/a/b?c=d',
      via: 'rule 1000',
    });
    expect(route('GET', '/pr-12/z', rules)).toMatchObject({
      service: 'stackpilot-shop-dev-pr-12',
      url: '/z',
    });
    expect(route('GET', '/pr-1x', rules)).toEqual({ service: STAGE, url: '/pr-1x', via: 'default' });
  });

  it('tries rules by priority, lowest first, and skips rules whose conditions it cannot evaluate', () => {
    const routes: DoorRoute[] = [
      { kind: 'rule', priority: 5, pathPatterns: ['/a*'], service: 'five' },
      { kind: 'rule', priority: 2, pathPatterns: ['/a?c'], methods: ['POST'], service: 'two' },
      { kind: 'rule', priority: 1, pathPatterns: ['/abc'], service: 'host', unsupported: true },
    ];
    expect(route('POST', '/abc', routes).service).toBe('two');
    expect(route('GET', '/abc', routes).service).toBe('five');
    expect(route('GET', '/b', routes).service).toBe(STAGE);
  });

  it('matches ALB path patterns: * any characters, ? one, everything else literally and case-sensitively', () => {
    expect(pathPatternRegex('/pr-1/*').test('/pr-1/')).toBe(true);
    expect(pathPatternRegex('/pr-1/*').test('/pr-1')).toBe(false);
    expect(pathPatternRegex('/a.b').test('/axb')).toBe(false);
    expect(pathPatternRegex('/A?').test('/a1')).toBe(false);
    expect(pathPatternRegex('/(x)+').test('/(x)+')).toBe(true);
  });
});

describe('routes from what the emulated account describes', () => {
  it("reads the stage's published front door, ignoring a value that is not one", () => {
    const door = { scale: 'standard', url: 'https://x', apiId: 'a', vpcLinkId: 'v', namespaceId: 'n' };
    expect(publishedFrontDoor(JSON.stringify(door))).toEqual(door);
    expect(publishedFrontDoor(undefined)).toBeUndefined();
    expect(publishedFrontDoor('not json')).toBeUndefined();
    expect(publishedFrontDoor(JSON.stringify({ ...door, scale: 'other' }))).toBeUndefined();
  });

  const cloudMapArn = 'arn:aws:servicediscovery:us-east-1:123456789012:service/srv-preview1';
  const stageMapArn = 'arn:aws:servicediscovery:us-east-1:123456789012:service/srv-stage';
  const targetGroupArn = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/sp-1-pr-1/abc';
  const services: Service[] = [
    { serviceName: STAGE, status: 'ACTIVE', serviceRegistries: [{ registryArn: stageMapArn }] },
    { serviceName: 'old', status: 'DRAINING', serviceRegistries: [{ registryArn: cloudMapArn }] },
    {
      serviceName: PREVIEW,
      status: 'ACTIVE',
      serviceRegistries: [{ registryArn: cloudMapArn }],
      loadBalancers: [{ targetGroupArn }],
    },
  ];

  it("resolves each API route (not $default) through its integration's Cloud Map service to the ACTIVE ECS service", () => {
    const integrations: Integration[] = [
      { IntegrationId: 'stage01', IntegrationUri: stageMapArn },
      { IntegrationId: 'root001', IntegrationUri: cloudMapArn, RequestParameters: { 'overwrite:path': '/' } },
      {
        IntegrationId: 'proxy01',
        IntegrationUri: cloudMapArn,
        RequestParameters: { 'overwrite:path': '/$request.path.proxy' },
      },
      { IntegrationId: 'nobody1', IntegrationUri: 'arn:aws:servicediscovery:us-east-1:1:service/srv-none' },
    ];
    const routes: Route[] = [
      { RouteKey: '$default', Target: 'integrations/stage01' },
      { RouteKey: 'ANY /pr-1', Target: 'integrations/root001' },
      { RouteKey: 'ANY /pr-1/{proxy+}', Target: 'integrations/proxy01' },
      { RouteKey: 'ANY /pr-2', Target: 'integrations/nobody1' },
    ];
    expect(apiDoorRoutes(routes, integrations, services)).toEqual([
      { kind: 'api', routeKey: 'ANY /pr-1', overwritePath: '/', service: PREVIEW },
      {
        kind: 'api',
        routeKey: 'ANY /pr-1/{proxy+}',
        overwritePath: '/$request.path.proxy',
        service: PREVIEW,
      },
      { kind: 'api', routeKey: 'ANY /pr-2', service: undefined },
    ]);
  });

  it('resolves each listener rule (not the default) through its target group to the ECS service, with its rewrite', () => {
    const rules: Rule[] = [
      {
        Priority: '1000',
        Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/pr-1', '/pr-1/*'] } }],
        Actions: [{ Type: 'forward', TargetGroupArn: targetGroupArn }],
        Transforms: [
          {
            Type: 'url-rewrite',
            UrlRewriteConfig: { Rewrites: [{ Regex: '^/pr-1/?(.*)$', Replace: '/$1' }] },
          },
        ],
      },
      {
        Priority: '7',
        Conditions: [{ Field: 'host-header', Values: ['x.example.com'] }],
        Actions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404' } }],
      },
      {
        Priority: 'default',
        IsDefault: true,
        Conditions: [],
        Actions: [{ Type: 'forward', TargetGroupArn: 'stage' }],
      },
    ];
    expect(listenerDoorRoutes(rules, services)).toEqual([
      {
        kind: 'rule',
        priority: 1000,
        pathPatterns: ['/pr-1', '/pr-1/*'],
        rewrite: { regex: '^/pr-1/?(.*)$', replace: '/$1' },
        service: PREVIEW,
      },
      { kind: 'rule', priority: 7, service: undefined, unsupported: true },
    ]);
  });
});

describe('the front door proxy', () => {
  const servers: Server[] = [];
  let door: FrontDoor | undefined;

  afterEach(async () => {
    await door?.close();
    door = undefined;
    for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
  });

  /** A task on loopback that answers with its name and the URL it received. */
  async function task(name: string): Promise<number> {
    const server = createServer((req, res) => res.end(`${name} ${req.url}`));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  }

  function fetchText(url: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      get(url, { agent: false }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      }).on('error', reject);
    });
  }

  it('sends each request to the tasks of the service its route names, with the rewritten path, and 503 when none is healthy', async () => {
    const stage = [await task('stage-a'), await task('stage-b')];
    const preview = [await task('preview')];
    const routes = [...previewApiRoutes(1), ...previewApiRoutes(2)];
    const ports: Record<string, number[]> = {
      [STAGE]: stage,
      [PREVIEW]: preview,
      'stackpilot-shop-dev-pr-2': [],
    };
    door = await FrontDoor.open({
      route: (method, url): DoorTarget => {
        const decision = decideRoute({ method, url }, routes, STAGE);
        return {
          name: decision.service ?? 'none',
          ports: ports[decision.service ?? ''] ?? [],
          url: decision.url,
        };
      },
    });
    expect(await fetchText(`${door.url}/pr-1/a/b?c=1`)).toEqual({ status: 200, body: 'preview /a/b?c=1' });
    expect(await fetchText(`${door.url}/pr-1`)).toEqual({ status: 200, body: 'preview /' });
    const first = await fetchText(`${door.url}/x?y`);
    const second = await fetchText(`${door.url}/x?y`);
    expect([first.body, second.body].sort()).toEqual(['stage-a /x?y', 'stage-b /x?y']);
    const none = await fetchText(`${door.url}/pr-2/x`);
    expect(none.status).toBe(503);
    expect(JSON.parse(none.body).message).toContain('stackpilot-shop-dev-pr-2');
    expect(door.counts).toMatchObject({ requests: 5, noTarget: 1, status5xx: 1 });
  });
});
