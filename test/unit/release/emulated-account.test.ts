/**
 * The whole `release` state machine, its real handlers and their real SDK clients, on the
 * sandbox's emulated account (ECS that rolls deployments over time and honours the circuit
 * breaker, S3): the path `npm start` takes. Each Check step moves the emulated clock by the
 * wait the Wait state before it would have taken.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDefinition, runStateMachine } from '../../../sandbox/state-machines.ts';
import { clients } from '../../../shared/aws/clients.ts';
import { CONFIG_ENV } from '../../../shared/config.ts';
import { toTaskError } from '../../../shared/errors.ts';
import { stageNames } from '../../../shared/naming.ts';
import { describeService } from '../../../shared/release/ecs.ts';
import { HISTORY_BUCKET_ENV, listHistoryKeys } from '../../../shared/release/history-store.ts';
import { releaseDeps } from '../../../shared/release/steps.ts';
import { newDataDir, removeDataDir, testAccount, testConfig } from '../sandbox-account/support.ts';
import { releaseSteps } from './release-tasks.ts';

const names = stageNames('shop', 'dev');
const registry = '123456789012.dkr.ecr.us-east-1.amazonaws.com/stackpilot/shop';

describe('release on the emulated account', () => {
  let dataDir: string;
  let setup: Awaited<ReturnType<typeof testAccount>>;

  beforeAll(async () => {
    dataDir = newDataDir();
    setup = await testAccount({ dataDir, config: testConfig() });
    // The shared clients of the handlers, answered by the emulated account (as in the sandbox).
    setup.account.attach(clients);
    // In AWS the history lives in the control plane's source bucket, which exists.
    setup.account.s3.ensureBucket(setup.account.releaseHistoryBucket);
    process.env[CONFIG_ENV] = JSON.stringify(testConfig());
    process.env[HISTORY_BUCKET_ENV] = setup.account.releaseHistoryBucket;
  });
  afterAll(() => {
    removeDataDir(dataDir);
  });

  // The release's deps read the configuration when they are made, here, before beforeAll runs.
  process.env[CONFIG_ENV] = JSON.stringify(testConfig());
  const steps = releaseSteps({ ...releaseDeps(), now: () => new Date(setup.clock.now()) });
  const task =
    <T>(fn: (input: unknown) => Promise<T>) =>
    async (input: unknown) => {
      try {
        return await fn(input);
      } catch (error) {
        throw toTaskError(error);
      }
    };
  const check = task((input) => {
    setup.advance((input as { deployment: { waitSeconds: number } }).deployment.waitSeconds * 1000);
    return steps.check(input);
  });
  const run = (input: unknown, executionName: string) =>
    runStateMachine(loadDefinition('release'), input, {
      executionName,
      tasks: {
        'Prepare Release': task(steps.prepare),
        'Register Task Definition': task(steps.register),
        'Update Service': task(steps.update),
        'Check Deployment': check,
        'Roll Back': task(steps.rollBack),
        'Check Rollback': check,
        'Record Release': task(steps.record),
        'Record Failed Release': task(steps.record),
        'Leave Stage': task(steps.leave),
      },
    });
  const running = async () =>
    (await describeService(names.cluster, names.service, clients.ecs)).taskDefinition;

  it('releases an image: revision 2 runs and the release is recorded', async () => {
    const commit = 'a'.repeat(40);
    const result = await run({ app: 'shop', stage: 'dev', image: `${registry}:${commit}`, commit }, 'r1');
    expect(result.status, result.cause).toBe('SUCCEEDED');
    expect(await running()).toMatch(/:2$/);
    const keys = await listHistoryKeys(setup.account.releaseHistoryBucket, 'shop', 'dev', clients.s3);
    expect(keys).toEqual([expect.stringMatching(/-r2-COMPLETED\.json$/)]);
  });

  it('fails a release the circuit breaker rolls back, naming the failure and the running revision', async () => {
    const result = await run({ app: 'shop', stage: 'dev', image: `${registry}:fail-0123` }, 'r2');
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('TaskFailedToStart');
    expect(result.cause).toMatch(
      /^Redeploy of shop\/dev image .*:fail-0123 as revision 3 failed: tasks failed to start/,
    );
    expect(result.cause).toContain(
      'The ECS circuit breaker rolled the service back to revision 2; revision 2 is running.',
    );
    expect(await running()).toMatch(/:2$/);
  });

  it('rolls back to a named revision, then to the previous successful release', async () => {
    const named = await run({ app: 'shop', stage: 'dev', action: 'rollback', toRevision: 1 }, 'r3');
    expect(named.status, named.cause).toBe('SUCCEEDED');
    expect(await running()).toMatch(/:1$/);
    const previous = await run({ app: 'shop', stage: 'dev', action: 'rollback' }, 'r4');
    expect(previous.status, previous.cause).toBe('SUCCEEDED');
    expect(await running()).toMatch(/:2$/);
  });
});
