/**
 * The emulated ECS service scheduler, run once per emulated second: tasks start and stop,
 * deployments roll (bounded by minimum healthy and maximum percent), the circuit breaker
 * fails a deployment whose tasks do not start and rolls back, draining instances hand
 * their tasks over, and tasks that find no room raise a placement failure.
 */
import {
  circuitBreakerThreshold,
  DEFAULT_FAILURE_REASON,
  DEFAULT_STOP_TIMEOUT_MS,
  type DeploymentRecord,
  type EcsState,
  FAILED_DEPLOYMENT_LINGER_MS,
  HEALTH_CHECK_FAILURE_REASON,
  type InstanceRecord,
  MAX_SERVICE_EVENTS,
  newDeploymentId,
  newResourceId,
  PLACEMENT_EVENT_INTERVAL_MS,
  type ServiceRecord,
  STOPPED_TASK_RETENTION_MS,
  TASK_START_MS,
  TASK_STOP_MS,
  type TaskRecord,
  taskHealthy,
  taskResources,
} from './ecs-model.ts';
import type { AccountContext } from './types.ts';

export const CIRCUIT_BREAKER_REASON = 'ECS deployment circuit breaker: tasks failed to start.';

export class EcsScheduler {
  /** Called when a task is placed (the sandbox's supervisor decides there whether it runs it). */
  onTaskPlaced?: (task: TaskRecord) => void;

  constructor(
    private readonly state: EcsState,
    private readonly ctx: AccountContext,
    private readonly arns: { cluster(name: string): string; taskDefinition(key: string): string },
  ) {}

  /** Adds a service event (newest first), as the console's Events tab shows them. */
  serviceEvent(service: ServiceRecord, message: string, t = this.ctx.clock.now()): void {
    service.events.unshift({
      id: newResourceId().slice(0, 8),
      createdAt: t,
      message: `(service ${service.serviceName}) ${message}`,
    });
    service.events.length = Math.min(service.events.length, MAX_SERVICE_EVENTS);
  }

  /** Emits an "ECS Deployment State Change" event. */
  deploymentEvent(service: ServiceRecord, deployment: DeploymentRecord, t: number): void {
    const eventName = {
      IN_PROGRESS: 'SERVICE_DEPLOYMENT_IN_PROGRESS',
      COMPLETED: 'SERVICE_DEPLOYMENT_COMPLETED',
      FAILED: 'SERVICE_DEPLOYMENT_FAILED',
    }[deployment.rolloutState];
    this.ctx.emit('ECS Deployment State Change', 'aws.ecs', [service.serviceArn], {
      eventType: deployment.rolloutState === 'FAILED' ? 'ERROR' : 'INFO',
      eventName,
      deploymentId: deployment.id,
      updatedAt: new Date(t).toISOString(),
      reason: deployment.rolloutStateReason,
    });
  }

  step(t: number): void {
    for (const task of Object.values(this.state.tasks)) this.advanceTask(task, t);
    for (const service of Object.values(this.state.services)) this.schedule(service, t);
  }

  /** Stops a task (it stops TASK_STOP_MS later, or at once when it never started). */
  stopTask(
    task: TaskRecord,
    t: number,
    reason: string,
    code: TaskRecord['stopCode'] = 'ServiceSchedulerInitiated',
  ): void {
    if (task.desiredStatus === 'STOPPED') return;
    task.desiredStatus = 'STOPPED';
    task.stoppedReason = reason;
    task.stopCode = code;
    task.stoppingAt = t;
    // A real process stops when it exits (SIGTERM, then SIGKILL after the stop timeout): the
    // supervisor reports it; the margin only covers a supervisor that is gone.
    task.stopAt =
      task.lastStatus !== 'RUNNING'
        ? t
        : task.supervised
          ? t + this.stopTimeoutMs(task) + 5_000
          : t + TASK_STOP_MS;
    if (task.stopAt <= t) this.advanceTask(task, t);
  }

  /** The container's stopTimeout (seconds in the task definition), else ECS's default. */
  stopTimeoutMs(task: TaskRecord): number {
    const key = task.taskDefinitionArn.slice(task.taskDefinitionArn.lastIndexOf('/') + 1);
    const seconds = this.state.taskDefinitions[key]?.definition.containerDefinitions?.[0]?.stopTimeout;
    return seconds === undefined ? DEFAULT_STOP_TIMEOUT_MS : seconds * 1000;
  }

  /**
   * A supervised task's process exited. Unasked, ECS reports "Essential container in task
   * exited" with the exit code, and a deployment in progress counts it as a failed task.
   */
  containerExited(task: TaskRecord, exitCode: number, t: number): void {
    if (task.lastStatus === 'STOPPED') return;
    task.exitCode = exitCode;
    if (task.desiredStatus === 'RUNNING') {
      task.desiredStatus = 'STOPPED';
      task.stoppedReason = DEFAULT_FAILURE_REASON;
      task.stopCode = 'EssentialContainerExited';
      task.stoppingAt = t;
      this.countFailure(task, t);
    }
    task.lastStatus = 'STOPPED';
    task.stoppedAt = t;
    task.stopAt = t;
  }

  /** A supervised task failed its container health check: ECS stops it, and it counts as failed. */
  healthCheckFailed(task: TaskRecord, t: number): void {
    if (task.desiredStatus === 'STOPPED') return;
    task.healthStatus = 'UNHEALTHY';
    this.stopTask(task, t, HEALTH_CHECK_FAILURE_REASON);
    this.countFailure(task, t);
    const service = this.serviceOf(task);
    if (service) {
      service.steady = false;
      this.serviceEvent(
        service,
        `(task ${task.taskArn.slice(task.taskArn.lastIndexOf('/') + 1)}) failed container health checks.`,
        t,
      );
    }
  }

  private serviceOf(task: TaskRecord): ServiceRecord | undefined {
    return task.serviceName ? this.state.services[`${task.clusterName}/${task.serviceName}`] : undefined;
  }

  private countFailure(task: TaskRecord, t: number): void {
    const deployment = this.serviceOf(task)?.deployments.find((d) => d.id === task.deploymentId);
    if (deployment?.rolloutState === 'IN_PROGRESS') {
      deployment.failedTasks += 1;
      deployment.updatedAt = t;
    }
  }

  private advanceTask(task: TaskRecord, t: number): void {
    if (task.lastStatus === 'STOPPED') {
      if (t - (task.stoppedAt ?? t) > STOPPED_TASK_RETENTION_MS) delete this.state.tasks[task.taskArn];
      return;
    }
    if (task.desiredStatus === 'STOPPED') {
      if ((task.stopAt ?? t) <= t) {
        task.lastStatus = 'STOPPED';
        task.stoppedAt = t;
      }
      return;
    }
    if (task.lastStatus === 'PENDING' && task.startAt <= t) {
      if (task.failReason) {
        task.desiredStatus = 'STOPPED';
        task.lastStatus = 'STOPPED';
        task.stoppedAt = t;
        task.stoppedReason = task.failReason;
        task.stopCode = task.failStopCode ?? 'EssentialContainerExited';
        const service = task.serviceName
          ? this.state.services[`${task.clusterName}/${task.serviceName}`]
          : undefined;
        const deployment = service?.deployments.find((d) => d.id === task.deploymentId);
        if (deployment) {
          deployment.failedTasks += 1;
          deployment.updatedAt = t;
        }
      } else {
        task.lastStatus = 'RUNNING';
        task.startedAt = t;
      }
    }
  }

  private liveTasks(service: ServiceRecord): TaskRecord[] {
    return Object.values(this.state.tasks).filter(
      (task) =>
        task.clusterName === service.clusterName &&
        task.serviceName === service.serviceName &&
        task.desiredStatus === 'RUNNING',
    );
  }

  private instanceActive(task: TaskRecord): boolean {
    return this.state.instances[task.containerInstanceArn]?.status === 'ACTIVE';
  }

  private schedule(service: ServiceRecord, t: number): void {
    if (service.status === 'INACTIVE') return;
    if (service.status === 'DRAINING') {
      this.drain(service, t);
      return;
    }
    const primary = service.deployments[0];
    if (!primary) return;
    this.checkCircuitBreaker(service, t);
    const current = service.deployments[0] ?? primary;
    const live = this.liveTasks(service);
    const desired = service.desiredCount;
    const good = live.filter((task) => task.deploymentId === current.id && this.instanceActive(task));

    if (current.rolloutState !== 'FAILED') {
      const maxTotal = Math.max(desired, Math.floor((desired * service.maximumPercent) / 100));
      let total = live.length;
      while (good.length < desired && total < maxTotal) {
        const task = this.place(service, current, t);
        if (!task) break;
        good.push(task);
        live.push(task);
        total += 1;
      }
    }

    // Stop what is surplus, old deployments first, without going below minimum healthy.
    const minHealthy = Math.ceil((desired * service.minimumHealthyPercent) / 100);
    let healthy = live.filter(taskHealthy).length;
    const pendingFirst = (a: TaskRecord, b: TaskRecord) =>
      (a.lastStatus === 'PENDING' ? -1 : 0) - (b.lastStatus === 'PENDING' ? -1 : 0);
    const surplus = [
      ...live.filter((task) => task.deploymentId !== current.id).sort(pendingFirst),
      ...live.filter((task) => task.deploymentId === current.id && !this.instanceActive(task)),
      ...good.sort(pendingFirst).slice(0, Math.max(0, good.length - desired)),
    ];
    const stopped: TaskRecord[] = [];
    for (const task of surplus) {
      if (task.desiredStatus !== 'RUNNING') continue;
      if (taskHealthy(task)) {
        if (healthy - 1 < minHealthy) continue;
        healthy -= 1;
      }
      const draining = !this.instanceActive(task);
      this.stopTask(
        task,
        t,
        draining
          ? 'Container instance is being drained'
          : `Scaling activity initiated by (deployment ${current.id})`,
      );
      stopped.push(task);
    }
    if (stopped.length > 0) {
      service.steady = false;
      const ids = stopped
        .map((task) => `(task ${task.taskArn.slice(task.taskArn.lastIndexOf('/') + 1)})`)
        .join(' ');
      this.serviceEvent(service, `has stopped ${stopped.length} running tasks: ${ids}.`, t);
    }

    this.settle(service, current, t);
  }

  /**
   * A deleted service: its tasks stop (no minimum healthy percent holds any more), and once
   * none is left it is INACTIVE.
   */
  private drain(service: ServiceRecord, t: number): void {
    const live = this.liveTasks(service);
    for (const task of live)
      this.stopTask(task, t, `Scaling activity initiated by (deployment ${service.deployments[0]?.id})`);
    if (live.length > 0) {
      const ids = live.map((task) => `(task ${task.taskArn.slice(task.taskArn.lastIndexOf('/') + 1)})`);
      this.serviceEvent(service, `has stopped ${live.length} running tasks: ${ids.join(' ')}.`, t);
    }
    const stopping = Object.values(this.state.tasks).some(
      (task) =>
        task.clusterName === service.clusterName &&
        task.serviceName === service.serviceName &&
        task.lastStatus !== 'STOPPED',
    );
    if (!stopping) service.status = 'INACTIVE';
  }

  /** Marks the primary deployment COMPLETED when it runs its count alone, and drops old deployments. */
  private settle(service: ServiceRecord, primary: DeploymentRecord, t: number): void {
    const live = this.liveTasks(service);
    const others = live.filter((task) => task.deploymentId !== primary.id);
    const mine = live.filter((task) => task.deploymentId === primary.id);
    const done =
      others.length === 0 &&
      mine.length === service.desiredCount &&
      mine.every((task) => taskHealthy(task) && this.instanceActive(task));
    if (done && primary.rolloutState === 'IN_PROGRESS') {
      primary.rolloutState = 'COMPLETED';
      primary.rolloutStateReason = `ECS deployment ${primary.id} completed.`;
      primary.updatedAt = t;
      service.lastCompletedDeployment = { id: primary.id, taskDefinition: primary.taskDefinition };
      this.serviceEvent(service, `(deployment ${primary.id}) deployment completed.`, t);
      this.deploymentEvent(service, primary, t);
    }
    service.deployments = service.deployments.filter(
      (d, index) =>
        index === 0 ||
        live.some((task) => task.deploymentId === d.id) ||
        (d.rolloutState === 'FAILED' && t - d.updatedAt < FAILED_DEPLOYMENT_LINGER_MS),
    );
    if (done && primary.rolloutState !== 'IN_PROGRESS' && !service.steady) {
      service.steady = true;
      this.serviceEvent(service, 'has reached a steady state.', t);
      this.ctx.emit('ECS Service Action', 'aws.ecs', [service.serviceArn], {
        eventType: 'INFO',
        eventName: 'SERVICE_STEADY_STATE',
        clusterArn: this.arns.cluster(service.clusterName),
        createdAt: new Date(t).toISOString(),
      });
    }
  }

  private checkCircuitBreaker(service: ServiceRecord, t: number): void {
    const primary = service.deployments[0];
    if (primary?.rolloutState !== 'IN_PROGRESS' || !service.circuitBreaker.enable) return;
    if (primary.failedTasks < circuitBreakerThreshold(primary.desiredCount)) return;
    primary.rolloutState = 'FAILED';
    primary.rolloutStateReason = CIRCUIT_BREAKER_REASON;
    primary.updatedAt = t;
    this.serviceEvent(service, `(deployment ${primary.id}) deployment failed: tasks failed to start.`, t);
    this.deploymentEvent(service, primary, t);
    const target = service.lastCompletedDeployment;
    if (!service.circuitBreaker.rollback || !target || target.taskDefinition === primary.taskDefinition)
      return;
    primary.status = 'ACTIVE';
    const rollback: DeploymentRecord = {
      id: newDeploymentId(),
      status: 'PRIMARY',
      taskDefinition: target.taskDefinition,
      desiredCount: service.desiredCount,
      failedTasks: 0,
      rolloutState: 'IN_PROGRESS',
      rolloutStateReason: `ECS deployment circuit breaker: rolling back to deploymentId ${target.id}.`,
      createdAt: t,
      updatedAt: t,
    };
    service.deployments.unshift(rollback);
    service.taskDefinition = target.taskDefinition;
    service.steady = false;
    this.serviceEvent(service, `rolling back to deployment ${target.id}.`, t);
    this.deploymentEvent(service, rollback, t);
  }

  /** Places one task of the deployment on the emptiest instance with room, or reports why not. */
  private place(service: ServiceRecord, deployment: DeploymentRecord, t: number): TaskRecord | undefined {
    const definition = this.state.taskDefinitions[deployment.taskDefinition];
    if (!definition) return undefined;
    const { cpu, memory } = taskResources(definition.definition);
    const instances = Object.values(this.state.instances).filter(
      (i) => i.clusterName === service.clusterName && i.status === 'ACTIVE',
    );
    const usage = (instance: InstanceRecord) => instanceUsage(this.state, instance);
    const fits = instances
      .map((instance) => ({ instance, used: usage(instance) }))
      .filter(
        ({ instance, used }) => instance.cpu - used.cpu >= cpu && instance.memory - used.memory >= memory,
      )
      .sort(
        (a, b) =>
          a.used.serviceTasks(service.serviceName) - b.used.serviceTasks(service.serviceName) ||
          a.used.tasks - b.used.tasks,
      );
    const chosen = fits[0]?.instance;
    if (!chosen) {
      this.placementFailure(service, instances, memory, t);
      return undefined;
    }
    const taskArn = `arn:aws:ecs:${this.ctx.region}:${this.ctx.accountId}:task/${service.clusterName}/${newResourceId()}`;
    const task: TaskRecord = {
      taskArn,
      clusterName: service.clusterName,
      serviceName: service.serviceName,
      deploymentId: deployment.id,
      taskDefinitionArn: this.arns.taskDefinition(deployment.taskDefinition),
      containerInstanceArn: chosen.containerInstanceArn,
      cpu,
      memory,
      lastStatus: 'PENDING',
      desiredStatus: 'RUNNING',
      createdAt: t,
      startAt: t + (deployment.taskStartMs ?? TASK_START_MS),
      ...(deployment.failReason && { failReason: deployment.failReason }),
      ...(deployment.failStopCode && { failStopCode: deployment.failStopCode }),
    };
    this.state.tasks[taskArn] = task;
    this.onTaskPlaced?.(task);
    service.steady = false;
    this.serviceEvent(
      service,
      `has started 1 tasks: (task ${taskArn.slice(taskArn.lastIndexOf('/') + 1)}).`,
      t,
    );
    return task;
  }

  private placementFailure(
    service: ServiceRecord,
    instances: InstanceRecord[],
    memory: number,
    t: number,
  ): void {
    if (
      service.lastPlacementFailureAt !== undefined &&
      t - service.lastPlacementFailureAt < PLACEMENT_EVENT_INTERVAL_MS
    )
      return;
    service.lastPlacementFailureAt = t;
    const closest = instances
      .map((instance) => ({ instance, used: instanceUsage(this.state, instance) }))
      .sort((a, b) => b.instance.memory - b.used.memory - (a.instance.memory - a.used.memory))[0];
    const short = closest && closest.instance.memory - closest.used.memory >= memory ? 'cpu' : 'memory';
    const reason = short === 'cpu' ? 'RESOURCE:CPU' : 'RESOURCE:MEMORY';
    const detail = closest
      ? `The closest matching (container-instance ${closest.instance.containerInstanceArn.slice(closest.instance.containerInstanceArn.lastIndexOf('/') + 1)}) has insufficient ${short} available.`
      : 'Reason: No Container Instances were found in your cluster.';
    this.serviceEvent(
      service,
      `was unable to place a task because no container instance met all of its requirements. ${detail} For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.`,
      t,
    );
    this.ctx.emit('ECS Service Action', 'aws.ecs', [service.serviceArn], {
      eventType: 'WARN',
      eventName: 'SERVICE_TASK_PLACEMENT_FAILURE',
      clusterArn: this.arns.cluster(service.clusterName),
      createdAt: new Date(t).toISOString(),
      reasons: [reason],
    });
  }
}

/** CPU and memory reserved on an instance by its tasks that have not stopped yet. */
export function instanceUsage(state: EcsState, instance: InstanceRecord) {
  const tasks = Object.values(state.tasks).filter(
    (task) => task.containerInstanceArn === instance.containerInstanceArn && task.lastStatus !== 'STOPPED',
  );
  return {
    cpu: tasks.reduce((sum, task) => sum + task.cpu, 0),
    memory: tasks.reduce((sum, task) => sum + task.memory, 0),
    tasks: tasks.length,
    running: tasks.filter((task) => task.lastStatus === 'RUNNING').length,
    pending: tasks.filter((task) => task.lastStatus === 'PENDING').length,
    serviceTasks: (serviceName: string) => tasks.filter((task) => task.serviceName === serviceName).length,
  };
}
