/**
 * ECS records as the API returns them (the SDK's `Service`, `Task`, `ContainerInstance`,
 * `TaskDefinition` shapes), with Dates and the counts derived from the tasks.
 */
import {
  ClientException,
  type ContainerInstance,
  type Service,
  type Task,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import type { DeploymentRecord, EcsState, InstanceRecord, ServiceRecord, TaskRecord } from './ecs-model.ts';
import { instanceUsage } from './ecs-scheduler.ts';
import { awsError } from './errors.ts';

export class EcsOutputs {
  constructor(
    private readonly state: EcsState,
    private readonly arns: { cluster(name: string): string; taskDefinition(key: string): string },
  ) {}

  cluster(name: string) {
    const instances = Object.values(this.state.instances).filter(
      (i) => i.clusterName === name && i.status !== 'INACTIVE',
    );
    const tasks = Object.values(this.state.tasks).filter(
      (t) => t.clusterName === name && t.lastStatus !== 'STOPPED',
    );
    return {
      clusterArn: this.arns.cluster(name),
      clusterName: name,
      status: 'ACTIVE',
      registeredContainerInstancesCount: instances.length,
      runningTasksCount: tasks.filter((t) => t.lastStatus === 'RUNNING').length,
      pendingTasksCount: tasks.filter((t) => t.lastStatus === 'PENDING').length,
      activeServicesCount: Object.values(this.state.services).filter((s) => s.clusterName === name).length,
    };
  }

  taskDefinition(key: string): TaskDefinition {
    const record = this.state.taskDefinitions[key];
    if (!record) throw awsError(ClientException, 'Unable to describe task definition.');
    return {
      ...structuredClone(record.definition),
      registeredAt: new Date(record.registeredAt),
      ...(record.deregisteredAt !== undefined && { deregisteredAt: new Date(record.deregisteredAt) }),
      ...(record.deleteRequestedAt !== undefined && {
        deleteRequestedAt: new Date(record.deleteRequestedAt),
      }),
    };
  }

  service(service: ServiceRecord): Service {
    const live = Object.values(this.state.tasks).filter(
      (t) =>
        t.clusterName === service.clusterName &&
        t.serviceName === service.serviceName &&
        t.desiredStatus === 'RUNNING',
    );
    const count = (d: DeploymentRecord | undefined, status: TaskRecord['lastStatus']) =>
      live.filter((t) => (!d || t.deploymentId === d.id) && t.lastStatus === status).length;
    const placement = {
      // Without a capacity provider strategy, a service runs on the EC2 launch type (ECS's default here).
      ...(service.capacityProviderStrategy?.length
        ? { capacityProviderStrategy: service.capacityProviderStrategy }
        : { launchType: service.launchType ?? 'EC2' }),
    };
    return {
      serviceArn: service.serviceArn,
      serviceName: service.serviceName,
      clusterArn: this.arns.cluster(service.clusterName),
      status: service.status ?? 'ACTIVE',
      desiredCount: service.desiredCount,
      runningCount: count(undefined, 'RUNNING'),
      pendingCount: count(undefined, 'PENDING'),
      ...placement,
      schedulingStrategy: 'REPLICA',
      taskDefinition: this.arns.taskDefinition(service.taskDefinition),
      deploymentController: { type: 'ECS' },
      deploymentConfiguration: {
        deploymentCircuitBreaker: service.circuitBreaker,
        maximumPercent: service.maximumPercent,
        minimumHealthyPercent: service.minimumHealthyPercent,
      },
      ...(service.placementStrategy?.length ? { placementStrategy: service.placementStrategy } : {}),
      loadBalancers: service.loadBalancers ?? [],
      serviceRegistries: service.serviceRegistries ?? [],
      ...(service.healthCheckGracePeriodSeconds !== undefined && {
        healthCheckGracePeriodSeconds: service.healthCheckGracePeriodSeconds,
      }),
      deployments: service.deployments.map((d) => ({
        id: d.id,
        status: d.status,
        taskDefinition: this.arns.taskDefinition(d.taskDefinition),
        desiredCount: d.status === 'PRIMARY' ? service.desiredCount : 0,
        pendingCount: count(d, 'PENDING'),
        runningCount: count(d, 'RUNNING'),
        failedTasks: d.failedTasks,
        createdAt: new Date(d.createdAt),
        updatedAt: new Date(d.updatedAt),
        ...placement,
        rolloutState: d.rolloutState,
        rolloutStateReason: d.rolloutStateReason,
      })),
      events: service.events.map((e) => ({ id: e.id, createdAt: new Date(e.createdAt), message: e.message })),
      createdAt: new Date(service.createdAt),
    };
  }

  instance(instance: InstanceRecord): ContainerInstance {
    const used = instanceUsage(this.state, instance);
    const resources = (cpu: number, memory: number) => [
      { name: 'CPU', type: 'INTEGER', integerValue: cpu },
      { name: 'MEMORY', type: 'INTEGER', integerValue: memory },
    ];
    return {
      containerInstanceArn: instance.containerInstanceArn,
      ec2InstanceId: instance.ec2InstanceId,
      status: instance.status,
      agentConnected: instance.status !== 'INACTIVE',
      runningTasksCount: used.running,
      pendingTasksCount: used.pending,
      registeredResources: resources(instance.cpu, instance.memory),
      remainingResources: resources(instance.cpu - used.cpu, instance.memory - used.memory),
      registeredAt: new Date(instance.registeredAt),
      attributes: [
        { name: 'ecs.instance-type', value: instance.instanceType },
        { name: 'ecs.availability-zone', value: instance.availabilityZone },
      ],
      version: 1,
    };
  }

  task(task: TaskRecord): Task {
    const definition =
      this.state.taskDefinitions[task.taskDefinitionArn.slice(task.taskDefinitionArn.lastIndexOf('/') + 1)];
    return {
      taskArn: task.taskArn,
      clusterArn: this.arns.cluster(task.clusterName),
      taskDefinitionArn: task.taskDefinitionArn,
      containerInstanceArn: task.containerInstanceArn,
      lastStatus:
        task.lastStatus === 'RUNNING' && task.desiredStatus === 'STOPPED' ? 'DEACTIVATING' : task.lastStatus,
      desiredStatus: task.desiredStatus,
      launchType: 'EC2',
      cpu: String(task.cpu),
      memory: String(task.memory),
      createdAt: new Date(task.createdAt),
      ...(task.serviceName && { group: `service:${task.serviceName}` }),
      ...(task.deploymentId && { startedBy: task.deploymentId }),
      ...(task.startedAt !== undefined && { startedAt: new Date(task.startedAt) }),
      ...(task.stoppingAt !== undefined && { stoppingAt: new Date(task.stoppingAt) }),
      ...(task.stoppedAt !== undefined && { stoppedAt: new Date(task.stoppedAt) }),
      ...(task.stoppedReason && { stoppedReason: task.stoppedReason }),
      ...(task.stopCode && { stopCode: task.stopCode }),
      ...(task.healthStatus && { healthStatus: task.healthStatus }),
      availabilityZone: this.state.instances[task.containerInstanceArn]?.availabilityZone,
      containers: (definition?.definition.containerDefinitions ?? []).map((c) => ({
        name: c.name,
        image: c.image,
        lastStatus: task.lastStatus,
        ...(task.lastStatus === 'STOPPED' && task.failReason && { exitCode: 1, reason: task.failReason }),
        ...(task.exitCode !== undefined && { exitCode: task.exitCode }),
        ...(task.healthStatus && c.healthCheck && { healthStatus: task.healthStatus }),
      })),
    };
  }
}
