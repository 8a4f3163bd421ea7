/**
 * The ECS calls of previews: the preview's service and its task-definition family. Idempotent,
 * like the route adapters: each looks before it acts.
 */
import {
  CreateServiceCommand,
  type CreateServiceCommandInput,
  DeleteServiceCommand,
  DeleteTaskDefinitionsCommand,
  DeregisterTaskDefinitionCommand,
  DescribeServicesCommand,
  type ECSClient,
  ListTaskDefinitionsCommand,
  type Service,
} from '@aws-sdk/client-ecs';
import { PreviewStillDraining } from './errors.ts';

/** The service `name` of `cluster` as ECS lists it (ACTIVE, DRAINING or INACTIVE), or undefined when it never existed. */
export async function findService(
  cluster: string,
  name: string,
  ecs: ECSClient,
): Promise<Service | undefined> {
  const out = await ecs.send(new DescribeServicesCommand({ cluster, services: [name] }));
  return out.services?.find((s) => s.serviceName === name);
}

/** Creates the preview's service; returns it with its first deployment. */
export async function createService(input: CreateServiceCommandInput, ecs: ECSClient): Promise<Service> {
  const out = await ecs.send(new CreateServiceCommand(input));
  if (!out.service) throw new Error(`ECS created no service ${input.serviceName}`);
  return out.service;
}

/**
 * Deletes the preview's service (`force`: no need to scale it to zero first). Throws {@link PreviewStillDraining} until ECS reports it INACTIVE, so the caller's
 * retry waits for the task to stop before the route's last parts go.
 */
export async function deleteService(cluster: string, name: string, ecs: ECSClient): Promise<void> {
  const service = await findService(cluster, name, ecs);
  if (!service || service.status === 'INACTIVE') return;
  if (service.status === 'ACTIVE') {
    await ecs.send(new DeleteServiceCommand({ cluster, service: name, force: true }));
  }
  const now = await findService(cluster, name, ecs);
  if (now && now.status !== 'INACTIVE') {
    throw new PreviewStillDraining(
      `ECS service ${name} is ${now.status} (${now.runningCount ?? 0} tasks running); retrying`,
    );
  }
}

async function listRevisions(
  family: string,
  status: 'ACTIVE' | 'INACTIVE',
  ecs: ECSClient,
): Promise<string[]> {
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    // `familyPrefix` takes the full family name (the API reference): `…-pr-1` does not list `…-pr-12`.
    const page = await ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: family, status, nextToken }));
    arns.push(...(page.taskDefinitionArns ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return arns;
}

/**
 * Deregisters every revision of `family` and deletes them (DeleteTaskDefinitions takes
 * INACTIVE revisions, ten at a time); returns how many revisions it deleted.
 */
export async function deleteFamily(family: string, ecs: ECSClient): Promise<number> {
  for (const arn of await listRevisions(family, 'ACTIVE', ecs)) {
    await ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: arn }));
  }
  const inactive = await listRevisions(family, 'INACTIVE', ecs);
  for (let i = 0; i < inactive.length; i += 10) {
    await ecs.send(new DeleteTaskDefinitionsCommand({ taskDefinitions: inactive.slice(i, i + 10) }));
  }
  return inactive.length;
}
