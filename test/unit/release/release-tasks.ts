/**
 * The `release` state machine's Task handlers on the emulated account and its clock, and
 * the account a release starts from. Shared by the release path tests and the
 * workflow-cost benchmark.
 */
import type { Tag } from '@aws-sdk/client-ecs';
import { checkDeployment } from '../../../functions/check-deployment/handler.ts';
import { prepareRelease } from '../../../functions/prepare-release/handler.ts';
import { recordRelease } from '../../../functions/record-release/handler.ts';
import { registerReleaseRevision } from '../../../functions/register-task-definition/handler.ts';
import { rollBackRelease } from '../../../functions/roll-back-release/handler.ts';
import { updateService } from '../../../functions/update-service/handler.ts';
import { type ExecutionResult, loadDefinition, runStateMachine } from '../../../sandbox/state-machines.ts';
import { HISTORY_BUCKET_ENV } from '../../../shared/aws/release-history.ts';
import { toTaskError } from '../../../shared/errors.ts';
import { ecrRepositoryName, stageNames } from '../../../shared/naming.ts';
import {
  createTestAccount,
  direct,
  type TestAccount,
  type TestAccountOptions,
} from '../support/emulated-account.ts';

/**
 * The release step functions as Lambda runs them (transient errors become TransientError),
 * on the account's emulated clock: each Check step first moves the clock by the wait of
 * the Wait state before it (once per poll, not per retry).
 */
export function tasks(t: TestAccount) {
  const now = () => t.clock.now();
  const task =
    <T>(fn: (input: unknown) => Promise<T>) =>
    async (input: unknown) => {
      try {
        return await fn(input);
      } catch (error) {
        throw toTaskError(error);
      }
    };
  const waited = new Set<string>();
  const check = task((input) => {
    const { deployment } = input as {
      deployment: { deploymentId: string; polls: number; waitSeconds: number };
    };
    const poll = `${deployment.deploymentId}#${deployment.polls}`;
    if (!waited.has(poll)) {
      waited.add(poll);
      t.advance(deployment.waitSeconds * 1000);
    }
    return checkDeployment(input, { now });
  });
  return {
    'Prepare Release': task((input) => prepareRelease(input, { now })),
    'Register Task Definition': task(registerReleaseRevision),
    'Update Service': task((input) => updateService(input, { now })),
    'Check Deployment': check,
    'Roll Back': task((input) => rollBackRelease(input, { now })),
    'Check Rollback': check,
    'Record Release': task((input) => recordRelease(input, { now })),
    'Record Failed Release': task((input) => recordRelease(input, { now })),
  };
}

/** The commit an earlier release of revision `revision` deployed. */
export const commitOf = (revision: number) => `${revision % 10}`.repeat(40);

/** The user's own tags on the stage's task definition (every release carries them over). */
export const USER_TAGS: Tag[] = [
  { key: 'team', value: 'web' },
  { key: 'cost-center', value: '42' },
];

export interface ReleaseAccountOptions extends TestAccountOptions {
  readonly app?: string;
  readonly stage?: string;
  /** The revision running when the test starts; releases registered revisions 2 to it. @default 4 */
  readonly running?: number;
  /** The image the last earlier release deployed. @default the app's repository at commitOf(running) */
  readonly runningImage?: string;
  /**
   * Instances of the stage's cluster. A rolling deployment starts the new tasks beside the
   * old ones: on the example dev stage (one t3.micro, room for one 512 MiB task) it only
   * goes on once a placement failure has made the cluster scale out to a second instance.
   * @default 2
   */
  readonly instances?: number;
}

export interface ReleaseAccount extends TestAccount {
  readonly app: string;
  readonly stage: string;
  readonly cluster: string;
  readonly service: string;
  /** The stage's task-definition family. */
  readonly family: string;
  /** The app's ECR repository URI. */
  readonly repository: string;
  /** Where the release history lives (the control plane's source bucket). */
  readonly historyBucket: string;
  /** The ARN of revision `revision` of the stage's family. */
  arn(revision: number): string;
  /** The revision the service runs now (its PRIMARY deployment's). */
  running(): string | undefined;
  /** Runs the release state machine on this account. */
  release(input: unknown, executionName?: string): Promise<ExecutionResult>;
  /** Keys of the stage's release history, sorted. */
  historyKeys(): string[];
}

/**
 * The account after `cdk deploy` and earlier releases: the user tagged the stack's
 * revision 1, then releases of commitOf(2) to commitOf(running) registered and deployed
 * revisions 2 to `running` through the release state machine, and recorded them. Points
 * RELEASE_HISTORY_BUCKET at the account's history bucket. The calls and events of that
 * past are forgotten: what the test sees starts after it.
 */
export async function createReleaseAccount(options: ReleaseAccountOptions = {}): Promise<ReleaseAccount> {
  const t = await createTestAccount(options);
  const app = options.app ?? 'starter';
  const stage = options.stage ?? 'dev';
  const names = stageNames(app, stage);
  const repository = t.account.ecr.repositoryUri(ecrRepositoryName(app));
  const arn = (revision: number) =>
    `arn:aws:ecs:${t.account.region}:${t.account.accountId}:task-definition/${names.taskFamily}:${revision}`;
  const historyBucket = t.account.sourceBucket;
  process.env[HISTORY_BUCKET_ENV] = historyBucket;
  const definition = loadDefinition('release');
  const release = (input: unknown, executionName = 'release-1') =>
    runStateMachine(definition, input, { tasks: tasks(t), executionName });
  const instances = options.instances ?? 2;
  t.account.autoScaling.commands.SetDesiredCapacity({
    AutoScalingGroupName: names.autoScalingGroup,
    DesiredCapacity: instances,
    HonorCooldown: false,
  });
  direct.until(
    t,
    () =>
      (t.account.ecs.commands.ListContainerInstances({ cluster: names.cluster }).containerInstanceArns ?? [])
        .length >= instances,
  );
  t.account.ecs.commands.TagResource({ resourceArn: arn(1), tags: USER_TAGS });
  const running = options.running ?? 4;
  for (let revision = 2; revision <= running; revision++) {
    const image =
      revision === running && options.runningImage
        ? options.runningImage
        : `${repository}:${commitOf(revision)}`;
    const past = await release(
      { app, stage, image, commit: commitOf(revision) },
      `earlier-release-${revision}`,
    );
    if (past.status !== 'SUCCEEDED') throw new Error(`earlier release ${revision} failed: ${past.cause}`);
  }
  t.calls.length = 0;
  t.events.length = 0;
  return Object.assign(t, {
    app,
    stage,
    cluster: names.cluster,
    service: names.service,
    family: names.taskFamily,
    repository,
    historyBucket,
    arn,
    running: () =>
      direct.service(t, names.cluster, names.service).deployments?.find((d) => d.status === 'PRIMARY')
        ?.taskDefinition,
    release,
    historyKeys: () => direct.keys(t, historyBucket, `releases/${app}/${stage}/`),
  });
}
