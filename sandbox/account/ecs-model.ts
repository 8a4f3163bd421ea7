/**
 * The emulated ECS account's records and the constants of its timing. Times are emulated
 * epoch milliseconds; the records are plain JSON (they are the state file).
 */
import { randomBytes, randomInt } from 'node:crypto';
import type {
  CapacityProviderStrategyItem,
  KeyValuePair,
  LaunchType,
  LoadBalancer,
  PlacementStrategy,
  ServiceRegistry,
  Tag,
  TaskDefinition,
} from '@aws-sdk/client-ecs';

/** How long a task takes from placement to RUNNING (image pull and start), or to failing. */
export const TASK_START_MS = 10_000;
/** How long a stopping task takes to stop (connection draining, SIGTERM). */
export const TASK_STOP_MS = 5_000;
/** A FAILED deployment stays listed this long after it ends, so pollers see its reason. */
export const FAILED_DEPLOYMENT_LINGER_MS = 5 * 60_000;
/** A service reports a placement failure at most this often. */
export const PLACEMENT_EVENT_INTERVAL_MS = 60_000;
/** Stopped tasks stay describable this long (about an hour on AWS). */
export const STOPPED_TASK_RETENTION_MS = 60 * 60_000;
/** The stoppedReason of a task whose container fails to start. */
export const DEFAULT_FAILURE_REASON = 'Essential container in task exited';
/** Service events kept per service (AWS shows the latest 100). */
export const MAX_SERVICE_EVENTS = 100;

export interface TaskDefinitionRecord {
  /** The definition without its dates (JSON keeps numbers, not Dates). */
  definition: Omit<TaskDefinition, 'registeredAt' | 'deregisteredAt' | 'deleteRequestedAt'>;
  registeredAt: number;
  deregisteredAt?: number;
  /** When DeleteTaskDefinitions asked (status DELETE_IN_PROGRESS until no task uses it). */
  deleteRequestedAt?: number;
}

export type RolloutState = 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';

export interface DeploymentRecord {
  id: string;
  status: 'PRIMARY' | 'ACTIVE';
  taskDefinition: string;
  desiredCount: number;
  failedTasks: number;
  rolloutState: RolloutState;
  rolloutStateReason: string;
  createdAt: number;
  updatedAt: number;
  /** When set, this deployment's tasks fail to start with this reason. */
  failReason?: string;
  /** The stopCode of those failed tasks. @default 'EssentialContainerExited' */
  failStopCode?: TaskRecord['stopCode'];
  /** How long its tasks take from placement to RUNNING (or to failing). @default TASK_START_MS */
  taskStartMs?: number;
}

/**
 * What the next deployment of a service does (tests and the fault suite): how long its
 * tasks take to start, and whether they fail and how ECS reports it. An image that takes
 * an hour to pull is a deployment that does not complete within any release's deadline.
 */
export interface DeploymentPlan {
  /** Seconds from placing a task to RUNNING (or to its failure). @default TASK_START_MS / 1000 */
  readonly startSeconds?: number;
  /** The tasks stop before running, with this `stoppedReason` (`CannotPullContainerError: …`). */
  readonly failReason?: string;
  /** The `stopCode` of those tasks. @default 'EssentialContainerExited' */
  readonly stopCode?: TaskRecord['stopCode'];
}

export interface ServiceRecord {
  serviceName: string;
  serviceArn: string;
  clusterName: string;
  taskDefinition: string;
  desiredCount: number;
  createdAt: number;
  minimumHealthyPercent: number;
  maximumPercent: number;
  circuitBreaker: { enable: boolean; rollback: boolean };
  /** Newest first: deployments[0] is the PRIMARY one. */
  deployments: DeploymentRecord[];
  /** Newest first. */
  events: { id: string; createdAt: number; message: string }[];
  /** The task definition of the last deployment that completed: where a rollback goes. */
  lastCompletedDeployment?: { id: string; taskDefinition: string };
  /** `failNextDeployment`: the next deployment's tasks fail with this reason. */
  failNext?: string;
  /** `planDeployments`: what the next deployments do, in order (one plan per deployment). */
  plannedDeployments?: DeploymentPlan[];
  lastPlacementFailureAt?: number;
  steady: boolean;
  /**
   * ACTIVE until DeleteService; DRAINING while its tasks stop; INACTIVE once they have (still
   * described, as ECS does). @default 'ACTIVE' (records written before services could be deleted)
   */
  status?: 'ACTIVE' | 'DRAINING' | 'INACTIVE';
  /** The CreateService `clientToken`: the same request again answers the same service. */
  clientToken?: string;
  /** How it is placed and where its tasks register, as CreateService gave them. */
  launchType?: LaunchType;
  capacityProviderStrategy?: CapacityProviderStrategyItem[];
  placementStrategy?: PlacementStrategy[];
  serviceRegistries?: ServiceRegistry[];
  loadBalancers?: LoadBalancer[];
  healthCheckGracePeriodSeconds?: number;
}

/** A service ECS still runs (a deleted one is DRAINING, then INACTIVE). */
export function serviceActive(service: Pick<ServiceRecord, 'status'>): boolean {
  return (service.status ?? 'ACTIVE') === 'ACTIVE';
}

export interface InstanceRecord {
  containerInstanceArn: string;
  ec2InstanceId: string;
  clusterName: string;
  status: 'ACTIVE' | 'DRAINING' | 'INACTIVE';
  instanceType: string;
  availabilityZone: string;
  cpu: number;
  memory: number;
  registeredAt: number;
  attributes?: KeyValuePair[];
}

export interface TaskRecord {
  taskArn: string;
  clusterName: string;
  serviceName?: string;
  deploymentId?: string;
  taskDefinitionArn: string;
  containerInstanceArn: string;
  cpu: number;
  memory: number;
  lastStatus: 'PENDING' | 'RUNNING' | 'STOPPED';
  desiredStatus: 'RUNNING' | 'STOPPED';
  createdAt: number;
  /** When a PENDING task becomes RUNNING (or fails, when failReason is set). */
  startAt: number;
  startedAt?: number;
  /** When a task whose desired status is STOPPED stops. */
  stopAt?: number;
  stoppedAt?: number;
  stoppingAt?: number;
  stoppedReason?: string;
  stopCode?:
    | 'EssentialContainerExited'
    | 'ServiceSchedulerInitiated'
    | 'TerminationNotice'
    | 'TaskFailedToStart';
  failReason?: string;
  /** The stopCode when it fails (its deployment's plan). */
  failStopCode?: TaskRecord['stopCode'];
  /**
   * Set when the sandbox runs the task as a real process (`sandbox/tasks/`): its health comes
   * from real checks and it stops when its process exits. Unset: a record (RUNNING is healthy).
   */
  supervised?: boolean;
  /** The container health check's verdict, as ECS reports it (supervised tasks). */
  healthStatus?: 'UNKNOWN' | 'HEALTHY' | 'UNHEALTHY';
  /** The essential container's exit code, once its process exited. */
  exitCode?: number;
}

/** How long ECS waits after SIGTERM before SIGKILL when the container sets no stopTimeout. */
export const DEFAULT_STOP_TIMEOUT_MS = 30_000;
/** The stoppedReason of a task whose container health check failed (ECS's words). */
export const HEALTH_CHECK_FAILURE_REASON = 'Task failed container health checks';

/** A RUNNING task counts as healthy: a record always, a real process once its checks passed. */
export function taskHealthy(task: TaskRecord): boolean {
  return task.lastStatus === 'RUNNING' && (!task.supervised || task.healthStatus === 'HEALTHY');
}

export interface EcsState {
  clusters: Record<string, { clusterArn: string; createdAt: number }>;
  /** Latest revision number of each family. */
  families: Record<string, number>;
  /** Keyed `family:revision`. */
  taskDefinitions: Record<string, TaskDefinitionRecord>;
  /** Keyed `cluster/service`. */
  services: Record<string, ServiceRecord>;
  /** Keyed by container instance ARN. */
  instances: Record<string, InstanceRecord>;
  /** Keyed by task ARN. */
  tasks: Record<string, TaskRecord>;
  /** Tags by resource ARN. */
  tags: Record<string, Tag[]>;
}

export const emptyEcsState = (): EcsState => ({
  clusters: {},
  families: {},
  taskDefinitions: {},
  services: {},
  instances: {},
  tasks: {},
  tags: {},
});

/** `ecs-svc/` and 19 digits, as ECS names deployments. */
export function newDeploymentId(): string {
  let digits = String(randomInt(1, 10));
  while (digits.length < 19) digits += String(randomInt(0, 10));
  return `ecs-svc/${digits}`;
}

export const newResourceId = (): string => randomBytes(16).toString('hex');

/** What an instance type registers with ECS: one table, shared with the scaling decisions. */
export { instanceResources } from '#shared/scaling/capacity.ts';

/** What a task reserves on its instance: task-level cpu/memory, else the sum of its containers'. */
export function taskResources(definition: TaskDefinitionRecord['definition']): {
  cpu: number;
  memory: number;
} {
  const containers = definition.containerDefinitions ?? [];
  const cpu = Number(definition.cpu) || containers.reduce((sum, c) => sum + (c.cpu ?? 0), 0);
  const memory =
    Number(definition.memory) ||
    containers.reduce((sum, c) => sum + (c.memoryReservation ?? c.memory ?? 0), 0);
  return { cpu, memory };
}

/**
 * The circuit breaker's failure threshold: half the desired count, at least 3 and at most
 * 200 (as documented for the ECS deployment circuit breaker).
 */
export function circuitBreakerThreshold(desiredCount: number): number {
  return Math.min(200, Math.max(3, Math.ceil(desiredCount * 0.5)));
}

/** The tag of an image reference (`repo:tag`, `registry:port/repo:tag`), or undefined. */
export function imageTag(image: string): string | undefined {
  const name = image.slice(image.lastIndexOf('/') + 1);
  const at = name.indexOf('@');
  const bare = at >= 0 ? name.slice(0, at) : name;
  const colon = bare.lastIndexOf(':');
  return colon >= 0 ? bare.slice(colon + 1) : undefined;
}
