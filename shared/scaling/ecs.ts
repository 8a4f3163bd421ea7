/**
 * ECS calls of the `scale` state machine: a service's desired count, and the container
 * instances of a cluster (list, describe, drain, restore).
 */
import {
  type ContainerInstance,
  DescribeContainerInstancesCommand,
  DescribeServicesCommand,
  type ECSClient,
  ListContainerInstancesCommand,
  UpdateContainerInstancesStateCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { ContainerInstanceUpdateFailed, ScalingTargetNotFound } from './errors.ts';
import type { ContainerInstanceView, Resources } from './instances.ts';

export interface ServiceCount {
  readonly desiredCount: number;
  readonly runningCount: number;
  readonly pendingCount: number;
}

/** The service's counts; {@link ScalingTargetNotFound} when it is missing or not ACTIVE. */
export async function describeServiceCount(
  cluster: string,
  service: string,
  ecs: ECSClient,
): Promise<ServiceCount> {
  const response = await ecs.send(new DescribeServicesCommand({ cluster, services: [service] }));
  const found = response.services?.find((s) => s.serviceName === service && s.status === 'ACTIVE');
  if (!found)
    throw new ScalingTargetNotFound(
      `ECS service ${service} in cluster ${cluster} does not exist or is not active`,
    );
  return {
    desiredCount: found.desiredCount ?? 0,
    runningCount: found.runningCount ?? 0,
    pendingCount: found.pendingCount ?? 0,
  };
}

/** Sets the service's desired count (nothing else of the service changes). */
export async function setServiceDesiredCount(
  cluster: string,
  service: string,
  desiredCount: number,
  ecs: ECSClient,
): Promise<void> {
  await ecs.send(new UpdateServiceCommand({ cluster, service, desiredCount }));
}

/** CPU and MEMORY of a `registeredResources`/`remainingResources` list; undefined when either is missing. */
function resources(list: ContainerInstance['registeredResources']): Resources | undefined {
  const value = (name: string) => list?.find((r) => r.name === name)?.integerValue;
  const cpu = value('CPU');
  const memory = value('MEMORY');
  return cpu === undefined || memory === undefined ? undefined : { cpu, memory };
}

function toView(c: ContainerInstance): ContainerInstanceView {
  const registered = resources(c.registeredResources);
  const remaining = resources(c.remainingResources);
  return {
    arn: c.containerInstanceArn ?? '',
    ec2InstanceId: c.ec2InstanceId ?? '',
    status: c.status ?? 'UNKNOWN',
    runningTasksCount: c.runningTasksCount ?? 0,
    pendingTasksCount: c.pendingTasksCount ?? 0,
    ...(registered && { registered }),
    ...(remaining && { remaining }),
  };
}

/** Describes container instances by ARN, 100 per call (the API's limit). */
export async function describeContainerInstances(
  cluster: string,
  arns: readonly string[],
  ecs: ECSClient,
): Promise<ContainerInstanceView[]> {
  const out: ContainerInstanceView[] = [];
  for (let i = 0; i < arns.length; i += 100) {
    const response = await ecs.send(
      new DescribeContainerInstancesCommand({ cluster, containerInstances: arns.slice(i, i + 100) }),
    );
    out.push(...(response.containerInstances ?? []).map(toView));
  }
  return out;
}

/** Every container instance of the cluster, whatever its status. */
export async function listContainerInstances(
  cluster: string,
  ecs: ECSClient,
): Promise<ContainerInstanceView[]> {
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const response = await ecs.send(new ListContainerInstancesCommand({ cluster, nextToken }));
    arns.push(...(response.containerInstanceArns ?? []));
    nextToken = response.nextToken;
  } while (nextToken);
  return describeContainerInstances(cluster, arns, ecs);
}

/** One container instance, or undefined when ECS no longer knows it (deregistered). */
export async function describeContainerInstance(
  cluster: string,
  arn: string,
  ecs: ECSClient,
): Promise<ContainerInstanceView | undefined> {
  return (await describeContainerInstances(cluster, [arn], ecs))[0];
}

/** Sets a container instance DRAINING (ECS moves its service tasks away) or back to ACTIVE. */
export async function setContainerInstanceState(
  cluster: string,
  arn: string,
  status: 'ACTIVE' | 'DRAINING',
  ecs: ECSClient,
): Promise<void> {
  const response = await ecs.send(
    new UpdateContainerInstancesStateCommand({ cluster, containerInstances: [arn], status }),
  );
  const failure = response.failures?.[0];
  if (failure)
    throw new ContainerInstanceUpdateFailed(
      `ECS could not set container instance ${arn} of cluster ${cluster} to ${status}: ${failure.reason ?? 'no reason'}${failure.detail ? ` (${failure.detail})` : ''}`,
    );
}
