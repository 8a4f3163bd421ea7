/**
 * Judging one ECS deployment, pure: the verdict comes from THAT deployment's
 * `rolloutState` and from what the circuit breaker did, never from the "services stable"
 * waiter (which reports success once the service is steady again, also after the circuit
 * breaker rolled a failed deployment back).
 */
import type { DeploymentError } from './errors.ts';

/** The parts of an ECS deployment the verdict reads (structurally the SDK's `Deployment`). */
export interface DeploymentView {
  readonly id?: string;
  readonly status?: string;
  readonly taskDefinition?: string;
  readonly rolloutState?: string;
  readonly rolloutStateReason?: string;
  readonly desiredCount?: number;
  readonly runningCount?: number;
  readonly pendingCount?: number;
  readonly failedTasks?: number;
}

export interface ServiceView {
  readonly deployments?: readonly DeploymentView[];
}

/** Who replaced a failed deployment: the circuit breaker's rollback, or another update of the service. */
export interface Replacement {
  readonly deploymentId: string;
  readonly taskDefinitionArn: string;
  readonly byCircuitBreaker: boolean;
}

export type Verdict =
  | { readonly state: 'IN_PROGRESS'; readonly progress: string }
  | { readonly state: 'COMPLETED' }
  | {
      readonly state: 'FAILED';
      readonly reason: string;
      /** Set when the service already moved on (circuit-breaker rollback): do not roll back again. */
      readonly replacedBy?: Replacement;
    };

const CIRCUIT_BREAKER_ROLLBACK = /circuit breaker.*roll(ing)? ?back/i;

function replacement(primary: DeploymentView | undefined): Replacement | undefined {
  if (!primary?.id || !primary.taskDefinition) return undefined;
  return {
    deploymentId: primary.id,
    taskDefinitionArn: primary.taskDefinition,
    byCircuitBreaker: CIRCUIT_BREAKER_ROLLBACK.test(primary.rolloutStateReason ?? ''),
  };
}

/**
 * The state of deployment `deploymentId` of `service`.
 * - its `rolloutState` COMPLETED: completed;
 * - FAILED: failed; when another deployment is PRIMARY now (the circuit breaker's rollback),
 *   the failure carries it as `replacedBy`;
 * - IN_PROGRESS while another deployment became PRIMARY, or no longer listed: replaced
 *   (failed, not ours to roll back);
 * - otherwise in progress.
 */
export function judgeDeployment(service: ServiceView, deploymentId: string): Verdict {
  const deployments = service.deployments ?? [];
  const ours = deployments.find((d) => d.id === deploymentId);
  const primary = deployments.find((d) => d.status === 'PRIMARY');
  const other = primary && primary.id !== deploymentId ? replacement(primary) : undefined;
  if (!ours) {
    return {
      state: 'FAILED',
      reason: `deployment ${deploymentId} is no longer listed by the service${other ? `; deployment ${other.deploymentId} replaced it` : ''}`,
      ...(other ? { replacedBy: other } : {}),
    };
  }
  if (ours.rolloutState === 'COMPLETED') return { state: 'COMPLETED' };
  // ECS sets no rolloutState without the rolling-update circuit breaker: steady means done.
  if (
    ours.rolloutState === undefined &&
    deployments.length === 1 &&
    ours.status === 'PRIMARY' &&
    (ours.runningCount ?? 0) === (ours.desiredCount ?? -1) &&
    (ours.pendingCount ?? 0) === 0
  )
    return { state: 'COMPLETED' };
  if (ours.rolloutState === 'FAILED') {
    return {
      state: 'FAILED',
      reason: ours.rolloutStateReason || 'ECS marked the deployment FAILED',
      // Only ECS marks a deployment FAILED; a different PRIMARY then is its rollback, even
      // when that rollback already completed and its reason no longer says so.
      ...(other ? { replacedBy: { ...other, byCircuitBreaker: true } } : {}),
    };
  }
  if (other) {
    return {
      state: 'FAILED',
      reason: other.byCircuitBreaker
        ? `the ECS circuit breaker replaced deployment ${deploymentId} (${primary?.rolloutStateReason})`
        : `deployment ${other.deploymentId} of another update replaced deployment ${deploymentId}`,
      replacedBy: other,
    };
  }
  return {
    state: 'IN_PROGRESS',
    progress: `${ours.runningCount ?? 0} of ${ours.desiredCount ?? 0} tasks running, ${ours.failedTasks ?? 0} failed`,
  };
}

/** A stopped task of the deployment (structurally the SDK's `Task`). */
export interface StoppedTaskView {
  readonly stoppedReason?: string;
  readonly stopCode?: string;
  readonly containers?: readonly {
    readonly name?: string;
    readonly reason?: string;
    readonly exitCode?: number;
  }[];
}

export interface FailureEvidence {
  readonly timedOut: boolean;
  readonly timeoutMinutes?: number;
  /** The deployment's `rolloutStateReason` or the verdict's reason. */
  readonly reason?: string;
  readonly stoppedTasks?: readonly StoppedTaskView[];
  /** Service event messages since the deployment started, newest first. */
  readonly events?: readonly string[];
  /** The stage's container health check, described (`describeHealthCheck`): named when tasks fail it. */
  readonly healthCheck?: string;
  /** The stage's deployment alarm (the front door's 5xx rate): named when it fired. */
  readonly alarmName?: string;
}

export interface Classification {
  readonly error: Exclude<DeploymentError, 'RollbackFailed'>;
  /** One clause for the operator: what failed and the evidence. */
  readonly reason: string;
}

const HEALTH_CHECK = /health ?check/i;
/** ECS's words when a deployment alarm failed the rollout. */
const ALARM = /\balarms?\b/i;
const FAILED_TO_START =
  /CannotPullContainer|ResourceInitializationError|CannotStartContainer|CannotCreateContainer|failed to start|unable to place|Essential container in task exited|OutOfMemory|exit code/i;

function distinct(values: readonly (string | undefined)[], max: number): string[] {
  return [...new Set(values.filter((v): v is string => !!v && v.trim() !== ''))].slice(0, max);
}

/**
 * Names what failed from the evidence: health checks (container or load balancer), the
 * deployment alarm (the front door's 5xx rate, during the rollout or its bake), tasks that did not start (image pull, placement, a crash at start), a timeout, or a
 * deployment failure without more detail. Health checks win over start failures: a task
 * that failed its health check did start.
 */
export function classifyFailure(evidence: FailureEvidence): Classification {
  const taskReasons = (evidence.stoppedTasks ?? []).flatMap((t) => [
    t.stoppedReason,
    // A container's reason often repeats the task's: say it once.
    ...(t.containers ?? []).map((c) =>
      c.reason && c.reason !== t.stoppedReason
        ? `${c.name}: ${c.reason}`
        : c.exitCode
          ? `${c.name} exited with code ${c.exitCode}`
          : undefined,
    ),
  ]);
  const stoppedFailedToStart = (evidence.stoppedTasks ?? []).some((t) => t.stopCode === 'TaskFailedToStart');
  // Most specific first: what the tasks say, then the service events, then the rollout reason.
  const all = [...taskReasons, ...(evidence.events ?? []), evidence.reason];
  const health = distinct(
    all.filter((m) => m && HEALTH_CHECK.test(m)),
    2,
  );
  const start = distinct(
    all.filter((m) => m && FAILED_TO_START.test(m)),
    2,
  );
  const alarm = distinct(
    all.filter((m) => m && (ALARM.test(m) || (evidence.alarmName && m.includes(evidence.alarmName)))),
    2,
  );
  let detected: Classification | undefined;
  if (health.length > 0)
    detected = {
      error: 'HealthCheckFailed',
      reason: `tasks failed their health checks (${health.join('; ')})${evidence.healthCheck ? `; the ${evidence.healthCheck}` : ''}`,
    };
  else if (alarm.length > 0)
    detected = {
      error: 'ErrorRateAlarm',
      reason: `${evidence.alarmName ? `alarm ${evidence.alarmName}` : 'a deployment alarm'} fired during the rollout or its bake window and ECS rolled the service back (${alarm.join('; ')})`,
    };
  else if (start.length > 0 || stoppedFailedToStart)
    detected = {
      error: 'TaskFailedToStart',
      reason: `tasks failed to start (${(start.length > 0 ? start : distinct(taskReasons, 2)).join('; ')})`,
    };
  if (evidence.timedOut) {
    const limit = evidence.timeoutMinutes ? `within ${evidence.timeoutMinutes} minutes` : 'in time';
    return {
      error: 'DeploymentTimedOut',
      reason: `the deployment did not complete ${limit}${detected ? `; ${detected.reason}` : evidence.reason ? ` (${evidence.reason})` : ''}`,
    };
  }
  if (detected) return detected;
  const details = distinct([evidence.reason, ...taskReasons], 2);
  return {
    error: 'DeploymentFailed',
    reason: `the deployment failed${details.length > 0 ? ` (${details.join('; ')})` : ''}`,
  };
}

/** First poll after an update: a rolling update takes at least this long to start a task and check it. */
export const FIRST_WAIT_SECONDS = 15;
/** Each wait is this fraction of the time elapsed so far: waits grow geometrically (x1.5 per poll). */
export const WAIT_GROWTH = 0.5;

/**
 * Seconds until the next look at a deployment: half the time it has been rolling so far
 * (at least {@link FIRST_WAIT_SECONDS}), never past the deadline. The elapsed time is
 * multiplied by 1.5 at each poll, so a rollout of T seconds takes about
 * log1.5(T / 15) polls: the state transitions grow with the logarithm of the rollout time,
 * not linearly, and a completion is seen at most half its duration late.
 */
export function nextWaitSeconds(elapsedSeconds: number, remainingSeconds: number): number {
  const wanted = Math.max(FIRST_WAIT_SECONDS, Math.ceil(elapsedSeconds * WAIT_GROWTH));
  return Math.max(1, Math.min(wanted, Math.ceil(remainingSeconds)));
}

/**
 * The PRIMARY deployment of a service and the last one known good: the PRIMARY one when it
 * completed, else the completed deployment it is replacing (a release interrupted mid-way).
 * Undefined when the service has no PRIMARY deployment with an id and a task definition.
 */
export function runningDeployments(
  deployments: readonly DeploymentView[],
): { primary: DeploymentView & { id: string; taskDefinition: string }; lastGoodArn: string } | undefined {
  const primary = deployments.find((d) => d.status === 'PRIMARY');
  if (!primary?.id || !primary.taskDefinition) return undefined;
  const lastGood =
    primary.rolloutState === 'COMPLETED'
      ? primary
      : (deployments.find((d) => d.id !== primary.id && d.rolloutState === 'COMPLETED') ?? primary);
  return {
    primary: { ...primary, id: primary.id, taskDefinition: primary.taskDefinition },
    lastGoodArn: lastGood.taskDefinition ?? primary.taskDefinition,
  };
}
