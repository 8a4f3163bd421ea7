/**
 * The new task-definition revision of a release, derived from the running one: a copy
 * with the image of exactly one container (the app's) swapped. Pure: the adapters
 * describe and register, this decides what to register.
 */
import type { RegisterTaskDefinitionCommandInput, Tag, TaskDefinition } from '@aws-sdk/client-ecs';
import { isAppImage } from '#events/release.ts';
import { AmbiguousContainer, ContainerNotFound } from './errors.ts';

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

/** Prefix of the tags stackpilot writes on the revisions it registers. */
export const RELEASE_TAG_PREFIX = 'stackpilot:';

/** The release tags of a revision: what an operator sees in the console next to it. */
export const RELEASE_TAGS = {
  commit: 'stackpilot:commit',
  image: 'stackpilot:image',
  execution: 'stackpilot:execution',
  result: 'stackpilot:result',
} as const;

export interface AppContainer {
  readonly name: string;
  readonly image: string;
  readonly index: number;
}

/**
 * The one container whose image is in the app's ECR repository. Throws
 * {@link ContainerNotFound} or {@link AmbiguousContainer} otherwise, naming the revision.
 */
export function findAppContainer(taskDefinition: TaskDefinition, app: string): AppContainer {
  const containers = taskDefinition.containerDefinitions ?? [];
  const matches = containers.flatMap((c, index) =>
    c.image !== undefined && isAppImage(app, c.image)
      ? [{ name: c.name ?? `#${index}`, image: c.image, index }]
      : [],
  );
  const revision = `${taskDefinition.family}:${taskDefinition.revision}`;
  const [only, ...others] = matches;
  if (!only) {
    const images = containers.map((c) => `${c.name}=${c.image}`).join(', ') || 'no containers';
    throw new ContainerNotFound(
      `no container of task definition ${revision} runs an image of the ECR repository stackpilot/${app} (${images})`,
    );
  }
  if (others.length > 0) {
    throw new AmbiguousContainer(
      `containers ${matches.map((m) => m.name).join(', ')} of task definition ${revision} all run images of stackpilot/${app}; exactly one may`,
    );
  }
  return only;
}

/** Tags carried over to the new revision: the user's own, not AWS's nor the previous release's. */
export function carriedTags(tags: readonly Tag[]): Tag[] {
  return tags.filter(
    (t) => t.key !== undefined && !t.key.startsWith('aws:') && !t.key.startsWith(RELEASE_TAG_PREFIX),
  );
}

export interface DerivedTaskDefinition {
  /** What to register; undefined when the revision already runs the image (nothing to do). */
  readonly input?: RegisterTaskDefinitionCommandInput;
  readonly container: AppContainer;
}

/**
 * The RegisterTaskDefinition input of a release: `described` minus {@link READ_ONLY_FIELDS},
 * with the app container's image set to `image`, the user's tags kept and `releaseTags`
 * added. Returns no input when the app container already runs `image` (idempotent re-run).
 */
export function deriveTaskDefinition(
  described: TaskDefinition,
  tags: readonly Tag[],
  app: string,
  image: string,
  releaseTags: readonly Tag[] = [],
): DerivedTaskDefinition {
  const container = findAppContainer(described, app);
  if (container.image === image) return { container };
  if (!described.family) throw new Error('the described task definition has no family');
  const copy = structuredClone(described) as Record<string, unknown>;
  for (const field of READ_ONLY_FIELDS) delete copy[field];
  const containerDefinitions = (described.containerDefinitions ?? []).map((c, index) =>
    index === container.index ? { ...structuredClone(c), image } : structuredClone(c),
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
