/**
 * Emulated ECS on EC2: clusters, task definitions, services with rolling deployments and
 * the circuit breaker, container instances (registered by the emulated Auto Scaling
 * groups), tasks and placement. The scheduler (`ecs-scheduler.ts`) moves it in time.
 */
import { join } from 'node:path';
import {
  ClientException,
  ClusterNotFoundException,
  type ContainerInstance,
  type CreateClusterCommandInput,
  type CreateClusterCommandOutput,
  type CreateServiceCommandInput,
  type CreateServiceCommandOutput,
  type DeleteServiceCommandInput,
  type DeleteServiceCommandOutput,
  type DeleteTaskDefinitionsCommandInput,
  type DeleteTaskDefinitionsCommandOutput,
  type DeregisterTaskDefinitionCommandInput,
  type DeregisterTaskDefinitionCommandOutput,
  type DescribeClustersCommandInput,
  type DescribeClustersCommandOutput,
  type DescribeContainerInstancesCommandInput,
  type DescribeContainerInstancesCommandOutput,
  type DescribeServicesCommandInput,
  type DescribeServicesCommandOutput,
  type DescribeTaskDefinitionCommandInput,
  type DescribeTaskDefinitionCommandOutput,
  type DescribeTasksCommandInput,
  type DescribeTasksCommandOutput,
  InvalidParameterException,
  type ListClustersCommandOutput,
  type ListContainerInstancesCommandInput,
  type ListContainerInstancesCommandOutput,
  type ListServicesCommandInput,
  type ListServicesCommandOutput,
  type ListTagsForResourceCommandInput,
  type ListTagsForResourceCommandOutput,
  type ListTaskDefinitionsCommandInput,
  type ListTaskDefinitionsCommandOutput,
  type ListTasksCommandInput,
  type ListTasksCommandOutput,
  type RegisterContainerInstanceCommandInput,
  type RegisterContainerInstanceCommandOutput,
  type RegisterTaskDefinitionCommandInput,
  type RegisterTaskDefinitionCommandOutput,
  type Service,
  ServiceNotActiveException,
  ServiceNotFoundException,
  type TagResourceCommandInput,
  type TagResourceCommandOutput,
  type Task,
  type UntagResourceCommandInput,
  type UntagResourceCommandOutput,
  type UpdateContainerInstancesStateCommandInput,
  type UpdateContainerInstancesStateCommandOutput,
  type UpdateServiceCommandInput,
  type UpdateServiceCommandOutput,
} from '@aws-sdk/client-ecs';
import { stageNames } from '#shared/naming.ts';
import {
  DEFAULT_FAILURE_REASON,
  type DeploymentPlan,
  type DeploymentRecord,
  type EcsState,
  emptyEcsState,
  type InstanceRecord,
  imageTag,
  instanceResources,
  newDeploymentId,
  newResourceId,
  type ServiceRecord,
  serviceActive,
  type TaskDefinitionRecord,
  type TaskRecord,
} from './ecs-model.ts';
import { EcsOutputs } from './ecs-output.ts';
import { EcsScheduler, instanceUsage } from './ecs-scheduler.ts';
import { awsError } from './errors.ts';
import { JsonFile } from './store.ts';
import type { AccountContext, Emulator, Result } from './types.ts';

const FAMILY = /^[a-zA-Z0-9_-]{1,255}$/;

export class EcsEmulator implements Emulator {
  readonly service = 'ECS';
  private readonly file: JsonFile<EcsState>;
  private readonly scheduler: EcsScheduler;
  private readonly out: EcsOutputs;

  /**
   * @param loadBalancersOf the load balancers a target group is attached to (through a listener
   *   or rule), undefined when there is no such target group: what CreateService checks of its
   *   `loadBalancers`, as ECS does.
   */
  constructor(
    private readonly ctx: AccountContext,
    dataDir: string,
    private readonly loadBalancersOf: (targetGroupArn: string) => string[] | undefined,
  ) {
    this.file = new JsonFile(join(dataDir, 'account', 'ecs.json'), emptyEcsState);
    const arns = {
      cluster: (name: string) => this.clusterArn(name),
      taskDefinition: (key: string) => this.taskDefinitionArn(key),
    };
    this.scheduler = new EcsScheduler(this.file.value, ctx, arns);
    this.out = new EcsOutputs(this.file.value, arns);
  }

  private get state(): EcsState {
    return this.file.value;
  }

  save(): void {
    this.file.save();
  }

  step(t: number): void {
    this.scheduler.step(t);
    this.finishDeletions();
  }

  // ---- knobs and hooks for the rest of the sandbox ----

  /** The next deployment of the stage's service fails: its tasks do not start (circuit breaker test). */
  failNextDeployment(app: string, stage: string, reason = DEFAULT_FAILURE_REASON): void {
    const names = stageNames(app, stage);
    this.serviceRecord(names.cluster, names.service).failNext = reason;
  }

  /**
   * What the next deployments of a service do, one plan per deployment in order (a
   * release's, then the rollback's): tasks slow to start, or failing with a given reason
   * and stop code. Deployments past the plans behave as usual.
   */
  planDeployments(clusterName: string, serviceName: string, ...plans: DeploymentPlan[]): void {
    const service = this.serviceRecord(this.cluster(clusterName), serviceName);
    service.plannedDeployments = [...(service.plannedDeployments ?? []), ...plans];
  }

  /**
   * Brings a service to a steady state at once: its tasks placed and RUNNING, its
   * deployment COMPLETED (what a finished `cdk deploy` leaves behind).
   */
  settle(clusterName: string, serviceName: string): void {
    const t = this.ctx.clock.now();
    this.scheduler.step(t);
    for (const task of Object.values(this.state.tasks)) {
      if (
        task.clusterName === clusterName &&
        task.serviceName === serviceName &&
        task.lastStatus === 'PENDING'
      ) {
        task.startAt = t;
      }
    }
    this.scheduler.step(t);
    this.scheduler.step(t);
  }

  /** An EC2 instance joins the cluster (what the ECS agent does at boot). Returns its ARN. */
  registerInstance(
    clusterName: string,
    ec2InstanceId: string,
    instanceType: string,
    availabilityZone: string,
  ): string {
    this.cluster(clusterName);
    const existing = Object.values(this.state.instances).find(
      (i) => i.ec2InstanceId === ec2InstanceId && i.status !== 'INACTIVE',
    );
    if (existing) return existing.containerInstanceArn;
    const arn = `arn:aws:ecs:${this.ctx.region}:${this.ctx.accountId}:container-instance/${clusterName}/${newResourceId()}`;
    this.state.instances[arn] = {
      containerInstanceArn: arn,
      ec2InstanceId,
      clusterName,
      status: 'ACTIVE',
      instanceType,
      availabilityZone,
      ...instanceResources(instanceType),
      registeredAt: this.ctx.clock.now(),
    };
    return arn;
  }

  /** An EC2 instance is gone: its container instance becomes INACTIVE and its tasks stop. */
  deregisterInstance(ec2InstanceId: string): void {
    const t = this.ctx.clock.now();
    for (const instance of Object.values(this.state.instances)) {
      if (instance.ec2InstanceId !== ec2InstanceId || instance.status === 'INACTIVE') continue;
      instance.status = 'INACTIVE';
      for (const task of Object.values(this.state.tasks)) {
        if (task.containerInstanceArn !== instance.containerInstanceArn || task.lastStatus === 'STOPPED')
          continue;
        this.scheduler.stopTask(
          task,
          t,
          `Host EC2 (instance ${ec2InstanceId}) terminated.`,
          'TerminationNotice',
        );
        task.stopAt = t;
        task.lastStatus = 'STOPPED';
        task.stoppedAt = t;
      }
    }
  }

  // ---- what the sandbox's task supervisor (`sandbox/tasks/`) sees and reports ----

  /** Called with each task ECS places; the supervisor marks the ones it runs as processes. */
  set onTaskPlaced(hook: ((task: TaskRecord) => void) | undefined) {
    this.scheduler.onTaskPlaced = hook;
  }

  /** The tasks that have not stopped (the supervisor's work list), and their task definitions. */
  liveTasks(): { task: TaskRecord; definition: TaskDefinitionRecord['definition'] | undefined }[] {
    return Object.values(this.state.tasks)
      .filter((task) => task.lastStatus !== 'STOPPED')
      .map((task) => ({ task, definition: this.definitionOf(task) }));
  }

  /** The task definition a task (or anything with its ARN) runs. */
  definitionOf(task: Pick<TaskRecord, 'taskDefinitionArn'>): TaskDefinitionRecord['definition'] | undefined {
    return this.state.taskDefinitions[
      task.taskDefinitionArn.slice(task.taskDefinitionArn.lastIndexOf('/') + 1)
    ]?.definition;
  }

  /** The task runs as a real process: RUNNING is not healthy until its checks pass. */
  supervise(task: TaskRecord): void {
    task.supervised = true;
    task.healthStatus = 'UNKNOWN';
  }

  /** A supervised task passed its health check. */
  taskHealthy(task: TaskRecord): void {
    if (task.lastStatus !== 'STOPPED' && task.healthStatus !== 'HEALTHY') {
      task.healthStatus = 'HEALTHY';
      const service = this.state.services[`${task.clusterName}/${task.serviceName}`];
      if (service) service.steady = false;
    }
  }

  /** A supervised task failed its health check (retries exhausted): ECS stops and counts it. */
  taskUnhealthy(task: TaskRecord): void {
    this.scheduler.healthCheckFailed(task, this.ctx.clock.now());
  }

  /** A supervised task's process exited with `exitCode` (128 + signal when a signal killed it). */
  containerExited(task: TaskRecord, exitCode: number): void {
    this.scheduler.containerExited(task, exitCode, this.ctx.clock.now());
  }

  /** How long a stopping task has between SIGTERM and SIGKILL (emulated ms). */
  stopTimeoutMs(task: TaskRecord): number {
    return this.scheduler.stopTimeoutMs(task);
  }

  /** What CloudWatch needs: the running tasks of a service and the instances of its cluster. */
  usage(clusterName: string, serviceName: string) {
    const tasks = Object.values(this.state.tasks).filter(
      (t) => t.clusterName === clusterName && t.lastStatus === 'RUNNING',
    );
    return {
      serviceTasks: tasks.filter((t) => t.serviceName === serviceName),
      clusterTasks: tasks,
      instances: Object.values(this.state.instances).filter(
        (i) => i.clusterName === clusterName && i.status !== 'INACTIVE',
      ),
    };
  }

  /**
   * The tasks that have not stopped of the services that register with a Cloud Map service
   * (`serviceRegistries`) or a target group (`loadBalancers`): its instances, its targets.
   */
  registeredTasks(registry: { registryArn: string } | { targetGroupArn: string }): TaskRecord[] {
    const services = Object.values(this.state.services).filter((s) =>
      'registryArn' in registry
        ? s.serviceRegistries?.some((r) => r.registryArn === registry.registryArn)
        : s.loadBalancers?.some((l) => l.targetGroupArn === registry.targetGroupArn),
    );
    return Object.values(this.state.tasks).filter(
      (task) =>
        task.lastStatus !== 'STOPPED' &&
        services.some((s) => s.clusterName === task.clusterName && s.serviceName === task.serviceName),
    );
  }

  /** The services of a cluster that are not INACTIVE, as DescribeServices shows them. */
  services(clusterName: string): Service[] {
    return Object.values(this.state.services)
      .filter((s) => s.clusterName === clusterName && s.status !== 'INACTIVE')
      .map((s) => this.out.service(s));
  }

  /** A stage's service as `GET /stages` shows it. */
  view(clusterName: string, serviceName: string) {
    const service = this.state.services[`${clusterName}/${serviceName}`];
    if (!service) return undefined;
    const definition = this.state.taskDefinitions[service.taskDefinition]?.definition;
    const instances = Object.values(this.state.instances)
      .filter((i) => i.clusterName === clusterName && i.status !== 'INACTIVE')
      .map((i) => {
        const used = instanceUsage(this.state, i);
        return {
          id: i.ec2InstanceId,
          status: i.status,
          runningTasks: used.running,
          pendingTasks: used.pending,
        };
      });
    const live = Object.values(this.state.tasks).filter(
      (t) => t.clusterName === clusterName && t.serviceName === serviceName && t.lastStatus !== 'STOPPED',
    );
    return {
      taskDefinition: {
        arn: this.taskDefinitionArn(service.taskDefinition),
        revision: definition?.revision,
        image: definition?.containerDefinitions?.[0]?.image,
      },
      desiredCount: service.desiredCount,
      runningCount: live.filter((t) => t.lastStatus === 'RUNNING').length,
      pendingCount: live.filter((t) => t.lastStatus === 'PENDING').length,
      deployments: service.deployments.map((d) => ({
        id: d.id,
        status: d.status,
        rolloutState: d.rolloutState,
        rolloutStateReason: d.rolloutStateReason,
        taskDefinition: this.taskDefinitionArn(d.taskDefinition),
      })),
      instances,
      events: service.events
        .slice(0, 10)
        .map((e) => ({ createdAt: new Date(e.createdAt).toISOString(), message: e.message })),
    };
  }

  // ---- the commands ----

  readonly commands = {
    CreateCluster: (input: CreateClusterCommandInput): Result<CreateClusterCommandOutput> => {
      const name = input.clusterName ?? 'default';
      this.state.clusters[name] ??= { clusterArn: this.clusterArn(name), createdAt: this.ctx.clock.now() };
      if (input.tags) this.state.tags[this.clusterArn(name)] = input.tags;
      return { cluster: this.out.cluster(name) };
    },
    ListClusters: (): Result<ListClustersCommandOutput> => ({
      clusterArns: Object.values(this.state.clusters).map((c) => c.clusterArn),
    }),
    DescribeClusters: (input: DescribeClustersCommandInput): Result<DescribeClustersCommandOutput> => {
      const names = (input.clusters ?? ['default']).map((c) => this.clusterName(c));
      return {
        clusters: names.filter((n) => this.state.clusters[n]).map((n) => this.out.cluster(n)),
        failures: names
          .filter((n) => !this.state.clusters[n])
          .map((n) => ({ arn: this.clusterArn(n), reason: 'MISSING' })),
      };
    },
    RegisterTaskDefinition: (
      input: RegisterTaskDefinitionCommandInput,
    ): Result<RegisterTaskDefinitionCommandOutput> => {
      const { tags, ...rest } = input;
      this.validateTaskDefinition(input);
      const family = input.family ?? '';
      const revision = (this.state.families[family] ?? 0) + 1;
      this.state.families[family] = revision;
      const key = `${family}:${revision}`;
      const definition: TaskDefinitionRecord['definition'] = {
        ...rest,
        taskDefinitionArn: this.taskDefinitionArn(key),
        revision,
        status: 'ACTIVE',
        compatibilities: input.networkMode === 'awsvpc' ? ['EC2', 'FARGATE'] : ['EXTERNAL', 'EC2'],
        requiresAttributes: [
          { name: 'com.amazonaws.ecs.capability.docker-remote-api.1.18' },
          ...(input.executionRoleArn ? [{ name: 'ecs.capability.execution-role-awslogs' }] : []),
        ],
        registeredBy: `arn:aws:sts::${this.ctx.accountId}:assumed-role/stackpilot-sandbox/stackpilot`,
      };
      this.state.taskDefinitions[key] = { definition, registeredAt: this.ctx.clock.now() };
      if (tags && tags.length > 0) this.state.tags[this.taskDefinitionArn(key)] = tags;
      return { taskDefinition: this.out.taskDefinition(key), ...(tags && { tags }) };
    },
    DescribeTaskDefinition: (
      input: DescribeTaskDefinitionCommandInput,
    ): Result<DescribeTaskDefinitionCommandOutput> => {
      const key = this.taskDefinitionKey(input.taskDefinition);
      return {
        taskDefinition: this.out.taskDefinition(key),
        ...(input.include?.includes('TAGS') && { tags: this.state.tags[this.taskDefinitionArn(key)] ?? [] }),
      };
    },
    DeregisterTaskDefinition: (
      input: DeregisterTaskDefinitionCommandInput,
    ): Result<DeregisterTaskDefinitionCommandOutput> => {
      const key = this.taskDefinitionKey(input.taskDefinition);
      const record = this.state.taskDefinitions[key];
      if (record && record.definition.status === 'ACTIVE') {
        record.definition.status = 'INACTIVE';
        record.deregisteredAt = this.ctx.clock.now();
      }
      return { taskDefinition: this.out.taskDefinition(key) };
    },
    DeleteTaskDefinitions: (
      input: DeleteTaskDefinitionsCommandInput,
    ): Result<DeleteTaskDefinitionsCommandOutput> => {
      const refs = input.taskDefinitions ?? [];
      if (refs.length === 0)
        throw awsError(
          InvalidParameterException,
          'size of TaskDefinition references list must be greater than 0',
        );
      if (refs.length > 10)
        throw awsError(InvalidParameterException, 'Size of TaskDefinition references list cannot exceed 10');
      const deleted: string[] = [];
      const failures: { arn: string; reason: string }[] = [];
      for (const ref of refs) {
        const key = ref.startsWith('arn:') ? ref.slice(ref.lastIndexOf('/') + 1) : ref;
        const record = this.state.taskDefinitions[key];
        const reason = !/^[^:]+:\d+$/.test(key)
          ? 'The specified task definition identifier is invalid. Specify a valid name or ARN and try again.'
          : !record
            ? 'The specified task definition does not exist. Specify a valid account, family, revision and try again.'
            : record.definition.status === 'ACTIVE'
              ? 'The specified task definition is still in ACTIVE status. Please deregister the target and try again.'
              : undefined;
        if (reason || !record) {
          failures.push({
            arn: ref.startsWith('arn:') ? ref : this.taskDefinitionArn(key),
            reason: reason ?? '',
          });
          continue;
        }
        // ECS deletes it once no task or service uses it (`finishDeletions`).
        record.definition.status = 'DELETE_IN_PROGRESS';
        record.deleteRequestedAt ??= this.ctx.clock.now();
        deleted.push(key);
      }
      return { taskDefinitions: deleted.map((key) => this.out.taskDefinition(key)), failures };
    },
    ListTaskDefinitions: (
      input: ListTaskDefinitionsCommandInput,
    ): Result<ListTaskDefinitionsCommandOutput> => {
      const status = input.status ?? 'ACTIVE';
      const keys = Object.entries(this.state.taskDefinitions)
        .filter(
          ([, r]) =>
            r.definition.status === status &&
            // Despite its name, familyPrefix is "the full family name" (API reference): moto agrees.
            (!input.familyPrefix || r.definition.family === input.familyPrefix),
        )
        .sort(
          ([, a], [, b]) =>
            (a.definition.family ?? '').localeCompare(b.definition.family ?? '') ||
            (a.definition.revision ?? 0) - (b.definition.revision ?? 0),
        )
        .map(([key]) => this.taskDefinitionArn(key));
      return { taskDefinitionArns: input.sort === 'DESC' ? keys.reverse() : keys };
    },
    ListTagsForResource: (
      input: ListTagsForResourceCommandInput,
    ): Result<ListTagsForResourceCommandOutput> => {
      return { tags: this.state.tags[this.resourceArn(input.resourceArn)] ?? [] };
    },
    TagResource: (input: TagResourceCommandInput): Result<TagResourceCommandOutput> => {
      const arn = this.resourceArn(input.resourceArn);
      const tags = (this.state.tags[arn] ?? []).filter((t) => !input.tags?.some((n) => n.key === t.key));
      this.state.tags[arn] = [...tags, ...(input.tags ?? [])];
      return {};
    },
    UntagResource: (input: UntagResourceCommandInput): Result<UntagResourceCommandOutput> => {
      const arn = this.resourceArn(input.resourceArn);
      this.state.tags[arn] = (this.state.tags[arn] ?? []).filter(
        (t) => !input.tagKeys?.includes(t.key ?? ''),
      );
      return {};
    },
    CreateService: (input: CreateServiceCommandInput): Result<CreateServiceCommandOutput> => {
      const clusterName = this.cluster(input.cluster);
      const name = input.serviceName ?? '';
      const id = `${clusterName}/${name}`;
      const existing = this.state.services[id];
      if (existing?.status === 'DRAINING')
        throw awsError(InvalidParameterException, 'Unable to Start a service that is still Draining.');
      if (existing && serviceActive(existing)) {
        // The same request again (a retry) answers the service it created.
        if (input.clientToken && existing.clientToken === input.clientToken)
          return { service: this.out.service(existing) };
        throw awsError(InvalidParameterException, 'Creation of service was not idempotent.');
      }
      if (input.launchType && input.capacityProviderStrategy?.length) {
        throw awsError(
          InvalidParameterException,
          'Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.',
        );
      }
      for (const { targetGroupArn } of input.loadBalancers ?? []) this.checkTargetGroup(targetGroupArn);
      const key = this.taskDefinitionKey(input.taskDefinition);
      if (this.state.taskDefinitions[key]?.definition.status !== 'ACTIVE')
        throw awsError(InvalidParameterException, 'TaskDefinition is inactive');
      const t = this.ctx.clock.now();
      const config = input.deploymentConfiguration;
      const service: ServiceRecord = {
        serviceName: name,
        serviceArn: `arn:aws:ecs:${this.ctx.region}:${this.ctx.accountId}:service/${clusterName}/${name}`,
        clusterName,
        taskDefinition: key,
        desiredCount: input.desiredCount ?? 0,
        createdAt: t,
        minimumHealthyPercent: config?.minimumHealthyPercent ?? 100,
        maximumPercent: config?.maximumPercent ?? 200,
        circuitBreaker: {
          enable: config?.deploymentCircuitBreaker?.enable ?? false,
          rollback: config?.deploymentCircuitBreaker?.rollback ?? false,
        },
        deployments: [],
        events: [],
        steady: false,
        status: 'ACTIVE',
        ...(input.clientToken && { clientToken: input.clientToken }),
        ...(input.launchType && { launchType: input.launchType }),
        ...(input.capacityProviderStrategy?.length && {
          capacityProviderStrategy: input.capacityProviderStrategy,
        }),
        placementStrategy: input.placementStrategy ?? [],
        serviceRegistries: input.serviceRegistries ?? [],
        loadBalancers: input.loadBalancers ?? [],
        ...(input.healthCheckGracePeriodSeconds !== undefined && {
          healthCheckGracePeriodSeconds: input.healthCheckGracePeriodSeconds,
        }),
      };
      this.state.services[id] = service;
      if (input.tags) this.state.tags[service.serviceArn] = input.tags;
      else delete this.state.tags[service.serviceArn];
      this.startDeployment(service, key, t);
      return { service: this.out.service(service) };
    },
    DeleteService: (input: DeleteServiceCommandInput): Result<DeleteServiceCommandOutput> => {
      const clusterName = this.cluster(input.cluster);
      const ref = input.service ?? '';
      const service = this.state.services[`${clusterName}/${ref.slice(ref.lastIndexOf('/') + 1)}`];
      if (!service) throw awsError(ServiceNotFoundException, 'Service not found.');
      if (!serviceActive(service)) throw awsError(ServiceNotActiveException, 'Service was not ACTIVE.');
      if (service.desiredCount > 0 && !input.force) {
        throw awsError(
          InvalidParameterException,
          'The service cannot be stopped while it is scaled above 0.',
        );
      }
      // Its tasks stop at the next step; then it is INACTIVE (`ecs-scheduler.ts`).
      service.status = 'DRAINING';
      service.desiredCount = 0;
      service.steady = false;
      for (const d of service.deployments) d.desiredCount = 0;
      return { service: this.out.service(service) };
    },
    ListServices: (input: ListServicesCommandInput): Result<ListServicesCommandOutput> => {
      const clusterName = this.cluster(input.cluster);
      const { items, nextToken } = page(
        Object.values(this.state.services)
          .filter((s) => s.clusterName === clusterName && s.status !== 'INACTIVE')
          .map((s) => s.serviceArn),
        input.maxResults ?? 10,
        input.nextToken,
      );
      return { serviceArns: items, ...(nextToken && { nextToken }) };
    },
    DescribeServices: (input: DescribeServicesCommandInput): Result<DescribeServicesCommandOutput> => {
      const clusterName = this.cluster(input.cluster);
      const services: Service[] = [];
      const failures: { arn: string; reason: string }[] = [];
      for (const ref of input.services ?? []) {
        const record = this.state.services[`${clusterName}/${ref.slice(ref.lastIndexOf('/') + 1)}`];
        if (record) {
          services.push({
            ...this.out.service(record),
            ...(input.include?.includes('TAGS') && { tags: this.state.tags[record.serviceArn] ?? [] }),
          });
        } else {
          failures.push({
            arn: ref.startsWith('arn:')
              ? ref
              : `arn:aws:ecs:${this.ctx.region}:${this.ctx.accountId}:service/${clusterName}/${ref}`,
            reason: 'MISSING',
          });
        }
      }
      return { services, failures };
    },
    UpdateService: (input: UpdateServiceCommandInput): Result<UpdateServiceCommandOutput> => {
      const clusterName = this.cluster(input.cluster);
      const service = this.serviceRecord(clusterName, input.service ?? '');
      const t = this.ctx.clock.now();
      const config = input.deploymentConfiguration;
      if (config?.minimumHealthyPercent !== undefined)
        service.minimumHealthyPercent = config.minimumHealthyPercent;
      if (config?.maximumPercent !== undefined) service.maximumPercent = config.maximumPercent;
      if (config?.deploymentCircuitBreaker) {
        service.circuitBreaker = {
          enable: config.deploymentCircuitBreaker.enable ?? false,
          rollback: config.deploymentCircuitBreaker.rollback ?? false,
        };
      }
      if (input.desiredCount !== undefined) {
        if (input.desiredCount < 0)
          throw awsError(InvalidParameterException, 'Desired count must be a non-negative integer.');
        if (input.desiredCount !== service.desiredCount) service.steady = false;
        service.desiredCount = input.desiredCount;
        for (const d of service.deployments) if (d.status === 'PRIMARY') d.desiredCount = input.desiredCount;
      }
      const key = input.taskDefinition
        ? this.taskDefinitionKey(input.taskDefinition)
        : service.taskDefinition;
      if (input.taskDefinition && this.state.taskDefinitions[key]?.definition.status !== 'ACTIVE') {
        throw awsError(InvalidParameterException, 'TaskDefinition is inactive');
      }
      if (key !== service.taskDefinition || input.forceNewDeployment) this.startDeployment(service, key, t);
      return { service: this.out.service(service) };
    },
    RegisterContainerInstance: (
      input: RegisterContainerInstanceCommandInput,
    ): Result<RegisterContainerInstanceCommandOutput> => {
      const clusterName = this.cluster(input.cluster);
      let identity: { instanceId?: string; instanceType?: string; availabilityZone?: string } = {};
      try {
        identity = JSON.parse(input.instanceIdentityDocument ?? '{}');
      } catch {
        throw awsError(ClientException, 'instanceIdentityDocument is not valid JSON.');
      }
      if (!identity.instanceId)
        throw awsError(ClientException, 'instanceIdentityDocument must name the instanceId.');
      const arn = this.registerInstance(
        clusterName,
        identity.instanceId,
        identity.instanceType ?? 't3.micro',
        identity.availabilityZone ?? `${this.ctx.region}a`,
      );
      return { containerInstance: this.out.instance(this.instance(arn)) };
    },
    ListContainerInstances: (
      input: ListContainerInstancesCommandInput,
    ): Result<ListContainerInstancesCommandOutput> => {
      const clusterName = this.cluster(input.cluster);
      const { items, nextToken } = page(
        Object.values(this.state.instances)
          .filter(
            (i) =>
              i.clusterName === clusterName &&
              (input.status ? i.status === input.status : i.status !== 'INACTIVE'),
          )
          .map((i) => i.containerInstanceArn),
        input.maxResults,
        input.nextToken,
      );
      return { containerInstanceArns: items, ...(nextToken && { nextToken }) };
    },
    DescribeContainerInstances: (
      input: DescribeContainerInstancesCommandInput,
    ): Result<DescribeContainerInstancesCommandOutput> => {
      const clusterName = this.cluster(input.cluster);
      const found: ContainerInstance[] = [];
      const failures: { arn: string; reason: string }[] = [];
      for (const ref of input.containerInstances ?? []) {
        const instance = this.findInstance(clusterName, ref);
        if (instance) found.push(this.out.instance(instance));
        else failures.push({ arn: ref, reason: 'MISSING' });
      }
      return { containerInstances: found, failures };
    },
    UpdateContainerInstancesState: (
      input: UpdateContainerInstancesStateCommandInput,
    ): Result<UpdateContainerInstancesStateCommandOutput> => {
      const clusterName = this.cluster(input.cluster);
      if (input.status !== 'ACTIVE' && input.status !== 'DRAINING') {
        throw awsError(
          InvalidParameterException,
          `Container instance status must be ACTIVE or DRAINING, not ${input.status}.`,
        );
      }
      const found: ContainerInstance[] = [];
      const failures: { arn: string; reason: string }[] = [];
      for (const ref of input.containerInstances ?? []) {
        const instance = this.findInstance(clusterName, ref);
        if (!instance || instance.status === 'INACTIVE') {
          failures.push({ arn: ref, reason: 'MISSING' });
          continue;
        }
        instance.status = input.status;
        found.push(this.out.instance(instance));
      }
      for (const service of Object.values(this.state.services))
        if (service.clusterName === clusterName) service.steady = false;
      return { containerInstances: found, failures };
    },
    ListTasks: (input: ListTasksCommandInput): Result<ListTasksCommandOutput> => {
      const clusterName = this.cluster(input.cluster);
      const instance = input.containerInstance
        ? this.findInstance(clusterName, input.containerInstance)
        : undefined;
      const desired = input.desiredStatus ?? 'RUNNING';
      const arns = Object.values(this.state.tasks)
        .filter(
          (t) =>
            t.clusterName === clusterName &&
            t.desiredStatus === desired &&
            (!input.serviceName ||
              t.serviceName === input.serviceName.slice(input.serviceName.lastIndexOf('/') + 1)) &&
            (!input.containerInstance || t.containerInstanceArn === instance?.containerInstanceArn) &&
            (!input.family || t.taskDefinitionArn.includes(`/${input.family}:`)) &&
            (!input.startedBy || t.deploymentId === input.startedBy),
        )
        // Newest first, so that a page of stopped tasks holds the latest failures.
        .sort((a, b) => b.createdAt - a.createdAt)
        .map((t) => t.taskArn);
      const { items, nextToken } = page(arns, input.maxResults, input.nextToken);
      return { taskArns: items, ...(nextToken && { nextToken }) };
    },
    DescribeTasks: (input: DescribeTasksCommandInput): Result<DescribeTasksCommandOutput> => {
      const clusterName = this.cluster(input.cluster);
      const tasks: Task[] = [];
      const failures: { arn: string; reason: string }[] = [];
      for (const ref of input.tasks ?? []) {
        const task = Object.values(this.state.tasks).find(
          (t) => t.clusterName === clusterName && (t.taskArn === ref || t.taskArn.endsWith(`/${ref}`)),
        );
        if (task) tasks.push(this.out.task(task));
        else failures.push({ arn: ref, reason: 'MISSING' });
      }
      return { tasks, failures };
    },
  };

  // ---- helpers ----

  private startDeployment(service: ServiceRecord, key: string, t: number): DeploymentRecord {
    for (const d of service.deployments) d.status = 'ACTIVE';
    const image =
      this.state.taskDefinitions[key]?.definition.containerDefinitions?.map((c) => c.image ?? '') ?? [];
    const plan = service.plannedDeployments?.shift();
    const failReason =
      plan?.failReason ??
      service.failNext ??
      (image.some((i) => imageTag(i)?.startsWith('fail-')) ? DEFAULT_FAILURE_REASON : undefined);
    delete service.failNext;
    const deployment: DeploymentRecord = {
      id: newDeploymentId(),
      status: 'PRIMARY',
      taskDefinition: key,
      desiredCount: service.desiredCount,
      failedTasks: 0,
      rolloutState: 'IN_PROGRESS',
      rolloutStateReason: 'ECS deployment in progress.',
      createdAt: t,
      updatedAt: t,
      ...(failReason && { failReason }),
      ...(plan?.stopCode && { failStopCode: plan.stopCode }),
      ...(plan?.startSeconds !== undefined && { taskStartMs: plan.startSeconds * 1000 }),
    };
    service.deployments.unshift(deployment);
    service.taskDefinition = key;
    service.steady = false;
    this.scheduler.deploymentEvent(service, deployment, t);
    return deployment;
  }

  private validateTaskDefinition(input: RegisterTaskDefinitionCommandInput): void {
    if (!input.family || !FAMILY.test(input.family)) {
      throw awsError(ClientException, 'Family contains invalid characters or is longer than 255 characters.');
    }
    const containers = input.containerDefinitions ?? [];
    if (containers.length === 0) throw awsError(ClientException, 'Container list cannot be empty.');
    for (const c of containers) {
      if (!c.name) throw awsError(ClientException, 'Container.name should not be null or empty.');
      if (!c.image) throw awsError(ClientException, 'Container.image should not be null or empty.');
      if (!input.memory && c.memory === undefined && c.memoryReservation === undefined) {
        throw awsError(
          ClientException,
          `Invalid setting for container '${c.name}'. At least one of 'memory' or 'memoryReservation' must be specified.`,
        );
      }
    }
  }

  private clusterArn(name: string): string {
    return `arn:aws:ecs:${this.ctx.region}:${this.ctx.accountId}:cluster/${name}`;
  }

  private taskDefinitionArn(key: string): string {
    return `arn:aws:ecs:${this.ctx.region}:${this.ctx.accountId}:task-definition/${key}`;
  }

  private clusterName(ref: string | undefined): string {
    if (!ref) return 'default';
    return ref.startsWith('arn:') ? ref.slice(ref.lastIndexOf('/') + 1) : ref;
  }

  /** The cluster's name; throws ClusterNotFoundException when there is no such cluster. */
  private cluster(ref: string | undefined): string {
    const name = this.clusterName(ref);
    if (!this.state.clusters[name]) throw awsError(ClusterNotFoundException, 'Cluster not found.');
    return name;
  }

  private serviceRecord(clusterName: string, ref: string): ServiceRecord {
    const service = this.state.services[`${clusterName}/${ref.slice(ref.lastIndexOf('/') + 1)}`];
    if (!service) throw awsError(ServiceNotFoundException, 'Service not found.');
    if (!service.deployments.length || !serviceActive(service))
      throw awsError(ServiceNotActiveException, 'Service was not ACTIVE.');
    return service;
  }

  /** ECS places targets in a target group only when a load balancer forwards to it. */
  private checkTargetGroup(targetGroupArn: string | undefined): void {
    const loadBalancers = this.loadBalancersOf(targetGroupArn ?? '');
    // What ECS answers for a target group that does not exist (it cannot tell it from a role without access).
    if (loadBalancers === undefined)
      throw awsError(
        InvalidParameterException,
        'Unable to assume role and validate the specified targetGroupArn. Please verify that the ECS service role being passed has the proper permissions.',
      );
    if (loadBalancers.length === 0) {
      throw awsError(
        InvalidParameterException,
        `The target group with targetGroupArn ${targetGroupArn} does not have an associated load balancer.`,
      );
    }
  }

  /** Deletes the DELETE_IN_PROGRESS revisions no task and no service deployment uses any more. */
  private finishDeletions(): void {
    for (const [key, record] of Object.entries(this.state.taskDefinitions)) {
      if (record.definition.status !== 'DELETE_IN_PROGRESS') continue;
      const arn = this.taskDefinitionArn(key);
      const used =
        Object.values(this.state.tasks).some(
          (t) => t.taskDefinitionArn === arn && t.lastStatus !== 'STOPPED',
        ) ||
        Object.values(this.state.services).some(
          (s) => serviceActive(s) && s.deployments.some((d) => d.taskDefinition === key),
        );
      if (!used) {
        delete this.state.taskDefinitions[key];
        delete this.state.tags[arn];
      }
    }
  }

  /** `family`, `family:revision` or an ARN, to the `family:revision` key of an existing definition. */
  private taskDefinitionKey(ref: string | undefined): string {
    const bare = (ref ?? '').startsWith('arn:')
      ? (ref ?? '').slice((ref ?? '').lastIndexOf('/') + 1)
      : (ref ?? '');
    const [family = '', revision] = bare.split(':');
    let key = bare;
    if (revision === undefined) {
      const latest = Object.values(this.state.taskDefinitions)
        .filter((r) => r.definition.family === family && r.definition.status === 'ACTIVE')
        .sort((a, b) => (b.definition.revision ?? 0) - (a.definition.revision ?? 0))[0];
      key = latest ? `${family}:${latest.definition.revision}` : '';
    }
    if (!this.state.taskDefinitions[key]) {
      throw awsError(ClientException, 'Unable to describe task definition.');
    }
    return key;
  }

  /** The ARN a tagging call means, refusing resources that do not exist. */
  private resourceArn(arn: string | undefined): string {
    const value = arn ?? '';
    const known =
      Object.values(this.state.services).some((s) => s.serviceArn === value) ||
      Object.values(this.state.clusters).some((c) => c.clusterArn === value) ||
      Object.keys(this.state.taskDefinitions).some((k) => this.taskDefinitionArn(k) === value);
    if (!known) throw awsError(InvalidParameterException, `The specified resource ${value} was not found.`);
    return value;
  }

  private instance(arn: string): InstanceRecord {
    const instance = this.state.instances[arn];
    if (!instance) throw awsError(InvalidParameterException, `Container instance ${arn} not found.`);
    return instance;
  }

  private findInstance(clusterName: string, ref: string): InstanceRecord | undefined {
    return Object.values(this.state.instances).find(
      (i) =>
        i.clusterName === clusterName &&
        (i.containerInstanceArn === ref ||
          i.containerInstanceArn.endsWith(`/${ref}`) ||
          i.ec2InstanceId === ref),
    );
  }
}

/** One page of a list (ECS lists return at most 100 by default); the token is the next index. */
function page<T>(
  all: T[],
  maxResults: number | undefined,
  token: string | undefined,
): { items: T[]; nextToken?: string } {
  const start = token ? Number(Buffer.from(token, 'base64url').toString()) || 0 : 0;
  const size = Math.min(Math.max(maxResults ?? 100, 1), 100);
  const items = all.slice(start, start + size);
  const next = start + size;
  return next < all.length
    ? { items, nextToken: Buffer.from(String(next)).toString('base64url') }
    : { items };
}
