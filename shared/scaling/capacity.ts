/**
 * What a stage's cluster can hold: tasks per instance (from the task size and what the
 * instance type registers with ECS), the room a rolling deploy needs, the instances a task
 * count needs and the most tasks the cluster can hold at its maximum. One place for the
 * capacity rule: the scale steps, the validation warnings, the sandbox and the benchmark use it.
 */
import type { AppConfig, StackpilotConfig, StageConfig } from '../config.ts';
import { allStages } from '../config.ts';

export interface Resources {
  /** CPU units (1024 = one vCPU). */
  readonly cpu: number;
  /** MiB. */
  readonly memory: number;
}

/**
 * CPU units and memory (MiB) an instance type registers with ECS: the vCPUs times 1024,
 * and the memory minus what the OS and the agent keep (as the ECS-optimized AMI reports).
 */
const INSTANCE_RESOURCES: Readonly<Record<string, Resources>> = {
  't3.nano': { cpu: 2048, memory: 460 },
  't3.micro': { cpu: 2048, memory: 943 },
  't3.small': { cpu: 2048, memory: 1939 },
  't3.medium': { cpu: 2048, memory: 3917 },
  't3.large': { cpu: 2048, memory: 7846 },
  't3.xlarge': { cpu: 4096, memory: 15_822 },
  'm5.large': { cpu: 2048, memory: 7687 },
  'm5.xlarge': { cpu: 4096, memory: 15_577 },
  'c5.large': { cpu: 2048, memory: 3711 },
};

/** Resources of a known instance type; undefined for a type this table does not list. */
export function knownInstanceResources(instanceType: string): Resources | undefined {
  return INSTANCE_RESOURCES[instanceType];
}

/** Unknown types get the resources of a `.large` size: two vCPUs, 7.5 GiB. */
export function instanceResources(instanceType: string): Resources {
  return knownInstanceResources(instanceType) ?? { cpu: 2048, memory: 7680 };
}

/** Whole tasks of `task` size one instance of `instance` size holds (both CPU and memory must fit). */
export function tasksPerInstance(task: Resources, instance: Resources): number {
  return Math.max(
    0,
    Math.min(Math.floor(instance.cpu / task.cpu), Math.floor(instance.memory / task.memory)),
  );
}

/**
 * Extra task slots a rolling deploy of `tasks` tasks needs. ECS rounds the minimum healthy
 * count up: when it equals the desired count, no old task may stop before a new one runs,
 * so one free slot is needed; otherwise ECS stops old tasks first and needs no extra room.
 */
export function deployHeadroom(tasks: number, deployment: StageConfig['deployment']): number {
  if (tasks === 0) return 0;
  const minHealthy = Math.ceil((tasks * deployment.minHealthyPercent) / 100);
  const maxRunning = Math.floor((tasks * deployment.maxPercent) / 100);
  return minHealthy >= tasks && maxRunning > tasks ? 1 : 0;
}

/** The capacity facts of one stage. */
export interface StageCapacity {
  readonly task: Resources;
  readonly instance: Resources;
  readonly perInstance: number;
  /** Instances that hold `tasks` tasks plus the room of a rolling deploy (at least one for a task). */
  instancesFor(tasks: number): number;
  /** The most tasks `instances` instances hold with the room of a rolling deploy left free. */
  tasksThatFit(instances: number): number;
}

export function stageCapacity(
  appConfig: Pick<AppConfig, 'cpu' | 'memory'>,
  stage: StageConfig,
): StageCapacity {
  const task = { cpu: appConfig.cpu, memory: appConfig.memory };
  const instance = instanceResources(stage.instanceType);
  const perInstance = tasksPerInstance(task, instance);
  const instancesFor = (tasks: number) =>
    perInstance === 0
      ? Number.POSITIVE_INFINITY
      : Math.ceil((tasks + deployHeadroom(tasks, stage.deployment)) / perInstance);
  const tasksThatFit = (instances: number) => {
    let n = 0;
    while (instancesFor(n + 1) <= instances) n += 1;
    return n;
  };
  return { task, instance, perInstance, instancesFor, tasksThatFit };
}

/**
 * Warnings (not errors: AWS would accept the stage) where the service's bounds and the
 * cluster's disagree: `tasks.max` tasks (with a rolling deploy's room) do not fit on
 * `instances.max` instances, or `tasks.min` tasks need more than `instances.min` instances.
 */
export function capacityWarnings(config: StackpilotConfig): string[] {
  const warnings: string[] = [];
  for (const ref of allStages(config)) {
    const s = ref.stageConfig;
    const where = `apps.${ref.app}.stages.${ref.stage}`;
    const known = knownInstanceResources(s.instanceType) !== undefined;
    const capacity = stageCapacity(ref.appConfig, s);
    const size = `${capacity.task.cpu} CPU units / ${capacity.task.memory} MiB`;
    if (capacity.perInstance === 0) {
      warnings.push(
        `${where}: a task of ${size} does not fit on a ${s.instanceType} (${capacity.instance.cpu} CPU units / ${capacity.instance.memory} MiB for tasks)`,
      );
      continue;
    }
    const fit = capacity.tasksThatFit(s.instances.max);
    const assumed = known
      ? ''
      : ` (${s.instanceType} is not in stackpilot's table: assumed ${capacity.instance.cpu} CPU units / ${capacity.instance.memory} MiB)`;
    if (fit < s.tasks.max)
      warnings.push(
        `${where}: tasks.max is ${s.tasks.max} but ${s.instances.max} ${s.instanceType} instance(s) hold ${fit} task(s) of ${size} with room for a rolling deploy (${capacity.perInstance} per instance)${assumed}; scaling stops at ${fit}`,
      );
    const need = capacity.instancesFor(s.tasks.min);
    if (need > s.instances.min && need <= s.instances.max)
      warnings.push(
        `${where}: tasks.min ${s.tasks.min} with room for a rolling deploy needs ${need} ${s.instanceType} instance(s), instances.min is ${s.instances.min}; a deploy adds an instance${assumed}`,
      );
  }
  return warnings;
}

/** A stage with its app's task size: what the capacity rule needs. */
export interface CapacityRef {
  readonly appConfig: Pick<AppConfig, 'cpu' | 'memory'>;
  readonly stageConfig: StageConfig;
}

/**
 * The service's task bounds as scaling applies them: `tasks.max` lowered to what
 * `instances.max` instances hold with a rolling deploy's room, so that scaling never sets a
 * desired count the cluster cannot hold at its maximum (never below `tasks.min`).
 */
export function serviceTaskBounds(ref: CapacityRef): { min: number; max: number } {
  const { tasks, instances } = ref.stageConfig;
  const fit = stageCapacity(ref.appConfig, ref.stageConfig).tasksThatFit(instances.max);
  return { min: tasks.min, max: Math.max(tasks.min, Math.min(tasks.max, fit)) };
}

/**
 * Instances the cluster needs for `tasks` tasks of the service and a rolling deploy, within
 * `instances.min`..`instances.max`. The `reservation` policy scales the cluster to this when
 * the service scales out, and never drains below it.
 */
export function instancesNeeded(ref: CapacityRef, tasks: number): number {
  const { instances } = ref.stageConfig;
  const need = stageCapacity(ref.appConfig, ref.stageConfig).instancesFor(tasks);
  return Math.min(instances.max, Math.max(instances.min, need));
}

/**
 * An instance the group launched has not registered with the cluster yet (it boots for
 * 2-3 minutes): ECS will place the waiting tasks there, so a placement failure now is no
 * reason to add another one.
 */
export function instancesOnTheirWay(groupDesired: number, registeredInstances: number): number {
  return Math.max(0, groupDesired - registeredInstances);
}
