/**
 * Path tests of `state-machines/release.asl.json`: the real ASL, run locally, with the
 * real step functions on mocked ECS and S3 clients answered by a small simulated account
 * (`test/unit/release/fake-account.ts`) whose deployments roll over virtual time. Each
 * Check step moves the clock by the wait the Wait state before it would have taken.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { RegisterTaskDefinitionCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  allStates,
  type ExecutionResult,
  loadDefinition,
  placeholdersOf,
  runStateMachine,
} from '../../../sandbox/state-machines.ts';
import { HISTORY_BUCKET_ENV } from '../../../shared/aws/release-history.ts';
import { CONFIG_ENV, resetRuntimeConfig } from '../../../shared/config.ts';
import { loadConfigFile } from '../../../shared/config-file.ts';
import { RETRYABLE_ERRORS } from '../../../shared/errors.ts';
import { FakeAccount, HISTORY_BUCKET, type Plan } from '../release/fake-account.ts';
import { appImage, starterRevision, taskDefinitionArn } from '../release/fixtures.ts';
import { tasks } from '../release/release-tasks.ts';

/** asl-validator ships no type declarations: its call signature, as used here. */
type AslValidator = (
  definition: unknown,
  options: { checkArn: boolean; checkPaths: boolean },
) => { isValid: boolean; errorsText: (separator?: string) => string };
const aslValidator = createRequire(import.meta.url)('asl-validator') as AslValidator;

const sample = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../../events/samples/${name}`, import.meta.url), 'utf8'));
const releaseInput = sample('release-input.json');
const NEW_IMAGE = releaseInput.image as string;
const FAMILY = 'stackpilot-starter-dev';
const arn = (revision: number) => taskDefinitionArn(FAMILY, revision);

let account: FakeAccount;

beforeEach(() => {
  process.env[CONFIG_ENV] = JSON.stringify(loadConfigFile('stackpilot.yml'));
  process.env[HISTORY_BUCKET_ENV] = HISTORY_BUCKET;
  resetRuntimeConfig();
  account = new FakeAccount();
});

afterEach(() => {
  account.restore();
  resetRuntimeConfig();
});

function run(input: unknown, a = account, executionName = 'release-1'): Promise<ExecutionResult> {
  return runStateMachine(loadDefinition('release'), input, { tasks: tasks(a), executionName });
}

function historyKeys(a = account): string[] {
  return [...a.objects.keys()].filter((k) => k.startsWith('releases/starter/dev/')).sort();
}

const runningRevision = (a = account) => a.deployments.find((d) => d.status === 'PRIMARY')?.taskDefinition;

describe('release state machine', () => {
  it('is valid ASL whose every Task retries the transient errors with backoff and jitter', () => {
    expect(placeholdersOf('release').sort()).toEqual([
      'CheckDeploymentFunctionArn',
      'PrepareReleaseFunctionArn',
      'RecordReleaseFunctionArn',
      'RegisterTaskDefinitionFunctionArn',
      'RollBackReleaseFunctionArn',
      'UpdateServiceFunctionArn',
    ]);
    const definition = loadDefinition('release');
    const result = aslValidator(structuredClone(definition), { checkArn: true, checkPaths: true });
    expect(result.isValid, result.errorsText('\n')).toBe(true);
    const taskStates = Object.entries(allStates(definition)).filter(([, s]) => s.Type === 'Task');
    expect(taskStates.length).toBeGreaterThanOrEqual(8);
    for (const [name, state] of taskStates) {
      const retry = state.Retry?.[0];
      expect(retry?.ErrorEquals, name).toEqual([...RETRYABLE_ERRORS]);
      expect(retry, name).toMatchObject({ BackoffRate: 2, JitterStrategy: 'FULL' });
      expect(state.Catch?.at(-1)?.ErrorEquals, name).toEqual(['States.ALL']);
    }
  });

  it('completes a release: registers the new revision, updates the service, waits on that deployment, records it', async () => {
    const result = await run(releaseInput);
    expect(result.status).toBe('SUCCEEDED');
    expect(account.ecs).toHaveReceivedCommandTimes(RegisterTaskDefinitionCommand, 1);
    const registered = account.taskDefinitions.get(arn(13));
    expect(registered?.containerDefinitions?.map((c) => c.image)).toEqual([
      'public.ecr.aws/aws-observability/aws-for-fluent-bit:stable',
      NEW_IMAGE,
      '840364872350.dkr.ecr.us-east-1.amazonaws.com/aws-appmesh-envoy:v1.29.6.0-prod',
    ]);
    expect(account.ecs).toHaveReceivedCommandWith(UpdateServiceCommand, {
      cluster: 'stackpilot-starter-dev',
      service: 'stackpilot-starter-dev',
      taskDefinition: arn(13),
    });
    expect(runningRevision()).toBe(arn(13));
    expect(result.output.Deployment).toMatchObject({ state: 'COMPLETED', revision: 13 });
    expect(result.statesEntered.filter((s) => s === 'Check Deployment').length).toBe(
      result.output.Deployment.polls,
    );
    expect(account.tags.get(arn(13))).toEqual(
      expect.arrayContaining([
        { key: 'stackpilot:commit', value: releaseInput.commit },
        { key: 'stackpilot:result', value: 'COMPLETED' },
        { key: 'team', value: 'web' },
      ]),
    );
    const keys = historyKeys();
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(/^releases\/starter\/dev\/\d{8}T\d{9}Z-r13-COMPLETED\.json$/);
    expect(JSON.parse(account.objects.get(keys[0] as string) as string)).toMatchObject({
      app: 'starter',
      stage: 'dev',
      action: 'release',
      commit: releaseInput.commit,
      image: NEW_IMAGE,
      revision: 13,
      result: 'COMPLETED',
      runningRevision: 13,
      execution: 'release-1',
    });
  });

  it('fails with the reason and does not roll back twice when the circuit breaker already rolled back', async () => {
    account.plans = [
      {
        kind: 'circuit-breaker',
        afterSeconds: 100,
        rollbackSeconds: 60,
        stoppedReason: 'CannotPullContainerError: pull image manifest has been retried 5 time(s): not found',
        stopCode: 'TaskFailedToStart',
      },
    ];
    const result = await run(releaseInput);
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('TaskFailedToStart');
    expect(result.cause).toMatch(
      /^Release of starter\/dev image .*stackpilot\/starter:4f5d1c2b.* as revision 13 failed: tasks failed to start \(.*CannotPullContainerError/,
    );
    expect(result.cause).toContain(
      'The ECS circuit breaker rolled the service back to revision 12; revision 12 is running.',
    );
    // One UpdateService: the release's. The circuit breaker's rollback is only watched.
    expect(account.ecs).toHaveReceivedCommandTimes(UpdateServiceCommand, 1);
    expect(result.statesEntered).toContain('Check Rollback');
    expect(runningRevision()).toBe(arn(12));
    expect(historyKeys()[0]).toMatch(/-r13-ROLLED_BACK\.json$/);
    expect(account.tags.get(arn(13))).toContainEqual({ key: 'stackpilot:result', value: 'ROLLED_BACK' });
  });

  it('names failed health checks from the stopped tasks and rolls back itself when the circuit breaker does not', async () => {
    account.plans = [
      {
        kind: 'fail',
        afterSeconds: 200,
        stoppedReason:
          'Task failed ELB health checks in (target-group arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/starter/abc)',
      },
    ];
    const result = await run(releaseInput);
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('HealthCheckFailed');
    expect(result.cause).toContain('tasks failed their health checks (Task failed ELB health checks');
    expect(result.cause).toContain(
      'stackpilot rolled the service back to revision 12; revision 12 is running.',
    );
    expect(
      account.calls(UpdateServiceCommand).map((i) => (i as { taskDefinition: string }).taskDefinition),
    ).toEqual([arn(13), arn(12)]);
  });

  it('fails a release whose new tasks never pass the container health check, naming the check, after the circuit breaker rolled back', async () => {
    account.plans = [
      {
        kind: 'circuit-breaker',
        afterSeconds: 150,
        rollbackSeconds: 60,
        stoppedReason: 'Task failed container health checks',
      },
    ];
    const result = await run(releaseInput);
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('HealthCheckFailed');
    expect(result.cause).toContain('tasks failed their health checks (Task failed container health checks');
    // stackpilot.yml: port 8080, healthCheckPath /health, the default check.
    expect(result.cause).toContain(
      'the container health check GET /health on port 8080 every 10 s, 3 retries after a 30 s start period',
    );
    expect(result.cause).toContain(
      'The ECS circuit breaker rolled the service back to revision 12; revision 12 is running.',
    );
    expect(account.ecs).toHaveReceivedCommandTimes(UpdateServiceCommand, 1);
    expect(runningRevision()).toBe(arn(12));
  });

  it('fails a release that serves errors in its bake window: the 5xx-rate alarm rolled it back', async () => {
    account.plans = [
      {
        kind: 'alarm',
        afterSeconds: 240,
        rollbackSeconds: 60,
        rolloutStateReason: 'ECS deployment detected triggered alarm(s): stackpilot.starter.dev.5xx-rate.',
      },
    ];
    const result = await run(releaseInput);
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('ErrorRateAlarm');
    expect(result.cause).toContain(
      'alarm stackpilot.starter.dev.5xx-rate fired during the rollout or its bake window and ECS rolled the service back',
    );
    expect(result.cause).toContain('revision 12 is running');
    expect(account.ecs).toHaveReceivedCommandTimes(UpdateServiceCommand, 1);
  });

  it('times out a deployment that never completes, then rolls back to the previous revision', async () => {
    account.plans = [{ kind: 'never' }];
    const started = account.now;
    const result = await run(releaseInput);
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('DeploymentTimedOut');
    // The release waits the rollout's timeout plus the bake window (deployment.bakeMinutes, 3 by default).
    expect(result.cause).toMatch(/failed: the deployment did not complete within 18 minutes/);
    expect(result.cause).toContain('revision 12 is running');
    expect(account.calls(UpdateServiceCommand)).toEqual([
      expect.objectContaining({ taskDefinition: arn(13) }),
      expect.objectContaining({ taskDefinition: arn(12) }),
    ]);
    expect(runningRevision()).toBe(arn(12));
    // The last look happens exactly at the deadline, not a poll interval later.
    const deployment = result.events.length > 0 ? (result.output ?? null) : null;
    expect(deployment).toBeNull();
    const deadlineSeconds = 18 * 60;
    expect((account.now - started) / 1000).toBeGreaterThanOrEqual(deadlineSeconds);
    expect(historyKeys()[0]).toMatch(/-r13-ROLLED_BACK\.json$/);
  });

  it('fails with RollbackFailed when the rollback does not complete either', async () => {
    account.plans = [{ kind: 'never' }, { kind: 'never' }];
    const result = await run(releaseInput);
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('RollbackFailed');
    expect(result.cause).toMatch(
      /failed: the deployment did not complete within 18 minutes .*\. stackpilot rolled the service back to revision 12, and that did not complete either: the deployment did not complete within 18 minutes/,
    );
    expect(historyKeys()[0]).toMatch(/-r13-ROLLBACK_FAILED\.json$/);
  });

  it('rolls back when the deployment cannot be watched', async () => {
    account.before = (command) => {
      if (command === 'DescribeServices' && account.calls(UpdateServiceCommand).length === 1) {
        throw Object.assign(new Error('User is not authorized to perform: ecs:DescribeServices'), {
          name: 'AccessDeniedException',
          $metadata: { httpStatusCode: 400 },
        });
      }
    };
    const result = await run(releaseInput);
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('DeploymentFailed');
    expect(result.cause).toContain(
      'could not be watched (AccessDeniedException: User is not authorized to perform: ecs:DescribeServices)',
    );
    expect(result.cause).toContain('revision 12 is running');
    expect(account.calls(UpdateServiceCommand)).toEqual([
      expect.objectContaining({ taskDefinition: arn(13) }),
      expect.objectContaining({ taskDefinition: arn(12) }),
    ]);
  });

  it('fails with ReleaseNotRecorded when the history cannot be written, the new revision live', async () => {
    account.before = (command) => {
      if (command === 'PutObject') throw Object.assign(new Error('Access Denied'), { name: 'AccessDenied' });
    };
    const result = await run(releaseInput);
    expect(result).toMatchObject({ status: 'FAILED', error: 'ReleaseNotRecorded' });
    expect(result.cause).toMatch(
      /^Record Release failed: Access Denied\. The new revision is live; run the release again to record it\.$/,
    );
    expect(runningRevision()).toBe(arn(13));
  });

  it('retries throttled ECS calls and completes', async () => {
    account.throttle.set('DescribeServices', 2);
    account.throttle.set('RegisterTaskDefinition', 1);
    account.throttle.set('UpdateService', 1);
    const result = await run(releaseInput);
    expect(result.status).toBe('SUCCEEDED');
    expect(result.statesEntered.slice(0, 4)).toEqual([
      'Read Input',
      'Prepare Release',
      'Rollback Or Release?',
      'Register Task Definition',
    ]);
    // Retried calls do not register or deploy twice.
    expect(account.ecs).toHaveReceivedCommandTimes(RegisterTaskDefinitionCommand, 2);
    expect([...account.taskDefinitions.keys()].filter((k) => k.endsWith(':14'))).toEqual([]);
    expect(account.calls(UpdateServiceCommand)).toHaveLength(2);
    expect(account.deployments.filter((d) => d.taskDefinition === arn(13))).toHaveLength(1);
    expect(runningRevision()).toBe(arn(13));
  });

  it.each([
    [
      'a missing image',
      { app: 'starter', stage: 'dev' },
      /^Prepare Release failed: invalid release input: image: /,
    ],
    [
      'an image of another repository',
      { app: 'starter', stage: 'dev', image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/other/app:1' },
      /^Prepare Release failed: invalid release input: image: the image must be in the app's ECR repository/,
    ],
    [
      'an unknown stage',
      { app: 'starter', stage: 'qa', image: NEW_IMAGE },
      /^Prepare Release failed: no stage qa of app starter in stackpilot\.yml \(known: starter\/dev, starter\/prod\)\. The service was not changed\.$/,
    ],
    [
      'a rollback to revision 0',
      { app: 'starter', stage: 'dev', action: 'rollback', toRevision: 0 },
      /toRevision/,
    ],
    ['not an object', 'release please', /^Prepare Release failed: invalid release input: \(root\)/],
  ])('refuses %s at once with a readable Cause', async (_, input, cause) => {
    const result = await run(input);
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('InvalidInput');
    expect(result.cause).toMatch(cause);
    expect(result.statesEntered).toEqual([
      'Read Input',
      'Prepare Release',
      'Describe Prepare Error',
      'Function Error?',
      'Read Function Error',
      'Explain Function Error',
      'Release Failed',
    ]);
    expect(result.cause).toMatch(/\. The service was not changed\.$/);
    expect(account.ecs.calls()).toHaveLength(0);
  });

  it('refuses a release when no container runs the app image, naming the revision', async () => {
    const other = starterRevision();
    for (const c of other.containerDefinitions ?? []) if (c.name === 'web') c.image = 'nginx:1.27';
    account.restore();
    const a = new FakeAccount(other);
    account = a;
    const result = await run(releaseInput, a);
    expect(result.error).toBe('ContainerNotFound');
    expect(result.cause).toMatch(
      /^Register Task Definition failed: no container of task definition stackpilot-starter-dev:12 runs an image of the ECR repository stackpilot\/starter/,
    );
    expect(a.ecs).toHaveReceivedCommandTimes(UpdateServiceCommand, 0);
  });

  it('re-runs idempotently: when the service already runs the image, nothing is registered, updated or recorded twice', async () => {
    const first = await run(releaseInput, account, 'release-1');
    expect(first.status).toBe('SUCCEEDED');
    const second = await run(releaseInput, account, 'release-1-retry');
    expect(second.status).toBe('SUCCEEDED');
    expect(account.ecs).toHaveReceivedCommandTimes(RegisterTaskDefinitionCommand, 1);
    expect(account.ecs).toHaveReceivedCommandTimes(UpdateServiceCommand, 1);
    expect(second.statesEntered).not.toContain('Update Service');
    expect(second.output.Target).toMatchObject({ revision: 13, changed: false });
    expect(historyKeys()).toHaveLength(1);
  });

  it('on a re-run while the first run is still deploying, watches that deployment instead of starting another', async () => {
    const running = starterRevision(13, '4f5d1c2b9a8e7d6c5b4a39281706f5e4d3c2b1a0');
    account.addRevision(running, []);
    for (const d of account.deployments) d.status = 'ACTIVE';
    account.deployments.unshift({
      id: 'ecs-svc/9',
      status: 'PRIMARY',
      taskDefinition: arn(13),
      rolloutState: 'IN_PROGRESS',
      createdAt: new Date(account.now - 30_000),
      plan: { kind: 'complete', afterSeconds: 60 },
    });
    const result = await run(releaseInput);
    expect(result.status).toBe('SUCCEEDED');
    expect(account.ecs).toHaveReceivedCommandTimes(RegisterTaskDefinitionCommand, 0);
    expect(account.ecs).toHaveReceivedCommandTimes(UpdateServiceCommand, 0);
    expect(result.output.Deployment).toMatchObject({ deploymentId: 'ecs-svc/9', state: 'COMPLETED' });
  });

  it('redeploys an image without a commit, recording the commit of its tag', async () => {
    const result = await run(sample('release-redeploy.json'));
    expect(result.status).toBe('SUCCEEDED');
    expect(JSON.parse(account.objects.get(historyKeys()[0] as string) as string)).toMatchObject({
      action: 'redeploy',
      commit: '0a1b2c3d4e5f60718293a4b5c6d7e8f901234567',
      revision: 13,
    });
  });

  it('rolls back to the previous successful release', async () => {
    account.putHistory('releases/starter/dev/20261119T100000000Z-r10-COMPLETED.json');
    account.putHistory('releases/starter/dev/20261120T100000000Z-r11-COMPLETED.json');
    account.putHistory('releases/starter/dev/20261120T110000000Z-r13-ROLLED_BACK.json');
    account.putHistory('releases/starter/dev/20261120T120000000Z-r12-COMPLETED.json');
    const result = await run(sample('release-rollback.json'));
    expect(result.status).toBe('SUCCEEDED');
    expect(account.ecs).toHaveReceivedCommandTimes(RegisterTaskDefinitionCommand, 0);
    expect(account.calls(UpdateServiceCommand)).toEqual([
      expect.objectContaining({ taskDefinition: arn(11) }),
    ]);
    expect(runningRevision()).toBe(arn(11));
    expect(historyKeys().at(-1)).toMatch(/-r11-COMPLETED\.json$/);
    expect(JSON.parse(account.objects.get(historyKeys().at(-1) as string) as string)).toMatchObject({
      action: 'rollback',
    });
  });

  it('rolls back to a named revision', async () => {
    const result = await run({ app: 'starter', stage: 'dev', action: 'rollback', toRevision: 9 });
    expect(result.status).toBe('SUCCEEDED');
    expect(account.calls(UpdateServiceCommand)).toEqual([
      expect.objectContaining({ taskDefinition: arn(9) }),
    ]);
    expect(result.output.Target).toMatchObject({
      revision: 9,
      changed: true,
      image: appImage('starter', '9'.repeat(40)),
    });
  });

  it('refuses a rollback to a revision that does not exist, and one with no recorded release', async () => {
    const missing = await run({ app: 'starter', stage: 'dev', action: 'rollback', toRevision: 99 });
    expect(missing).toMatchObject({ status: 'FAILED', error: 'RevisionNotFound' });
    expect(missing.cause).toBe(
      'Prepare Release failed: task definition stackpilot-starter-dev:99 does not exist. The service was not changed.',
    );
    const none = await run(sample('release-rollback.json'));
    expect(none).toMatchObject({ status: 'FAILED', error: 'NoPreviousRelease' });
    expect(none.cause).toMatch(
      /^Prepare Release failed: no earlier successful release of starter\/dev other than the running revision 12 is recorded; name one with "toRevision"\./,
    );
    expect(account.ecs).toHaveReceivedCommandTimes(UpdateServiceCommand, 0);
  });

  it('a failed operator rollback returns the service to the revision it ran', async () => {
    account.plans = [{ kind: 'fail', afterSeconds: 60, stoppedReason: 'Essential container in task exited' }];
    const result = await run({ app: 'starter', stage: 'dev', action: 'rollback', toRevision: 10 });
    expect(result.error).toBe('TaskFailedToStart');
    expect(result.cause).toMatch(
      /^Rollback of starter\/dev to revision 10 failed: tasks failed to start \(Essential container in task exited/,
    );
    expect(result.cause).toContain('revision 12 is running');
    expect(runningRevision()).toBe(arn(12));
  });
});

describe('release waiting', () => {
  /** State transitions of a release whose deployment completes after `seconds`. */
  async function transitionsFor(seconds: number) {
    account.restore();
    const a = new FakeAccount();
    account = a;
    a.plans = [{ kind: 'complete', afterSeconds: seconds } satisfies Plan];
    const result = await run(releaseInput, a);
    expect(result.status).toBe('SUCCEEDED');
    const polls = result.statesEntered.filter((s) => s === 'Check Deployment').length;
    return { transitions: result.transitions, polls, seenAfter: result.output.Deployment };
  }

  it('grows the number of state transitions with the logarithm of the rollout time, not linearly', async () => {
    const two = await transitionsFor(120);
    const ten = await transitionsFor(600);
    // A fixed 15-second poll would take 8 and 40 polls (3 transitions each).
    expect(two.polls).toBeLessThanOrEqual(6);
    expect(ten.polls).toBeLessThanOrEqual(10);
    expect(ten.transitions - two.transitions).toBeLessThanOrEqual(12);
    expect(ten.transitions / two.transitions).toBeLessThan(1.5);
  });
});
