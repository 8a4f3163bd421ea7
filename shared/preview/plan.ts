/**
 * What a preview is made of, decided without AWS (docs/previews.md): its task definition
 * (a copy of the stage's running revision with the pull request's image), its ECS service
 * (placed like the stage's, one task) and its route on the stage's front door (a path prefix,
 * stripped before the app sees the request). The adapters in `routes.ts` and `ecs.ts` do what
 * these functions decide.
 */
import type {
  ContainerDefinition,
  CreateServiceCommandInput,
  RegisterTaskDefinitionCommandInput,
  Service,
  Tag,
  TaskDefinition,
} from '@aws-sdk/client-ecs';
import { APP_CONTAINER_NAME, previewNames } from '../naming.ts';
import { carriedTags, findAppContainer, READ_ONLY_FIELDS, withAppImage } from '../release/task-definition.ts';

/** The variables a preview's container gets besides the stage's: where it is served from. */
export const PREVIEW_VARIABLES = {
  /** `/pr-<n>`: the prefix the front door strips; an app that writes absolute links prepends it. */
  basePath: 'STACKPILOT_BASE_PATH',
  /** The pull request (merge request) number. */
  number: 'STACKPILOT_PREVIEW',
} as const;

/** Tag keys of every preview resource (the stage's `stackpilot:app` and `stackpilot:stage` come along). */
export const PREVIEW_TAGS = { preview: 'stackpilot:preview', commit: 'stackpilot:commit' } as const;

export interface PreviewFacts {
  readonly app: string;
  readonly stage: string;
  readonly number: number;
}

/** The tags of a preview's resources, in ECS's `{key, value}` shape. */
export function previewTags(facts: PreviewFacts, commit?: string): Tag[] {
  return [
    { key: 'stackpilot:app', value: facts.app },
    { key: 'stackpilot:stage', value: facts.stage },
    { key: PREVIEW_TAGS.preview, value: String(facts.number) },
    ...(commit ? [{ key: PREVIEW_TAGS.commit, value: commit }] : []),
  ];
}

/**
 * The preview's revision: the stage's running revision `described` in the preview's own family,
 * its app container running `image` with {@link PREVIEW_VARIABLES} added, and without the
 * stage's secrets unless `secrets` (a pull request's code must not read production secrets
 * by default). Everything else (roles, cpu, memory, ports, health check, logging) stays.
 */
export function previewTaskDefinition(
  described: TaskDefinition,
  tags: readonly Tag[],
  preview: PreviewFacts & { readonly image: string; readonly commit: string; readonly secrets: boolean },
): RegisterTaskDefinitionCommandInput {
  const { index } = findAppContainer(described);
  const names = previewNames(preview.app, preview.stage, preview.number);
  const copy = structuredClone(described) as Record<string, unknown>;
  for (const field of READ_ONLY_FIELDS) delete copy[field];
  const containerDefinitions = (described.containerDefinitions ?? []).map((c, i) =>
    i === index ? previewContainer(c, preview, names.pathPrefix) : structuredClone(c),
  );
  const keep = carriedTags(tags).filter((t) => !Object.values(PREVIEW_TAGS).includes(t.key as never));
  const own = previewTags(preview, preview.commit);
  return {
    ...(copy as Omit<RegisterTaskDefinitionCommandInput, 'family'>),
    family: names.taskFamily,
    containerDefinitions,
    tags: [...keep.filter((t) => !own.some((o) => o.key === t.key)), ...own],
  };
}

function previewContainer(
  container: ContainerDefinition,
  preview: PreviewFacts & { readonly image: string; readonly secrets: boolean },
  basePath: string,
): ContainerDefinition {
  const withImage = withAppImage(container, preview.image);
  const added = {
    [PREVIEW_VARIABLES.basePath]: basePath,
    [PREVIEW_VARIABLES.number]: String(preview.number),
  };
  const environment = [
    ...(withImage.environment ?? []).filter((e) => !(e.name && e.name in added)),
    ...Object.entries(added).map(([name, value]) => ({ name, value })),
  ];
  const { secrets, ...rest } = withImage;
  return { ...rest, environment, ...(preview.secrets && secrets ? { secrets } : {}) };
}

/** Where a preview's tasks register: a Cloud Map service (standard) or a target group (hyperscale). */
export type PreviewTarget =
  | { readonly kind: 'cloud-map'; readonly registryArn: string }
  | { readonly kind: 'target-group'; readonly targetGroupArn: string };

/**
 * The CreateService input of a preview: one task of `taskDefinitionArn` in the stage's cluster,
 * placed as the stage's service is (capacity provider or launch type, placement strategy),
 * registered with `target`. Its circuit breaker stops a failed deployment without a rollback
 * (there is nothing to roll back to: the check step fails the execution instead).
 */
export function previewServiceInput(
  stageService: Service,
  preview: PreviewFacts & { readonly taskDefinitionArn: string; readonly containerPort: number },
  target: PreviewTarget,
  clientToken: string,
): CreateServiceCommandInput {
  const names = previewNames(preview.app, preview.stage, preview.number);
  const placement = stageService.capacityProviderStrategy?.length
    ? { capacityProviderStrategy: stageService.capacityProviderStrategy }
    : { launchType: stageService.launchType ?? 'EC2' };
  const container = { containerName: APP_CONTAINER_NAME, containerPort: preview.containerPort };
  return {
    cluster: names.cluster,
    serviceName: names.service,
    taskDefinition: preview.taskDefinitionArn,
    desiredCount: 1,
    ...placement,
    ...(stageService.placementStrategy?.length ? { placementStrategy: stageService.placementStrategy } : {}),
    deploymentConfiguration: {
      minimumHealthyPercent: 0,
      maximumPercent: 200,
      deploymentCircuitBreaker: { enable: true, rollback: false },
    },
    ...(target.kind === 'cloud-map'
      ? { serviceRegistries: [{ registryArn: target.registryArn, ...container }] }
      : {
          loadBalancers: [{ targetGroupArn: target.targetGroupArn, ...container }],
          ...(stageService.healthCheckGracePeriodSeconds !== undefined
            ? { healthCheckGracePeriodSeconds: stageService.healthCheckGracePeriodSeconds }
            : {}),
        }),
    tags: previewTags(preview),
    propagateTags: 'SERVICE',
    enableECSManagedTags: true,
    clientToken,
  };
}

/** The two routes of a preview on an HTTP API and the path each integration sends on. */
export function apiRoutes(number: number): { routeKey: string; overwritePath: string; role: string }[] {
  const prefix = `/pr-${number}`;
  return [
    { routeKey: `ANY ${prefix}`, overwritePath: '/', role: 'root' },
    { routeKey: `ANY ${prefix}/{proxy+}`, overwritePath: '/$request.path.proxy', role: 'proxy' },
  ];
}

/** The listener rule of a preview: its path patterns and the rewrite that drops the prefix. */
export function listenerRule(number: number) {
  const prefix = `/pr-${number}`;
  return {
    pathPatterns: [prefix, `${prefix}/*`],
    rewrite: { Regex: `^${prefix}/?(.*)$`, Replace: '/$1' },
  };
}

/** Listener rule priorities previews take: above any a team sets by hand (CDK's own start at 1). */
export const PREVIEW_PRIORITIES = { first: 1000, last: 50_000 } as const;

/** The lowest priority a new rule can take, given those in use; undefined when all are taken. */
export function freePriority(used: readonly number[]): number | undefined {
  const taken = new Set(used);
  for (let p = PREVIEW_PRIORITIES.first; p <= PREVIEW_PRIORITIES.last; p += 1) if (!taken.has(p)) return p;
  return undefined;
}
