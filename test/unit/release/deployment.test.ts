import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  classifyFailure,
  FIRST_WAIT_SECONDS,
  judgeDeployment,
  nextWaitSeconds,
} from '#shared/release/deployment.ts';

const OURS = 'ecs-svc/3000000000000000001';
const OLD = 'ecs-svc/1000000000000000001';
const td = (revision: number) =>
  `arn:aws:ecs:us-east-1:123456789012:task-definition/stackpilot-starter-dev:${revision}`;

describe('deployment verdict', () => {
  it('is in progress while THIS deployment rolls, whatever the older one says', () => {
    const verdict = judgeDeployment(
      {
        deployments: [
          {
            id: OURS,
            status: 'PRIMARY',
            taskDefinition: td(13),
            rolloutState: 'IN_PROGRESS',
            desiredCount: 2,
            runningCount: 1,
          },
          { id: OLD, status: 'ACTIVE', taskDefinition: td(12), rolloutState: 'COMPLETED' },
        ],
      },
      OURS,
    );
    expect(verdict).toEqual({ state: 'IN_PROGRESS', progress: '1 of 2 tasks running, 0 failed' });
  });

  it('completes on its rolloutState COMPLETED', () => {
    expect(
      judgeDeployment({ deployments: [{ id: OURS, status: 'PRIMARY', rolloutState: 'COMPLETED' }] }, OURS),
    ).toEqual({
      state: 'COMPLETED',
    });
  });

  it('without a rolloutState (no circuit breaker), completes once the only deployment is steady', () => {
    const deployment = {
      id: OURS,
      status: 'PRIMARY',
      taskDefinition: td(13),
      desiredCount: 2,
      pendingCount: 0,
    };
    expect(judgeDeployment({ deployments: [{ ...deployment, runningCount: 2 }] }, OURS).state).toBe(
      'COMPLETED',
    );
    expect(judgeDeployment({ deployments: [{ ...deployment, runningCount: 1 }] }, OURS).state).toBe(
      'IN_PROGRESS',
    );
  });

  it('fails after a circuit-breaker rollback although the service is steady again (the "services stable" trap)', () => {
    // What the services-stable waiter sees as success: one PRIMARY deployment, all tasks running.
    const verdict = judgeDeployment(
      {
        deployments: [
          {
            id: 'ecs-svc/2',
            status: 'PRIMARY',
            taskDefinition: td(12),
            rolloutState: 'COMPLETED',
            rolloutStateReason: `ECS deployment circuit breaker: rolling back to deploymentId ${OLD}.`,
            desiredCount: 2,
            runningCount: 2,
          },
          {
            id: OURS,
            status: 'ACTIVE',
            taskDefinition: td(13),
            rolloutState: 'FAILED',
            rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.',
          },
        ],
      },
      OURS,
    );
    expect(verdict).toEqual({
      state: 'FAILED',
      reason: 'ECS deployment circuit breaker: tasks failed to start.',
      replacedBy: { deploymentId: 'ecs-svc/2', taskDefinitionArn: td(12), byCircuitBreaker: true },
    });
  });

  it('recognises the circuit breaker by the FAILED deployment once its rollback completed', () => {
    const verdict = judgeDeployment(
      {
        deployments: [
          {
            id: 'ecs-svc/2',
            status: 'PRIMARY',
            taskDefinition: td(12),
            rolloutState: 'COMPLETED',
            rolloutStateReason: 'ECS deployment ecs-svc/2 completed.',
          },
          { id: OURS, status: 'ACTIVE', taskDefinition: td(13), rolloutState: 'FAILED' },
        ],
      },
      OURS,
    );
    expect(verdict).toMatchObject({
      state: 'FAILED',
      replacedBy: { deploymentId: 'ecs-svc/2', byCircuitBreaker: true },
    });
  });

  it('fails without a replacement when the circuit breaker does not roll back', () => {
    const verdict = judgeDeployment(
      { deployments: [{ id: OURS, status: 'PRIMARY', taskDefinition: td(13), rolloutState: 'FAILED' }] },
      OURS,
    );
    expect(verdict).toEqual({ state: 'FAILED', reason: 'ECS marked the deployment FAILED' });
  });

  it('fails as replaced when the deployment is gone after the rollback finished', () => {
    const verdict = judgeDeployment(
      {
        deployments: [
          {
            id: 'ecs-svc/2',
            status: 'PRIMARY',
            taskDefinition: td(12),
            rolloutState: 'COMPLETED',
            rolloutStateReason: 'ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1.',
          },
        ],
      },
      OURS,
    );
    expect(verdict).toMatchObject({
      state: 'FAILED',
      replacedBy: { deploymentId: 'ecs-svc/2', byCircuitBreaker: true },
    });
  });

  it('fails as replaced by another update, not a circuit breaker, when someone else updated the service', () => {
    const verdict = judgeDeployment(
      {
        deployments: [
          { id: 'ecs-svc/4', status: 'PRIMARY', taskDefinition: td(14), rolloutState: 'IN_PROGRESS' },
          { id: OURS, status: 'ACTIVE', taskDefinition: td(13), rolloutState: 'IN_PROGRESS' },
        ],
      },
      OURS,
    );
    expect(verdict).toMatchObject({
      state: 'FAILED',
      reason: `deployment ecs-svc/4 of another update replaced deployment ${OURS}`,
      replacedBy: { byCircuitBreaker: false },
    });
  });
});

describe('failure classification', () => {
  it('names health checks from an ELB stop reason', () => {
    expect(
      classifyFailure({
        timedOut: false,
        reason: 'ECS deployment circuit breaker: tasks failed to start.',
        stoppedTasks: [
          {
            stoppedReason:
              'Task failed ELB health checks in (target-group arn:aws:elasticloadbalancing:…/starter/abc)',
          },
        ],
      }),
    ).toEqual({
      error: 'HealthCheckFailed',
      reason:
        'tasks failed their health checks (Task failed ELB health checks in (target-group arn:aws:elasticloadbalancing:…/starter/abc))',
    });
  });

  it('names health checks from a service event about container health checks', () => {
    expect(
      classifyFailure({
        timedOut: false,
        events: ['(service stackpilot-starter-dev) (task 0a1b) failed container health checks.'],
      }).error,
    ).toBe('HealthCheckFailed');
  });

  it.each([
    [
      'an image that cannot be pulled',
      { stoppedReason: 'CannotPullContainerError: ref pull has been retried 1 time(s): not found' },
    ],
    [
      'a secret that cannot be read',
      { stoppedReason: 'ResourceInitializationError: unable to pull secrets or registry auth' },
    ],
    [
      'a crash at start',
      { stoppedReason: 'Essential container in task exited', containers: [{ name: 'web', exitCode: 1 }] },
    ],
    ['a stop code alone', { stopCode: 'TaskFailedToStart', stoppedReason: 'weird' }],
  ])('names a task that failed to start: %s', (_, task) => {
    expect(classifyFailure({ timedOut: false, stoppedTasks: [task] }).error).toBe('TaskFailedToStart');
  });

  it('names a timeout, with the hint the tasks give', () => {
    expect(
      classifyFailure({
        timedOut: true,
        timeoutMinutes: 15,
        events: [
          '(service s) was unable to place a task because no container instance met all of its requirements.',
        ],
      }),
    ).toEqual({
      error: 'DeploymentTimedOut',
      reason:
        'the deployment did not complete within 15 minutes; tasks failed to start ((service s) was unable to place a task because no container instance met all of its requirements.)',
    });
  });

  it('falls back to a plain deployment failure with the rollout reason', () => {
    expect(classifyFailure({ timedOut: false, reason: 'ECS marked the deployment FAILED' })).toEqual({
      error: 'DeploymentFailed',
      reason: 'the deployment failed (ECS marked the deployment FAILED)',
    });
  });
});

describe('next wait', () => {
  it('starts at the first wait and grows by half the elapsed time', () => {
    expect(nextWaitSeconds(0, 900)).toBe(FIRST_WAIT_SECONDS);
    expect(nextWaitSeconds(20, 900)).toBe(FIRST_WAIT_SECONDS);
    expect(nextWaitSeconds(100, 900)).toBe(50);
    expect(nextWaitSeconds(600, 900)).toBe(300);
  });

  it('never waits past the deadline, and always waits at least a second', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 7200 }),
        fc.integer({ min: -60, max: 7200 }),
        (elapsed, remaining) => {
          const wait = nextWaitSeconds(elapsed, remaining);
          expect(wait).toBeGreaterThanOrEqual(1);
          if (remaining >= 1) expect(wait).toBeLessThanOrEqual(Math.ceil(remaining));
        },
      ),
    );
  });

  it('needs a number of polls logarithmic in the rollout time', () => {
    const polls = (rollout: number) => {
      let t = 0;
      let n = 0;
      while (t < rollout) {
        t += nextWaitSeconds(t, 7200 - t);
        n++;
      }
      return n;
    };
    expect([120, 600, 1800, 3600].map(polls)).toEqual([6, 10, 13, 14]);
  });
});
