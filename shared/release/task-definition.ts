/**
 * The new task-definition revision of a release, derived from the running one: a copy
 * with the app's container (found by its name) running the released image. Pure: the adapters
 * describe and register, this decides what to register.
 */
import type {
  ContainerDefinition,
  RegisterTaskDefinitionCommandInput,
  Tag,
  TaskDefinition,
} from '@aws-sdk/client-ecs';
import { APP_CONTAINER_NAME } from '#shared/naming.ts';
import { ContainerNotFound } from './errors.ts';
import { PLACEHOLDER_FIELDS, PLACEHOLDER_HEALTH_CHECK_LABEL, PLACEHOLDER_LABEL } from './placeholder.ts';

/**
 * Fields DescribeTaskDefinition returns that RegisterTaskDefinition refuses or ignores:
 * they describe a registered revision, not what to register.
 */
export const READ_ONLY_FIELDS = [
  'taskDefinitionArn',
  'revision',
  'status',
  'statusString',
  'registeredAt',
  'registeredBy',
  'deregisteredAt',
  'compatibilities',
  'requiresAttributes',
] as const;

/** The release tags of a revision: what an operator sees in the console next to it. */
export const RELEASE_TAGS = {
  commit: 'stackpilot:commit',
  image: 'stackpilot:image',
  execution: 'stackpilot:execution',
  result: 'stackpilot:result',
  /** A promotion: the stage the image was released in first. */
  promotedFrom: 'stackpilot:promoted-from',
} as const;

/** Keys of the per-release tags: each revision gets its own, the next release does not inherit them. */
const PER_RELEASE_TAG_KEYS: ReadonlySet<string> = new Set(Object.values(RELEASE_TAGS));

export interface AppContainer {
  readonly name: string;
  readonly image: string;
  readonly index: number;
}

/**
 * The app's container: the one named {@link APP_CONTAINER_NAME}, whatever image it runs (the
 * first revision runs a public placeholder, later ones an image of the app's repository).
 * Throws {@link ContainerNotFound}, naming the revision and its containers, when there is none.
 */
export function findAppContainer(taskDefinition: TaskDefinition): AppContainer {
  const containers = taskDefinition.containerDefinitions ?? [];
  const index = containers.findIndex((c) => c.name === APP_CONTAINER_NAME);
  const found = containers[index];
  if (!found?.image) {
    const revision = `${taskDefinition.family}:${taskDefinition.revision}`;
    const present = containers.map((c) => `${c.name}=${c.image}`).join(', ') || 'no containers';
    throw new ContainerNotFound(
      `task definition ${revision} has no container named "${APP_CONTAINER_NAME}" with an image (${present}); stackpilot releases into that container`,
    );
  }
  return { name: APP_CONTAINER_NAME, image: found.image, index };
}

/** True when the container is the placeholder the stage stack registers before the first release. */
export function isPlaceholder(container: ContainerDefinition): boolean {
  return container.dockerLabels?.[PLACEHOLDER_LABEL] !== undefined;
}

/**
 * The app container with `image`: a copy of `container`, minus what belonged to the
 * placeholder (its command, entry point and labels) when it was the placeholder, with the app's
 * own health check command restored when the placeholder carried one. The app's
 * image brings its own command; everything else (ports, cpu, memory, environment, secrets,
 * logging, health check, other labels) stays.
 */
export function withAppImage(container: ContainerDefinition, image: string): ContainerDefinition {
  const copy = structuredClone(container);
  if (isPlaceholder(container)) {
    for (const field of PLACEHOLDER_FIELDS) delete copy[field];
    const {
      [PLACEHOLDER_LABEL]: _placeholder,
      [PLACEHOLDER_HEALTH_CHECK_LABEL]: appHealthCheck,
      ...labels
    } = copy.dockerLabels ?? {};
    if (Object.keys(labels).length > 0) copy.dockerLabels = labels;
    else delete copy.dockerLabels;
    // The placeholder ran the default HTTP check; the app's image gets the app's own command.
    if (appHealthCheck !== undefined && copy.healthCheck) {
      copy.healthCheck = { ...copy.healthCheck, command: JSON.parse(appHealthCheck) as string[] };
    }
  }
  return { ...copy, image };
}

/**
 * Tags carried over to the new revision: all but the per-release ones ({@link RELEASE_TAGS})
 * and AWS's own `aws:` tags, which no caller may write. The stage stack's `stackpilot:app` and
 * `stackpilot:stage` stay, like the user's tags.
 */
export function carriedTags(tags: readonly Tag[]): Tag[] {
  return tags.filter(
    (t) => t.key !== undefined && !t.key.startsWith('aws:') && !PER_RELEASE_TAG_KEYS.has(t.key),
  );
}

export interface DerivedTaskDefinition {
  /** What to register; undefined when the revision already runs the image (nothing to do). */
  readonly input?: RegisterTaskDefinitionCommandInput;
  readonly container: AppContainer;
}

/**
 * The RegisterTaskDefinition input of a release: `described` minus {@link READ_ONLY_FIELDS},
 * with the app container running `image` ({@link withAppImage}), the carried tags kept and
 * `releaseTags` added. Returns no input when the app container already runs `image` and is
 * not the placeholder (idempotent re-run).
 */
export function deriveTaskDefinition(
  described: TaskDefinition,
  tags: readonly Tag[],
  image: string,
  releaseTags: readonly Tag[] = [],
): DerivedTaskDefinition {
  const container = findAppContainer(described);
  const containers = described.containerDefinitions ?? [];
  const current = containers[container.index] as ContainerDefinition;
  if (container.image === image && !isPlaceholder(current)) return { container };
  if (!described.family) throw new Error('the described task definition has no family');
  const copy = structuredClone(described) as Record<string, unknown>;
  for (const field of READ_ONLY_FIELDS) delete copy[field];
  const containerDefinitions = containers.map((c, index) =>
    index === container.index ? withAppImage(c, image) : structuredClone(c),
  );
  const allTags = [...carriedTags(tags), ...releaseTags];
  return {
    container,
    input: {
      ...(copy as Omit<RegisterTaskDefinitionCommandInput, 'family'>),
      family: described.family,
      containerDefinitions,
      ...(allTags.length > 0 ? { tags: allTags } : {}),
    },
  };
}

/** `arn:…:task-definition/<family>:<revision>` -> `{family, revision}`. */
export function parseTaskDefinitionArn(arn: string): { family: string; revision: number } {
  const match = /task-definition\/([A-Za-z0-9_-]+):(\d+)$/.exec(arn);
  if (!match) throw new Error(`not a task-definition revision ARN: ${arn}`);
  return { family: match[1] as string, revision: Number(match[2]) };
}
