/**
 * Emulated API Gateway v2 (HTTP APIs): the APIs, VPC links, integrations and routes the
 * templates create (the standard tier's front door: a `$default` route to the stage's Cloud
 * Map service through a VPC link) and the integrations and routes the preview state machine
 * adds and removes at run time. The sandbox's front door routes requests by what is here.
 */
import { join } from 'node:path';
import {
  type Api,
  BadRequestException,
  ConflictException,
  type CreateIntegrationCommandInput,
  type CreateIntegrationCommandOutput,
  type CreateRouteCommandInput,
  type CreateRouteCommandOutput,
  type DeleteIntegrationCommandInput,
  type DeleteIntegrationCommandOutput,
  type DeleteRouteCommandInput,
  type DeleteRouteCommandOutput,
  type GetApisCommandInput,
  type GetApisCommandOutput,
  type GetIntegrationCommandInput,
  type GetIntegrationCommandOutput,
  type GetIntegrationsCommandInput,
  type GetIntegrationsCommandOutput,
  type GetRouteCommandInput,
  type GetRouteCommandOutput,
  type GetRoutesCommandInput,
  type GetRoutesCommandOutput,
  type Integration,
  NotFoundException,
  type Route,
} from '@aws-sdk/client-apigatewayv2';
import { awsError } from './errors.ts';
import { randomId } from './ids.ts';
import { pageOf } from './paging.ts';
import { JsonFile } from './store.ts';
import type { AccountContext, Emulator, Result } from './types.ts';

interface ApiRecord {
  apiId: string;
  name: string;
  protocolType: 'HTTP' | 'WEBSOCKET';
  description?: string;
  tags?: Record<string, string>;
  createdAt: number;
  /** Keyed by integration id, in creation order. */
  integrations: Record<string, Integration>;
  /** Keyed by route id, in creation order. */
  routes: Record<string, Route>;
}

interface ApiGatewayV2State {
  apis: Record<string, ApiRecord>;
  /** VPC link ids (what an integration's ConnectionId names). */
  vpcLinks: Record<string, { name: string; createdAt: number }>;
}

/** The methods an HTTP API route takes (`ANY` is every method). */
const METHODS = ['ANY', 'GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];
/** One path segment of a route key: a literal, `{name}`, or a greedy `{name+}` (last only). */
const SEGMENT = /^([^{}/]+|\{[A-Za-z0-9._-]+\}|\{[A-Za-z0-9._-]+\+\})$/;

/** Whether a route key is `$default` or `<METHOD> /<path>`, as HTTP APIs take them. */
export function validRouteKey(routeKey: string): boolean {
  if (routeKey === '$default') return true;
  const [method = '', path = '', ...rest] = routeKey.split(' ');
  if (rest.length > 0 || !METHODS.includes(method) || !path.startsWith('/')) return false;
  if (path === '/') return true;
  const segments = path.slice(1).split('/');
  return segments.every(
    (segment, i) => SEGMENT.test(segment) && (!segment.endsWith('+}') || i === segments.length - 1),
  );
}

export class ApiGatewayV2Emulator implements Emulator {
  readonly service = 'ApiGatewayV2';
  private readonly file: JsonFile<ApiGatewayV2State>;

  constructor(
    private readonly ctx: AccountContext,
    dataDir: string,
  ) {
    this.file = new JsonFile(join(dataDir, 'account', 'apigatewayv2.json'), () => ({
      apis: {},
      vpcLinks: {},
    }));
  }

  private get state(): ApiGatewayV2State {
    return this.file.value;
  }

  save(): void {
    this.file.save();
  }

  // ---- what the templates create (with the ids their stacks gave them) ----

  /** A template's `AWS::ApiGatewayV2::Api`. Does nothing when it exists. */
  ensureApi(spec: {
    apiId: string;
    name: string;
    protocolType?: string;
    description?: string;
    tags?: Record<string, string>;
  }): void {
    if (this.state.apis[spec.apiId]) return;
    this.state.apis[spec.apiId] = {
      apiId: spec.apiId,
      name: spec.name,
      protocolType: spec.protocolType === 'WEBSOCKET' ? 'WEBSOCKET' : 'HTTP',
      ...(spec.description !== undefined && { description: spec.description }),
      ...(spec.tags && { tags: spec.tags }),
      createdAt: this.ctx.clock.now(),
      integrations: {},
      routes: {},
    };
  }

  /** A template's `AWS::ApiGatewayV2::VpcLink`. Does nothing when it exists. */
  ensureVpcLink(spec: { vpcLinkId: string; name: string }): void {
    this.state.vpcLinks[spec.vpcLinkId] ??= { name: spec.name, createdAt: this.ctx.clock.now() };
  }

  /** A template's `AWS::ApiGatewayV2::Integration`. Does nothing when it exists. */
  ensureIntegration(integrationId: string, input: CreateIntegrationCommandInput): void {
    if (this.state.apis[input.ApiId ?? '']?.integrations[integrationId]) return;
    this.createIntegration(integrationId, input);
  }

  /** A template's `AWS::ApiGatewayV2::Route`. Does nothing when it exists. */
  ensureRoute(routeId: string, input: CreateRouteCommandInput): void {
    if (this.state.apis[input.ApiId ?? '']?.routes[routeId]) return;
    this.createRoute(routeId, input);
  }

  /** The ids of the APIs with an integration to `integrationUri` (a stage's Cloud Map service). */
  apisIntegrating(integrationUri: string): string[] {
    return Object.values(this.state.apis)
      .filter((api) => Object.values(api.integrations).some((i) => i.IntegrationUri === integrationUri))
      .map((api) => api.apiId);
  }

  /** An API's routes and integrations (undefined when there is no such API): what the sandbox's front door routes by. */
  routing(apiId: string): { routes: Route[]; integrations: Integration[] } | undefined {
    const api = this.state.apis[apiId];
    if (!api) return undefined;
    return {
      routes: structuredClone(Object.values(api.routes)),
      integrations: structuredClone(Object.values(api.integrations)),
    };
  }

  // ---- the commands ----

  readonly commands = {
    GetApis: (input: GetApisCommandInput): Result<GetApisCommandOutput> => {
      const page = listPage(
        Object.values(this.state.apis).sort((a, b) => a.createdAt - b.createdAt),
        input,
      );
      return { ...page, Items: page.Items.map((a) => this.api(a)) };
    },
    CreateIntegration: (input: CreateIntegrationCommandInput): Result<CreateIntegrationCommandOutput> =>
      structuredClone(this.createIntegration(randomId(7), input)),
    GetIntegrations: (input: GetIntegrationsCommandInput): Result<GetIntegrationsCommandOutput> =>
      structuredClone(listPage(Object.values(this.apiRecord(input.ApiId).integrations), input)),
    GetIntegration: (input: GetIntegrationCommandInput): Result<GetIntegrationCommandOutput> =>
      structuredClone(this.integration(input.ApiId, input.IntegrationId)),
    DeleteIntegration: (input: DeleteIntegrationCommandInput): Result<DeleteIntegrationCommandOutput> => {
      const api = this.apiRecord(input.ApiId);
      const integration = this.integration(input.ApiId, input.IntegrationId);
      const users = Object.values(api.routes)
        .filter((r) => r.Target === `integrations/${integration.IntegrationId}`)
        .map((r) => r.RouteId);
      if (users.length > 0) {
        throw awsError(
          ConflictException,
          `Cannot delete Integration because it is referenced by the following Routes with Ids: [${users.join(', ')}]`,
          { httpStatusCode: 409 },
        );
      }
      delete api.integrations[integration.IntegrationId ?? ''];
      return {};
    },
    CreateRoute: (input: CreateRouteCommandInput): Result<CreateRouteCommandOutput> =>
      structuredClone(this.createRoute(randomId(7), input)),
    GetRoutes: (input: GetRoutesCommandInput): Result<GetRoutesCommandOutput> =>
      structuredClone(listPage(Object.values(this.apiRecord(input.ApiId).routes), input)),
    GetRoute: (input: GetRouteCommandInput): Result<GetRouteCommandOutput> =>
      structuredClone(this.route(input.ApiId, input.RouteId)),
    DeleteRoute: (input: DeleteRouteCommandInput): Result<DeleteRouteCommandOutput> => {
      const route = this.route(input.ApiId, input.RouteId);
      delete this.apiRecord(input.ApiId).routes[route.RouteId ?? ''];
      return {};
    },
  };

  // ---- helpers ----

  private createIntegration(integrationId: string, input: CreateIntegrationCommandInput): Integration {
    const api = this.apiRecord(input.ApiId);
    if (!input.IntegrationType) throw awsError(BadRequestException, 'IntegrationType is required.');
    if (input.ConnectionType === 'VPC_LINK' && !this.state.vpcLinks[input.ConnectionId ?? '']) {
      throw awsError(NotFoundException, `Invalid VpcLink identifier specified ${input.ConnectionId}`, {
        httpStatusCode: 404,
      });
    }
    const { ApiId: _api, TlsConfig: _tls, ...fields } = input;
    const integration: Integration = {
      ...structuredClone(fields),
      IntegrationId: integrationId,
      ConnectionType: input.ConnectionType ?? 'INTERNET',
      ...(input.IntegrationType === 'HTTP_PROXY' && { IntegrationMethod: input.IntegrationMethod ?? 'ANY' }),
      TimeoutInMillis: input.TimeoutInMillis ?? 30_000,
      ApiGatewayManaged: false,
    };
    api.integrations[integrationId] = integration;
    return integration;
  }

  private createRoute(routeId: string, input: CreateRouteCommandInput): Route {
    const api = this.apiRecord(input.ApiId);
    const routeKey = input.RouteKey ?? '';
    if (!validRouteKey(routeKey))
      throw awsError(BadRequestException, `Unable to parse route key ${routeKey}`);
    if (Object.values(api.routes).some((r) => r.RouteKey === routeKey)) {
      throw awsError(ConflictException, `Route with key ${routeKey} already exists for this API`, {
        httpStatusCode: 409,
      });
    }
    const target = input.Target;
    if (target !== undefined) {
      const integrationId = /^integrations\/(.+)$/.exec(target)?.[1];
      if (!integrationId) throw awsError(BadRequestException, `Invalid target ${target}`);
      this.integration(input.ApiId, integrationId);
    }
    const { ApiId: _api, ...fields } = input;
    const route: Route = {
      ...structuredClone(fields),
      RouteId: routeId,
      RouteKey: routeKey,
      AuthorizationType: input.AuthorizationType ?? 'NONE',
      ApiKeyRequired: input.ApiKeyRequired ?? false,
      ApiGatewayManaged: false,
    };
    api.routes[routeId] = route;
    return route;
  }

  private apiRecord(apiId: string | undefined): ApiRecord {
    const api = this.state.apis[apiId ?? ''];
    if (!api)
      throw awsError(NotFoundException, `Invalid API identifier specified ${apiId}`, { httpStatusCode: 404 });
    return api;
  }

  private integration(apiId: string | undefined, integrationId: string | undefined): Integration {
    const integration = this.apiRecord(apiId).integrations[integrationId ?? ''];
    if (!integration) {
      throw awsError(NotFoundException, `Invalid Integration identifier specified ${integrationId}`, {
        httpStatusCode: 404,
      });
    }
    return integration;
  }

  private route(apiId: string | undefined, routeId: string | undefined): Route {
    const route = this.apiRecord(apiId).routes[routeId ?? ''];
    if (!route)
      throw awsError(NotFoundException, `Invalid Route identifier specified ${routeId}`, {
        httpStatusCode: 404,
      });
    return route;
  }

  private api(api: ApiRecord): Api {
    return {
      ApiId: api.apiId,
      Name: api.name,
      ProtocolType: api.protocolType,
      ApiEndpoint: apiEndpoint(api.apiId, this.ctx.region),
      RouteSelectionExpression: '$request.method $request.path',
      CreatedDate: new Date(api.createdAt),
      ApiKeySelectionExpression: '$request.header.x-api-key',
      DisableExecuteApiEndpoint: false,
      ApiGatewayManaged: false,
      ...(api.description !== undefined && { Description: api.description }),
      Tags: { ...api.tags },
    };
  }
}

/** The default endpoint of an HTTP API: `https://<api id>.execute-api.<region>.amazonaws.com`. */
export function apiEndpoint(apiId: string, region: string): string {
  return `https://${apiId}.execute-api.${region}.amazonaws.com`;
}

/**
 * One page of `all` as the API Gateway list calls answer it: `MaxResults` items (100 by
 * default, at most 500; a value that is not a whole number is ignored), `NextToken` while more remain.
 */
function listPage<T>(
  all: readonly T[],
  input: { MaxResults?: string; NextToken?: string },
): { Items: T[]; NextToken?: string } {
  const n = Number(input.MaxResults);
  const size = input.MaxResults === undefined || !Number.isInteger(n) ? undefined : n;
  const { items, next } = pageOf(all, size, input.NextToken, { default: 100, max: 500 });
  return { Items: items, ...(next && { NextToken: next }) };
}
