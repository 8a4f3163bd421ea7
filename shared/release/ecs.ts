/**
 * The ECS calls of the release workflow. Each takes its client as a parameter: the release steps
 * pass their deps' client, tests a mock, the sandbox its emulated account.
 */
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  type ECSClient,
  ListTagsForResourceCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  type RegisterTaskDefinitionCommandInput,
  type Service,
  type Tag,
  TagResourceCommand,
  type Task,
  type TaskDefinition,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { RevisionNotFound, ServiceNotFound } from './errors.ts';

/** The service `service` of `cluster`; {@link ServiceNotFound} when it does not exist or is not ACTIVE. */
export async function describeService(cluster: string, service: string, ecs: ECSClient): Promise<Service> {
  const out = await ecs.send(new DescribeServicesCommand({ cluster, services: [service] }));
  const found = out.services?.find((s) => s.serviceName === service || s.serviceArn?.endsWith(`/${service}`));
  if (found?.status !== 'ACTIVE') {
    const why = out.failures?.[0]?.reason ?? found?.status ?? 'MISSING';
    throw new ServiceNotFound(
      `ECS service ${service} of cluster ${cluster} was not found (${why}); is the stage deployed?`,
    );
  }
  return found;
}

/** A task-definition revision (family:revision or ARN) and its tags. */
export async function describeTaskDefinition(
  taskDefinition: string,
  ecs: ECSClient,
): Promise<{ taskDefinition: TaskDefinition; tags: Tag[] }> {
  let described: TaskDefinition | undefined;
  try {
    described = (await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition }))).taskDefinition;
  } catch (error) {
    // ECS answers ClientException "Unable to describe task definition." for a revision that never existed.
    if ((error as Error).name === 'ClientException') {
      throw new RevisionNotFound(`task definition ${taskDefinition} does not exist`, { cause: error });
    }
    throw error;
  }
  if (!described?.taskDefinitionArn)
    throw new RevisionNotFound(`task definition ${taskDefinition} does not exist`);
  const tags = await ecs.send(new ListTagsForResourceCommand({ resourceArn: described.taskDefinitionArn }));
  return { taskDefinition: described, tags: tags.tags ?? [] };
}

/** Registers a revision; returns it as ECS stored it. */
export async function registerTaskDefinition(
  input: RegisterTaskDefinitionCommandInput,
  ecs: ECSClient,
): Promise<TaskDefinition> {
  const out = await ecs.send(new RegisterTaskDefinitionCommand(input));
  if (!out.taskDefinition?.taskDefinitionArn)
    throw new Error(`ECS registered no revision of ${input.family}`);
  return out.taskDefinition;
}

/** Points the service at `taskDefinition` (a rolling deployment); returns the updated service. */
export async function updateServiceTaskDefinition(
  cluster: string,
  service: string,
  taskDefinition: string,
  ecs: ECSClient,
): Promise<Service> {
  const out = await ecs.send(new UpdateServiceCommand({ cluster, service, taskDefinition }));
  if (!out.service) throw new ServiceNotFound(`ECS service ${service} of cluster ${cluster} was not found`);
  return out.service;
}

/**
 * The stopped tasks a deployment started (ECS sets a service task's `startedBy` to its
 * deployment id), newest first, at most `max`: their stop reasons say why it failed.
 */
export async function stoppedTasksOf(
  cluster: string,
  deploymentId: string,
  max = 10,
  ecs: ECSClient,
): Promise<Task[]> {
  const listed = await ecs.send(
    new ListTasksCommand({ cluster, startedBy: deploymentId, desiredStatus: 'STOPPED', maxResults: max }),
  );
  const arns = listed.taskArns ?? [];
  if (arns.length === 0) return [];
  const described = await ecs.send(new DescribeTasksCommand({ cluster, tasks: arns }));
  return [...(described.tasks ?? [])].sort(
    (a, b) => (b.stoppedAt?.getTime() ?? 0) - (a.stoppedAt?.getTime() ?? 0),
  );
}

/** Adds or overwrites tags on a revision. */
export async function tagTaskDefinition(arn: string, tags: Tag[], ecs: ECSClient): Promise<void> {
  await ecs.send(new TagResourceCommand({ resourceArn: arn, tags }));
}
