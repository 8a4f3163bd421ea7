/**
 * Where a stage's front door sends a request, decided as AWS decides it, from what the emulated
 * account holds. Pure: the supervisor reads the routes and services; this decides.
 *
 * - standard: the stage's HTTP API routes a request to the most specific route that matches its
 *   method and path (`ANY /pr-1` before `ANY /pr-1/{proxy+}` before `$default`); the route's
 *   integration names a Cloud Map service, whose instances are the tasks of the ECS service
 *   whose `serviceRegistries` name it; the integration's `overwrite:path` sets the path the
 *   task receives (`$request.path.<name>` takes what a path variable matched); the query
 *   string stays.
 * - hyperscale: the serving listener's rules are tried by priority, lowest first; a rule matches
 *   when all its conditions do (`path-pattern`: `*` any characters, `?` one, case-sensitive;
 *   `http-request-method`); it forwards to a target group, whose targets are the tasks of the
 *   ECS service whose `loadBalancers` name it; a `url-rewrite` transform replaces its regex in
 *   the path (the query string stays).
 *
 * A request no route matches goes where the stage's own `$default` route or default action
 * sends it: the stage's service.
 */
import type { Integration, Route } from '@aws-sdk/client-apigatewayv2';
import type { Service } from '@aws-sdk/client-ecs';
import type { Rule } from '@aws-sdk/client-elastic-load-balancing-v2';
import { type FrontDoor, frontDoorSchema } from '#shared/preview/front-door.ts';
import { forwardedTargetGroups } from '../account/elbv2.ts';

/** A route of an HTTP API (besides `$default`) and the ECS service behind its integration. */
export interface ApiDoorRoute {
  readonly kind: 'api';
  /** `ANY /pr-1/{proxy+}`. */
  readonly routeKey: string;
  /** The integration's `overwrite:path` (`/$request.path.proxy`); undefined: the path as requested. */
  readonly overwritePath?: string;
  /** The ECS service whose tasks the integration reaches; undefined when no service registers there. */
  readonly service: string | undefined;
}

/** A listener rule (not the default one) and the ECS service behind its target group. */
export interface RuleDoorRoute {
  readonly kind: 'rule';
  readonly priority: number;
  /** The `path-pattern` values (any of them matches); undefined: the rule has no path condition. */
  readonly pathPatterns?: readonly string[];
  /** The `path-pattern` regex values (any of them matches). */
  readonly pathRegexes?: readonly string[];
  /** The `http-request-method` values; undefined: any method. */
  readonly methods?: readonly string[];
  /** The first rewrite of its `url-rewrite` transform. */
  readonly rewrite?: { readonly regex: string; readonly replace: string };
  readonly service: string | undefined;
  /** A condition or action the sandbox's front door does not evaluate (host headers, redirects): never matches. */
  readonly unsupported?: boolean;
}

export type DoorRoute = ApiDoorRoute | RuleDoorRoute;

export interface RouteDecision {
  /** The ECS service whose healthy tasks serve the request; undefined: nothing behind the route (503). */
  readonly service: string | undefined;
  /** The path and query string the task receives. */
  readonly url: string;
  /** What matched, for messages: the route key, `rule <priority>`, or `default`. */
  readonly via: string;
}

/** The route of a request: the best matching route, else the stage's own service with the path unchanged. */
export function decideRoute(
  request: { readonly method: string; readonly url: string },
  routes: readonly DoorRoute[],
  stageService: string,
): RouteDecision {
  const { path, query } = splitUrl(request.url);
  const method = request.method.toUpperCase();

  let best: { route: ApiDoorRoute; variables: Record<string, string>; score: number } | undefined;
  for (const route of routes) {
    if (route.kind !== 'api') continue;
    const match = matchRouteKey(route.routeKey, method, path);
    if (match && (!best || match.score > best.score)) best = { route, ...match };
  }
  if (best) {
    const rewritten = best.route.overwritePath
      ? overwritePath(best.route.overwritePath, path, best.variables)
      : path;
    return { service: best.route.service, url: rewritten + query, via: best.route.routeKey };
  }

  const rules = routes
    .filter((r): r is RuleDoorRoute => r.kind === 'rule')
    .sort((a, b) => a.priority - b.priority);
  const rule = rules.find((r) => ruleMatches(r, method, path));
  if (rule) {
    return {
      service: rule.service,
      url: rewritePath(path, rule.rewrite) + query,
      via: `rule ${rule.priority}`,
    };
  }
  return { service: stageService, url: request.url, via: 'default' };
}

/**
 * How a route key matches a request: undefined when it does not; else the path variables and a
 * score, higher for a more specific route (no greedy variable, more literal segments, a method).
 */
export function matchRouteKey(
  routeKey: string,
  method: string,
  path: string,
): { variables: Record<string, string>; score: number } | undefined {
  const [keyMethod = '', keyPath = ''] = routeKey.split(' ');
  if (routeKey === '$default' || !keyPath.startsWith('/')) return undefined;
  if (keyMethod !== 'ANY' && keyMethod !== method) return undefined;
  const template = segmentsOf(keyPath);
  const actual = segmentsOf(path);
  const variables: Record<string, string> = {};
  let literals = 0;
  let greedy = false;
  for (const [i, segment] of template.entries()) {
    const variable = /^\{([^}+]+)(\+?)\}$/.exec(segment);
    if (variable?.[2]) {
      // A greedy variable takes the rest: at least one segment (`/pr-1/` gives it the empty one).
      if (actual.length <= i) return undefined;
      variables[variable[1] ?? ''] = actual.slice(i).join('/');
      greedy = true;
      break;
    }
    const value = actual[i];
    if (value === undefined) return undefined;
    if (variable) {
      if (value === '') return undefined;
      variables[variable[1] ?? ''] = value;
    } else if (value !== segment) {
      return undefined;
    } else {
      literals += 1;
    }
    if (i === template.length - 1 && actual.length !== template.length) return undefined;
  }
  if (template.length === 0 && actual.length > 0) return undefined;
  const score =
    (greedy ? 0 : 1_000_000) +
    literals * 1000 +
    (template.length - literals) * 10 +
    (keyMethod === 'ANY' ? 0 : 1);
  return { variables, score };
}

/** The path an `overwrite:path` value gives: `$request.path.<name>` is a path variable, `$request.path` the path. */
export function overwritePath(
  template: string,
  path: string,
  variables: Readonly<Record<string, string>>,
): string {
  return template.replace(/\$request\.path(?:\.([A-Za-z0-9._-]+))?/g, (_m, name: string | undefined) =>
    name === undefined ? path : (variables[name] ?? ''),
  );
}

/** Whether a listener rule's conditions all hold for the request. */
export function ruleMatches(rule: RuleDoorRoute, method: string, path: string): boolean {
  if (rule.unsupported) return false;
  if (rule.methods && !rule.methods.includes(method)) return false;
  if (rule.pathPatterns || rule.pathRegexes) {
    const byPattern = (rule.pathPatterns ?? []).some((p) => pathPatternRegex(p).test(path));
    const byRegex = (rule.pathRegexes ?? []).some((r) => safeRegex(r)?.test(path) ?? false);
    if (!byPattern && !byRegex) return false;
  }
  return true;
}

/** An ALB path pattern as a regular expression: `*` any characters, `?` exactly one, the rest literal. */
export function pathPatternRegex(pattern: string): RegExp {
  const body = [...pattern]
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\/]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`);
}

/** A `url-rewrite`: the regex's match in the path replaced (`$1` is its first group); no match, no change. */
export function rewritePath(path: string, rewrite: RuleDoorRoute['rewrite']): string {
  if (!rewrite) return path;
  const regex = safeRegex(rewrite.regex);
  return regex ? path.replace(regex, rewrite.replace) : path;
}

// ---- from what the emulated account describes ----

/** The front door a stage publishes (its SSM parameter's value); undefined when absent or not valid. */
export function publishedFrontDoor(value: string | undefined): FrontDoor | undefined {
  if (value === undefined) return undefined;
  try {
    const parsed = frontDoorSchema.safeParse(JSON.parse(value));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The routes of an HTTP API that reach a service (all but `$default`): each with the ECS
 * service (of `services`) registered in its integration's Cloud Map service.
 */
export function apiDoorRoutes(
  routes: readonly Route[],
  integrations: readonly Integration[],
  services: readonly Service[],
): ApiDoorRoute[] {
  return routes
    .filter((r) => r.RouteKey && r.RouteKey !== '$default')
    .map((route) => {
      const id = /^integrations\/(.+)$/.exec(route.Target ?? '')?.[1];
      const integration = integrations.find((i) => i.IntegrationId === id);
      const uri = integration?.IntegrationUri;
      const overwrite = integration?.RequestParameters?.['overwrite:path'];
      return {
        kind: 'api' as const,
        routeKey: route.RouteKey ?? '',
        ...(overwrite !== undefined && { overwritePath: overwrite }),
        service: serviceBehind(
          services,
          (s) => !!uri && !!s.serviceRegistries?.some((r) => r.registryArn === uri),
        ),
      };
    });
}

/** A listener's rules (all but its default rule), each with the ECS service behind the target group it forwards to. */
export function listenerDoorRoutes(rules: readonly Rule[], services: readonly Service[]): RuleDoorRoute[] {
  return rules
    .filter((r) => !r.IsDefault && Number.isFinite(Number(r.Priority)))
    .map((rule) => {
      let unsupported = false;
      let pathPatterns: string[] | undefined;
      let pathRegexes: string[] | undefined;
      let methods: string[] | undefined;
      for (const condition of rule.Conditions ?? []) {
        if (condition.Field === 'path-pattern') {
          pathPatterns = [
            ...(pathPatterns ?? []),
            ...(condition.PathPatternConfig?.Values ?? condition.Values ?? []),
          ];
          if (condition.PathPatternConfig?.RegexValues?.length)
            pathRegexes = [...(pathRegexes ?? []), ...condition.PathPatternConfig.RegexValues];
        } else if (condition.Field === 'http-request-method') {
          methods = condition.HttpRequestMethodConfig?.Values ?? condition.Values ?? [];
        } else {
          unsupported = true;
        }
      }
      const action = (rule.Actions ?? []).find(
        (a) => a.Type !== 'authenticate-oidc' && a.Type !== 'authenticate-cognito',
      );
      const targetGroups = action ? forwardedTargetGroups(action) : [];
      if (action?.Type !== 'forward') unsupported = true;
      const rewrite = rule.Transforms?.find((t) => t.Type === 'url-rewrite')?.UrlRewriteConfig?.Rewrites?.[0];
      return {
        kind: 'rule' as const,
        priority: Number(rule.Priority),
        ...(pathPatterns && { pathPatterns }),
        ...(pathRegexes && { pathRegexes }),
        ...(methods && { methods }),
        ...(rewrite?.Regex !== undefined && {
          rewrite: { regex: rewrite.Regex, replace: rewrite.Replace ?? '' },
        }),
        service: serviceBehind(services, (s) =>
          targetGroups.some((arn) => s.loadBalancers?.some((l) => l.targetGroupArn === arn)),
        ),
        ...(unsupported && { unsupported }),
      };
    });
}

/** The service a route reaches: an ACTIVE one first (a replaced service may still be draining). */
function serviceBehind(
  services: readonly Service[],
  registered: (s: Service) => boolean,
): string | undefined {
  const candidates = services.filter(registered);
  return (candidates.find((s) => s.status === 'ACTIVE') ?? candidates[0])?.serviceName;
}

/** `/a/b` -> `['a', 'b']`; `/` -> `[]`; `/a/` -> `['a', '']`. */
function segmentsOf(path: string): string[] {
  return path === '/' || path === '' ? [] : path.slice(1).split('/');
}

function splitUrl(url: string): { path: string; query: string } {
  const at = url.indexOf('?');
  return at < 0 ? { path: url || '/', query: '' } : { path: url.slice(0, at) || '/', query: url.slice(at) };
}

function safeRegex(source: string): RegExp | undefined {
  try {
    return new RegExp(source);
  } catch {
    return undefined;
  }
}
