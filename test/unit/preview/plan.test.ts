/**
 * The preview's plan, pure: its revision (from a realistic stage revision, two containers,
 * secrets), its service, its routes and what their path rewrites do to a request's path.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  apiRoutes,
  freePriority,
  listenerRule,
  PREVIEW_PRIORITIES,
  previewServiceInput,
  previewTaskDefinition,
} from '#shared/preview/plan.ts';
import { READ_ONLY_FIELDS } from '#shared/release/task-definition.ts';
import { appImage, starterRevision, starterTags, taskDefinitionArn } from '../release/fixtures.ts';

const COMMIT = 'b'.repeat(40);
const IMAGE = appImage('starter', COMMIT);
const preview = { app: 'starter', stage: 'dev', number: 7, image: IMAGE, commit: COMMIT, secrets: false };
const appContainer = (input: ReturnType<typeof previewTaskDefinition>) =>
  input.containerDefinitions?.find((c) => c.name === 'app');

describe('the preview revision', () => {
  it('is the stage revision in the preview family, running the pull request image', () => {
    const input = previewTaskDefinition(starterRevision(), starterTags, preview);
    expect(input.family).toBe('stackpilot-starter-dev-pr-7');
    expect(appContainer(input)?.image).toBe(IMAGE);
    for (const field of READ_ONLY_FIELDS) expect(input).not.toHaveProperty(field);
    // Roles, sizes and the side container stay as the stage has them.
    expect(input.taskRoleArn).toBe(starterRevision().taskRoleArn);
    expect(input.containerDefinitions?.[0]).toEqual(starterRevision().containerDefinitions?.[0]);
  });

  it('tells the app its base path and number, and keeps the stage variables', () => {
    const env = appContainer(previewTaskDefinition(starterRevision(), starterTags, preview))?.environment;
    expect(env).toEqual([
      { name: 'PORT', value: '8080' },
      { name: 'STAGE', value: 'dev' },
      { name: 'STACKPILOT_BASE_PATH', value: '/pr-7' },
      { name: 'STACKPILOT_PREVIEW', value: '7' },
    ]);
  });

  it("drops the stage's secrets unless previews.secrets is true", () => {
    const stageSecrets = starterRevision().containerDefinitions?.[1]?.secrets;
    expect(stageSecrets?.length).toBeGreaterThan(0);
    expect(appContainer(previewTaskDefinition(starterRevision(), starterTags, preview))).not.toHaveProperty(
      'secrets',
    );
    const withSecrets = previewTaskDefinition(starterRevision(), starterTags, { ...preview, secrets: true });
    expect(appContainer(withSecrets)?.secrets).toEqual(stageSecrets);
  });

  it('carries the user tags, not the last release tags, and adds the preview ones', () => {
    const { tags } = previewTaskDefinition(starterRevision(), starterTags, preview);
    expect(tags).toEqual([
      { key: 'team', value: 'web' },
      { key: 'cost-center', value: '42' },
      { key: 'stackpilot:app', value: 'starter' },
      { key: 'stackpilot:stage', value: 'dev' },
      { key: 'stackpilot:preview', value: '7' },
      { key: 'stackpilot:commit', value: COMMIT },
    ]);
  });
});

describe('the preview service', () => {
  const stageService = {
    capacityProviderStrategy: [{ capacityProvider: 'stackpilot-starter-dev', weight: 1 }],
    placementStrategy: [{ type: 'spread' as const, field: 'instanceId' }],
    healthCheckGracePeriodSeconds: 30,
  };
  const facts = {
    app: 'starter',
    stage: 'dev',
    number: 7,
    taskDefinitionArn: taskDefinitionArn('x', 1),
    containerPort: 8080,
  };

  it('runs one task placed like the stage, registered in Cloud Map (standard)', () => {
    const input = previewServiceInput(
      stageService,
      facts,
      { kind: 'cloud-map', registryArn: 'arn:srv' },
      'token',
    );
    expect(input).toMatchObject({
      cluster: 'stackpilot-starter-dev',
      serviceName: 'stackpilot-starter-dev-pr-7',
      desiredCount: 1,
      capacityProviderStrategy: stageService.capacityProviderStrategy,
      placementStrategy: stageService.placementStrategy,
      serviceRegistries: [{ registryArn: 'arn:srv', containerName: 'app', containerPort: 8080 }],
      deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: false } },
    });
    expect(input).not.toHaveProperty('loadBalancers');
  });

  it('is a target of its target group (hyperscale), with the stage grace period', () => {
    const input = previewServiceInput(
      { launchType: 'EC2' },
      facts,
      { kind: 'target-group', targetGroupArn: 'arn:tg' },
      't',
    );
    expect(input).toMatchObject({
      launchType: 'EC2',
      loadBalancers: [{ targetGroupArn: 'arn:tg', containerName: 'app', containerPort: 8080 }],
    });
    expect(input).not.toHaveProperty('serviceRegistries');
  });
});

/** What API Gateway sends upstream for a request path on a route (its `overwrite:path`). */
function apiUpstream(number: number, path: string): string | undefined {
  const prefix = `/pr-${number}`;
  const [root, proxy] = apiRoutes(number);
  if (path === prefix) return root?.overwritePath;
  if (path.startsWith(`${prefix}/`) && path.length > prefix.length + 1)
    return proxy?.overwritePath.replace('$request.path.proxy', path.slice(prefix.length + 1));
  return undefined;
}

/** What the ALB sends upstream for a path its rule matched (its URL rewrite). */
function albUpstream(number: number, path: string): string {
  const { rewrite } = listenerRule(number);
  return path.replace(new RegExp(rewrite.Regex), rewrite.Replace);
}

describe('the routes drop the prefix in both tiers alike', () => {
  it.each([
    ['/pr-7', '/'],
    ['/pr-7/health', '/health'],
    ['/pr-7/a/b.css', '/a/b.css'],
  ])('%s reaches the app as %s', (path, upstream) => {
    expect(apiUpstream(7, path)).toBe(upstream);
    expect(albUpstream(7, path)).toBe(upstream);
  });

  it('the rule matches its own prefix only (pr-7 is not pr-70)', () => {
    expect(listenerRule(7).pathPatterns).toEqual(['/pr-7', '/pr-7/*']);
    expect(apiRoutes(7).map((r) => r.routeKey)).toEqual(['ANY /pr-7', 'ANY /pr-7/{proxy+}']);
  });

  it('any path under the prefix keeps its rest (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 99_999_999 }), fc.webPath(), (n, rest) => {
        const tail = rest.startsWith('/') ? rest.slice(1) : rest;
        if (tail === '') return;
        expect(albUpstream(n, `/pr-${n}/${tail}`)).toBe(`/${tail}`);
        expect(apiUpstream(n, `/pr-${n}/${tail}`)).toBe(`/${tail}`);
      }),
    );
  });
});

describe('listener rule priorities', () => {
  it('takes the lowest free one from 1000 on', () => {
    expect(freePriority([])).toBe(PREVIEW_PRIORITIES.first);
    expect(freePriority([1, 1000, 1001, 1003])).toBe(1002);
  });

  it('is undefined when all are taken', () => {
    const all = Array.from(
      { length: PREVIEW_PRIORITIES.last - PREVIEW_PRIORITIES.first + 1 },
      (_, i) => i + 1000,
    );
    expect(freePriority(all)).toBeUndefined();
  });
});
