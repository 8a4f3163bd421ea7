/**
 * Path tests of `state-machines/release.asl.json`: the real ASL, run locally, with the
 * real step functions and their real SDK clients on the sandbox's emulated account
 * (`test/unit/support/emulated-account.ts`), whose ECS rolls deployments over emulated
 * time, honours the circuit breaker and places tasks where they fit. Each Check step moves
 * the clock by the wait the Wait state before it would have taken.
 */
import { readFileSync } from 'node:fs';
import type { Tag } from '@aws-sdk/client-ecs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { allStates, loadDefinition, placeholdersOf } from '../../../sandbox/state-machines.ts';
import { CONFIG_ENV } from '../../../shared/config.ts';
import { loadConfigFile } from '../../../shared/config-file.ts';
import { deriveTaskDefinition, READ_ONLY_FIELDS } from '../../../shared/release/task-definition.ts';
import { commitOf, createReleaseAccount, type ReleaseAccount } from '../release/release-tasks.ts';
import { aslValidator, RETRYABLE_ERRORS } from '../support/asl.ts';
import { awsError, direct, throttling } from '../support/emulated-account.ts';

const sample = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../../events/samples/${name}`, import.meta.url), 'utf8'));
const releaseInput = sample('release-input.json');
const NEW_IMAGE = releaseInput.image as string;
/** Revisions 2 to 4 were released before each test; 4 runs. */
const RUNNING = 4;
const NEW = 5;

let account: ReleaseAccount;
const accounts: ReleaseAccount[] = [];

/** A new account (disposed after the test). */
async function useAccount(options: Parameters<typeof createReleaseAccount>[0] = {}): Promise<ReleaseAccount> {
  account = await createReleaseAccount({ running: RUNNING, ...options });
  accounts.push(account);
  return account;
}

beforeEach(async () => {
  process.env[CONFIG_ENV] = JSON.stringify(loadConfigFile('stackpilot.yml'));
  await useAccount();
});

afterEach(() => {
  for (const a of accounts.splice(0)) a.dispose();
});

const run = (input: unknown, executionName = 'release-1') => account.release(input, executionName);
const arn = (revision: number) => account.arn(revision);
const ecs = () => account.account.ecs.commands;
const tagsOf = (revision: number) => ecs().ListTagsForResource({ resourceArn: arn(revision) }).tags ?? [];
const describe_ = (revision: number) =>
  ecs().DescribeTaskDefinition({ taskDefinition: arn(revision) }).taskDefinition ?? {};
/** Registers the running revision with another image in its app container, as a release would. */
function registerRunningWith(image: string, tags: Tag[]): void {
  const input = deriveTaskDefinition(describe_(RUNNING), tags, image).input;
  if (!input) throw new Error(`revision ${RUNNING} already runs ${image}`);
  ecs().RegisterTaskDefinition(input);
}
const taskDefinitionsOf = (calls: { taskDefinition?: string }[]) => calls.map((c) => c.taskDefinition);
/** Keys the test's own executions added to the history. */
let before: string[] = [];
beforeEach(() => {
  before = account.historyKeys();
});
const newHistoryKeys = () => account.historyKeys().filter((k) => !before.includes(k));
const readRecord = async (key: string | undefined) =>
  JSON.parse(await direct.read(account, account.historyBucket, key as string));
/** Deployments ECS started (one "in progress" event each). */
const deploymentsStarted = () =>
  new Set(
    account.events
      .filter(
        (e) =>
          e['detail-type'] === 'ECS Deployment State Change' &&
          e.detail.eventName === 'SERVICE_DEPLOYMENT_IN_PROGRESS' &&
          !String(e.detail.reason).includes('circuit breaker'),
      )
      .map((e) => e.detail.deploymentId),
  ).size;

describe('release state machine', () => {
  it('is valid ASL whose every Task retries the transient errors with backoff and jitter', () => {
    expect(placeholdersOf('release').sort()).toEqual([
      'AwaitEventFunctionArn',
      'CheckDeploymentFunctionArn',
      'LeaveReleaseStageFunctionArn',
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
    expect(result.status, result.cause).toBe('SUCCEEDED');
    expect(account.count('RegisterTaskDefinition')).toBe(1);
    // The running revision with the new image in the app's container, everything else as it was.
    const previous = describe_(RUNNING);
    const registered = describe_(NEW);
    expect(registered.containerDefinitions).toEqual(
      previous.containerDefinitions?.map((c) =>
        c.image?.startsWith(`${account.repository}:`) ? { ...c, image: NEW_IMAGE } : c,
      ),
    );
    expect(registered).toMatchObject({
      family: previous.family,
      networkMode: previous.networkMode,
      taskRoleArn: previous.taskRoleArn,
      executionRoleArn: previous.executionRoleArn,
    });
    expect(account.inputs('UpdateService')).toEqual([
      { cluster: 'stackpilot-starter-dev', service: 'stackpilot-starter-dev', taskDefinition: arn(NEW) },
    ]);
    expect(account.running()).toBe(arn(NEW));
    expect(result.output.Deployment).toMatchObject({ state: 'COMPLETED', revision: NEW });
    expect(result.statesEntered.filter((s) => s === 'Check Deployment').length).toBe(
      result.output.Deployment.polls,
    );
    expect(tagsOf(NEW)).toEqual(
      expect.arrayContaining([
        { key: 'stackpilot:commit', value: releaseInput.commit },
        { key: 'stackpilot:result', value: 'COMPLETED' },
        { key: 'team', value: 'web' },
      ]),
    );
    const keys = newHistoryKeys();
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(new RegExp(`^releases/starter/dev/\\d{8}T\\d{9}Z-r${NEW}-COMPLETED\\.json$`));
    expect(await readRecord(keys[0])).toMatchObject({
      app: 'starter',
      stage: 'dev',
      action: 'release',
      commit: releaseInput.commit,
      image: NEW_IMAGE,
      revision: NEW,
      result: 'COMPLETED',
      runningRevision: NEW,
      execution: 'release-1',
    });
  });

  it('fails with the reason and does not roll back twice when the circuit breaker already rolled back', async () => {
    account.account.ecs.planDeployments(account.cluster, account.service, {
      failReason: 'CannotPullContainerError: pull image manifest has been retried 5 time(s): not found',
      stopCode: 'TaskFailedToStart',
    });
    const result = await run(releaseInput);
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('TaskFailedToStart');
    expect(result.cause).toMatch(
      new RegExp(
        `^Release of starter/dev image .*stackpilot/starter:4f5d1c2b.* as revision ${NEW} failed: tasks failed to start \\(.*CannotPullContainerError`,
      ),
    );
    expect(result.cause).toContain(
      `The ECS circuit breaker rolled the service back to revision ${RUNNING}; revision ${RUNNING} is running.`,
    );
    // One UpdateService: the release's. The circuit breaker's rollback is only watched.
    expect(account.count('UpdateService')).toBe(1);
    expect(result.statesEntered).toContain('Check Rollback');
    expect(account.running()).toBe(arn(RUNNING));
    expect(newHistoryKeys()[0]).toMatch(new RegExp(`-r${NEW}-ROLLED_BACK\\.json$`));
    expect(tagsOf(NEW)).toContainEqual({ key: 'stackpilot:result', value: 'ROLLED_BACK' });
  });

  it('names failed health checks from the stopped tasks and rolls back itself when the circuit breaker does not', async () => {
    // The prod stage sits behind a load balancer; its operator turned the circuit breaker's rollback off.
    await useAccount({ stage: 'prod' });
    ecs().UpdateService({
      cluster: account.cluster,
      service: account.service,
      deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: false } },
    });
    account.account.ecs.planDeployments(account.cluster, account.service, {
      failReason:
        'Task failed ELB health checks in (target-group arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/starter/abc)',
      stopCode: 'ServiceSchedulerInitiated',
    });
    const result = await run({ ...releaseInput, stage: 'prod' });
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('HealthCheckFailed');
    expect(result.cause).toContain('tasks failed their health checks (Task failed ELB health checks');
    expect(result.cause).toContain(
      `stackpilot rolled the service back to revision ${RUNNING}; revision ${RUNNING} is running.`,
    );
    expect(taskDefinitionsOf(account.inputs('UpdateService'))).toEqual([arn(NEW), arn(RUNNING)]);
    expect(account.running()).toBe(arn(RUNNING));
  });

  it('fails a release whose new tasks never pass the container health check, naming the check, after the circuit breaker rolled back', async () => {
    account.account.ecs.planDeployments(account.cluster, account.service, {
      failReason: 'Task failed container health checks',
      stopCode: 'ServiceSchedulerInitiated',
    });
    const result = await run(releaseInput);
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('HealthCheckFailed');
    expect(result.cause).toContain('tasks failed their health checks (Task failed container health checks');
    // stackpilot.yml: port 8080, healthCheckPath /health, the default check.
    expect(result.cause).toContain(
      'the container health check GET /health on port 8080 every 10 s, 3 retries after a 30 s start period',
    );
    expect(result.cause).toContain(`revision ${RUNNING} is running`);
    expect(account.running()).toBe(arn(RUNNING));
  });

  it('times out a deployment that never completes, then rolls back to the previous revision', async () => {
    // Its tasks take an hour to start (an image pull that crawls): far past the 15-minute limit.
    account.account.ecs.planDeployments(account.cluster, account.service, { startSeconds: 3600 });
    const started = account.clock.now();
    const result = await run(releaseInput);
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('DeploymentTimedOut');
    // The release waits the rollout's timeout plus the bake window (deployment.bakeMinutes, 3 by default).
    expect(result.cause).toMatch(/failed: the deployment did not complete within 18 minutes/);
    expect(result.cause).toContain(`revision ${RUNNING} is running`);
    expect(taskDefinitionsOf(account.inputs('UpdateService'))).toEqual([arn(NEW), arn(RUNNING)]);
    expect(account.running()).toBe(arn(RUNNING));
    expect(result.output).toBeUndefined();
    // The last look happens at the deadline, not a poll interval later.
    expect((account.clock.now() - started) / 1000).toBeGreaterThanOrEqual(18 * 60);
    expect(newHistoryKeys()[0]).toMatch(new RegExp(`-r${NEW}-ROLLED_BACK\\.json$`));
  });

  it('fails with RollbackFailed when the rollback does not complete either', async () => {
    account.account.ecs.planDeployments(
      account.cluster,
      account.service,
      { startSeconds: 3600 },
      { startSeconds: 3600 },
    );
    const result = await run(releaseInput);
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('RollbackFailed');
    expect(result.cause).toMatch(
      new RegExp(
        `failed: the deployment did not complete within 18 minutes .*\\. stackpilot rolled the service back to revision ${RUNNING}, and that did not complete either: the deployment did not complete within 18 minutes`,
      ),
    );
    expect(newHistoryKeys()[0]).toMatch(new RegExp(`-r${NEW}-ROLLBACK_FAILED\\.json$`));
  });

  it('rolls back when the deployment cannot be watched (its end event lost, the fallback check denied)', async () => {
    account.callbacks.relay = false;
    account.onCommand = (call) => {
      if (call.command === 'DescribeServices' && account.count('UpdateService') === 1)
        throw awsError(call.service, {
          name: 'AccessDeniedException',
          message: 'User is not authorized to perform: ecs:DescribeServices',
        });
    };
    const result = await run(releaseInput);
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('DeploymentFailed');
    expect(result.cause).toContain(
      'could not be watched (AccessDeniedException: User is not authorized to perform: ecs:DescribeServices)',
    );
    expect(result.cause).toContain(`revision ${RUNNING} is running`);
    expect(taskDefinitionsOf(account.inputs('UpdateService'))).toEqual([arn(NEW), arn(RUNNING)]);
  });

  it('fails with ReleaseNotRecorded when the history cannot be written, the new revision live', async () => {
    account.onCommand = (call) => {
      if (
        call.command === 'PutObject' &&
        String((call.input as { Key?: string }).Key).startsWith('releases/')
      )
        throw awsError(call.service, { name: 'AccessDenied', status: 403, message: 'Access Denied' });
    };
    const result = await run(releaseInput);
    expect(result).toMatchObject({ status: 'FAILED', error: 'ReleaseNotRecorded' });
    expect(result.cause).toMatch(
      /^Record Release failed: Access Denied\. The new revision is live; run the release again to record it\.$/,
    );
    expect(account.running()).toBe(arn(NEW));
  });

  it('retries throttled ECS calls and completes', async () => {
    account.fail('DescribeServices', throttling, throttling);
    account.fail('RegisterTaskDefinition', throttling);
    account.fail('UpdateService', throttling);
    const result = await run(releaseInput);
    expect(result.status, result.cause).toBe('SUCCEEDED');
    expect(result.statesEntered.slice(0, 4)).toEqual([
      'Read Input',
      'Prepare Release',
      'Rollback Or Release?',
      'Register Task Definition',
    ]);
    // Retried calls do not register or deploy twice.
    expect(account.count('RegisterTaskDefinition')).toBe(2);
    expect(ecs().ListTaskDefinitions({ familyPrefix: 'stackpilot-starter-dev' }).taskDefinitionArns).toEqual(
      [1, 2, 3, 4, NEW].map(arn),
    );
    expect(account.count('UpdateService')).toBe(2);
    expect(deploymentsStarted()).toBe(1);
    expect(account.running()).toBe(arn(NEW));
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
    expect(result.statesEntered).toEqual(['Read Input', 'Prepare Release', 'Leave Stage', 'Release Failed']);
    expect(result.cause).toMatch(/\. The service was not changed\.$/);
    expect(account.calls.filter((c) => c.service === 'ECS')).toEqual([]);
  });

  it('refuses a release when no container is the app container, naming the revision and its containers', async () => {
    // An operator registered and deployed a revision by hand whose only container is `web`, not `app`.
    const { containerDefinitions = [], ...definition } = describe_(RUNNING);
    const readOnly = new Set<string>(READ_ONLY_FIELDS);
    ecs().RegisterTaskDefinition({
      ...(Object.fromEntries(
        Object.entries(definition).filter(([key]) => !readOnly.has(key)),
      ) as typeof definition),
      family: account.family,
      containerDefinitions: containerDefinitions.map((c) => ({ ...c, name: 'web', image: 'nginx:1.27' })),
    });
    direct.deploy(account, account.cluster, account.service, arn(NEW));
    const result = await run(releaseInput);
    expect(result.error).toBe('ContainerNotFound');
    expect(result.cause).toMatch(
      new RegExp(
        `^Register Task Definition failed: task definition stackpilot-starter-dev:${NEW} has no container named "app" with an image \\(web=nginx:1\\.27\\)`,
      ),
    );
    expect(account.count('UpdateService')).toBe(0);
  });

  it('re-runs idempotently: when the service already runs the image, nothing is registered, updated or recorded twice', async () => {
    const first = await run(releaseInput, 'release-1');
    expect(first.status, first.cause).toBe('SUCCEEDED');
    const second = await run(releaseInput, 'release-1-retry');
    expect(second.status, second.cause).toBe('SUCCEEDED');
    expect(account.count('RegisterTaskDefinition')).toBe(1);
    expect(account.count('UpdateService')).toBe(1);
    expect(second.statesEntered).not.toContain('Update Service');
    expect(second.output.Target).toMatchObject({ revision: NEW, changed: false });
    expect(newHistoryKeys()).toHaveLength(1);
  });

  it('on a re-run while the first run is still deploying, watches that deployment instead of starting another', async () => {
    // The first run registered the revision and updated the service 30 s ago; its tasks start after a minute.
    registerRunningWith(NEW_IMAGE, tagsOf(RUNNING));
    account.account.ecs.planDeployments(account.cluster, account.service, { startSeconds: 60 });
    const deploymentId = ecs()
      .UpdateService({ cluster: account.cluster, service: account.service, taskDefinition: arn(NEW) })
      .service?.deployments?.find((d) => d.status === 'PRIMARY')?.id;
    account.advance(30_000);
    const result = await run(releaseInput);
    expect(result.status, result.cause).toBe('SUCCEEDED');
    expect(account.count('RegisterTaskDefinition')).toBe(0);
    expect(account.count('UpdateService')).toBe(0);
    expect(result.output.Deployment).toMatchObject({ deploymentId, state: 'COMPLETED' });
  });

  it('redeploys an image without a commit, recording the commit of its tag', async () => {
    const result = await run(sample('release-redeploy.json'));
    expect(result.status, result.cause).toBe('SUCCEEDED');
    expect(await readRecord(newHistoryKeys()[0])).toMatchObject({
      action: 'redeploy',
      commit: '0a1b2c3d4e5f60718293a4b5c6d7e8f901234567',
      revision: NEW,
    });
  });

  it('rolls back to the previous successful release', async () => {
    // Revisions 2, 3 and 4 were released (recorded COMPLETED); a later release of 5 was rolled back.
    await direct.put(
      account,
      account.historyBucket,
      `releases/starter/dev/20261121T130000000Z-r${NEW}-ROLLED_BACK.json`,
      '{}',
    );
    before = account.historyKeys();
    const result = await run(sample('release-rollback.json'));
    expect(result.status, result.cause).toBe('SUCCEEDED');
    expect(account.count('RegisterTaskDefinition')).toBe(0);
    expect(taskDefinitionsOf(account.inputs('UpdateService'))).toEqual([arn(3)]);
    expect(account.running()).toBe(arn(3));
    const keys = newHistoryKeys();
    expect(keys).toEqual([expect.stringMatching(/-r3-COMPLETED\.json$/)]);
    expect(await readRecord(keys[0])).toMatchObject({ action: 'rollback' });
  });

  it('rolls back to a named revision', async () => {
    const result = await run({ app: 'starter', stage: 'dev', action: 'rollback', toRevision: 2 });
    expect(result.status, result.cause).toBe('SUCCEEDED');
    expect(taskDefinitionsOf(account.inputs('UpdateService'))).toEqual([arn(2)]);
    expect(result.output.Target).toMatchObject({
      revision: 2,
      changed: true,
      image: `${account.repository}:${commitOf(2)}`,
    });
  });

  it('refuses a rollback to a revision that does not exist, and one with no recorded release', async () => {
    const missing = await run({ app: 'starter', stage: 'dev', action: 'rollback', toRevision: 99 });
    expect(missing).toMatchObject({ status: 'FAILED', error: 'RevisionNotFound' });
    expect(missing.cause).toBe(
      'Prepare Release failed: task definition stackpilot-starter-dev:99 does not exist. The service was not changed.',
    );
    // The history of the earlier releases is gone (the bucket was emptied).
    for (const key of account.historyKeys())
      account.account.s3.commands.DeleteObject({ Bucket: account.historyBucket, Key: key });
    const none = await run(sample('release-rollback.json'));
    expect(none).toMatchObject({ status: 'FAILED', error: 'NoPreviousRelease' });
    expect(none.cause).toMatch(
      new RegExp(
        `^Prepare Release failed: no earlier successful release of starter/dev other than the running revision ${RUNNING} is recorded; name one with "toRevision"\\.`,
      ),
    );
    expect(account.count('UpdateService')).toBe(0);
  });

  it('a failed operator rollback returns the service to the revision it ran', async () => {
    account.account.ecs.planDeployments(account.cluster, account.service, {
      failReason: 'Essential container in task exited',
    });
    const result = await run({ app: 'starter', stage: 'dev', action: 'rollback', toRevision: 2 });
    expect(result.error).toBe('TaskFailedToStart');
    expect(result.cause).toMatch(
      /^Rollback of starter\/dev to revision 2 failed: tasks failed to start \(Essential container in task exited/,
    );
    expect(result.cause).toContain(`revision ${RUNNING} is running`);
    expect(account.running()).toBe(arn(RUNNING));
  });
});

describe('release waiting', () => {
  /** State transitions of a release whose tasks take `seconds` to start. */
  async function transitionsFor(seconds: number) {
    const a = await useAccount();
    a.account.ecs.planDeployments(a.cluster, a.service, { startSeconds: seconds });
    const result = await a.release(releaseInput);
    expect(result.status, result.cause).toBe('SUCCEEDED');
    const polls = result.statesEntered.filter((s) => s === 'Check Deployment').length;
    return { transitions: result.transitions, polls };
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

describe('one release per stage', () => {
  it('of five releases of one stage started within a second, the newest ends live, older waiting ones are superseded and nothing interleaves', async () => {
    const images = [1, 2, 3, 4, 5].map((i) => `${account.repository}:${`${i}`.repeat(40)}`);

    const results = await Promise.all(
      images.map((image, i) =>
        run(
          { app: account.app, stage: account.stage, image, commit: `${i + 1}`.repeat(40) },
          `five-${i + 1}`,
        ),
      ),
    );

    // Every execution ends with a clear status: released, or superseded without touching the service.
    for (const result of results) expect(result.status, result.cause).toBe('SUCCEEDED');
    const superseded = results.filter((r) => r.output?.status === 'superseded');
    const released = results.filter((r) => r.output?.status !== 'superseded');
    expect(superseded.length).toBeGreaterThan(0);
    for (const r of superseded) {
      expect(r.statesEntered).not.toContain('Update Service');
      expect(r.output.supersededBy).toMatch(/:execution:stackpilot-release:five-\d$/);
    }
    // The newest release (started last) is live.
    expect(results[4]?.output?.status).not.toBe('superseded');
    const running = account.running() as string;
    const app = describe_(Number(running.split(':').at(-1))).containerDefinitions?.find(
      (c) => c.name === 'app',
    );
    expect(app?.image).toBe(images[4]);
    // One deployment per release that went, each completed before the next started: no rollback.
    expect(account.count('UpdateService')).toBe(released.length);
    const ends = account.events
      .filter((e) => e['detail-type'] === 'ECS Deployment State Change')
      .map((e) => e.detail.eventName as string);
    expect(ends).not.toContain('SERVICE_DEPLOYMENT_FAILED');
    const results_ = newHistoryKeys().map((k) => k.split('-').at(-1));
    expect(results_).toEqual(released.map(() => 'COMPLETED.json'));
    const started = account.events.filter(
      (e) =>
        e['detail-type'] === 'ECS Deployment State Change' &&
        e.detail.eventName === 'SERVICE_DEPLOYMENT_IN_PROGRESS',
    );
    const completed = account.events.filter(
      (e) =>
        e['detail-type'] === 'ECS Deployment State Change' &&
        e.detail.eventName === 'SERVICE_DEPLOYMENT_COMPLETED',
    );
    // Strictly one after the other: every deployment that started completed before the next began.
    const order = account.events
      .filter((e) => e['detail-type'] === 'ECS Deployment State Change')
      .map((e) => (e.detail.eventName === 'SERVICE_DEPLOYMENT_IN_PROGRESS' ? 'start' : 'end'));
    expect(order).toEqual(started.flatMap(() => ['start', 'end']));
    expect(completed).toHaveLength(released.length);
  });
});
