/**
 * "Check Deployment" and "Check Rollback" of the `release` state machine: one look at a
 * deployment, judged by its own `rolloutState` and the circuit breaker. Returns the
 * tracker with the state, the next wait (growing geometrically, never past the deadline)
 * and, when it failed or timed out, what failed, from the stopped tasks and the service
 * events.
 */
import * as z from 'zod';
import { findStage, runtimeConfig } from '#shared/config.ts';
import { parseInput } from '#shared/errors.ts';
import { describeHealthCheck } from '#shared/health.ts';
import { stageNames } from '#shared/naming.ts';
import { instrumentTask, logger } from '#shared/powertools.ts';
import { classifyFailure, judgeDeployment, nextWaitSeconds } from '#shared/release/deployment.ts';
import { describeService, stoppedTasksOf } from '#shared/release/ecs.ts';
import { finalOutcome, preparedReleaseSchema, type Tracker, trackerSchema } from '#shared/release/model.ts';
import { parseTaskDefinitionArn } from '#shared/release/task-definition.ts';
import { timing } from '#shared/release/tracker.ts';

const eventSchema = z.object({ release: preparedReleaseSchema, deployment: trackerSchema });

export interface CheckOptions {
  /** Clock, in milliseconds (tests move it). */
  readonly now?: () => number;
}

/** Check Deployment / Check Rollback: the tracker after one more look. */
export async function checkDeployment(event: unknown, options: CheckOptions = {}): Promise<Tracker> {
  const { release, deployment } = parseInput(eventSchema, event, 'Check Deployment input');
  const service = await describeService(release.cluster, release.service);
  const now = (options.now ?? Date.now)();
  const verdict = judgeDeployment(service, deployment.deploymentId);
  const { elapsed, remaining } = timing(deployment, now);
  const polls = deployment.polls + 1;
  let next: Tracker;
  if (verdict.state === 'COMPLETED') {
    next = { ...deployment, polls, state: 'COMPLETED' };
  } else if (verdict.state === 'IN_PROGRESS' && remaining > 0) {
    next = {
      ...deployment,
      polls,
      waitSeconds: nextWaitSeconds(elapsed, remaining),
      progress: verdict.progress,
    };
  } else {
    // Failed or out of time: gather why before anything moves on.
    const since = Date.parse(deployment.startedAt);
    const stoppedTasks = await stoppedTasksOf(release.cluster, deployment.deploymentId);
    const events = (service.events ?? [])
      .filter((e) => (e.createdAt?.getTime() ?? 0) >= since && e.message)
      .map((e) => e.message as string);
    const timedOut = verdict.state === 'IN_PROGRESS';
    const stage = findStage(runtimeConfig(), release.app, release.stage);
    const { containerPort, healthCheck, healthCheckPath } = stage?.appConfig ?? {};
    const classification = classifyFailure({
      ...(healthCheck && containerPort && healthCheckPath
        ? { healthCheck: describeHealthCheck(healthCheck, containerPort, healthCheckPath) }
        : {}),
      alarmName: stageNames(release.app, release.stage).errorRateAlarm,
      timedOut,
      timeoutMinutes: Math.round((Date.parse(deployment.deadline) - since) / 60_000),
      reason: verdict.state === 'FAILED' ? verdict.reason : `${deployment.deploymentId}: ${verdict.progress}`,
      stoppedTasks,
      events,
    });
    const replacedBy = verdict.state === 'FAILED' ? verdict.replacedBy : undefined;
    next = {
      ...deployment,
      polls,
      state: 'FAILED',
      failure: {
        ...classification,
        ...(replacedBy
          ? {
              replacedBy: {
                ...replacedBy,
                revision: parseTaskDefinitionArn(replacedBy.taskDefinitionArn).revision,
              },
            }
          : {}),
      },
    };
  }
  if (next.kind === 'rollback' && next.state !== 'IN_PROGRESS')
    next = { ...next, outcome: finalOutcome(next) };
  logger.info('deployment checked', {
    kind: next.kind,
    deploymentId: next.deploymentId,
    state: next.state,
    polls: next.polls,
    waitSeconds: next.waitSeconds,
    failure: next.failure,
  });
  return next;
}

export const handler = instrumentTask((event: unknown) => checkDeployment(event));
