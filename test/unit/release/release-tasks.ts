/**
 * The `release` state machine's Task handlers on the emulated account and its clock, and
 * the account a release starts from. Shared by the release path tests and the
 * workflow-cost benchmark.
 */
import type { Tag } from '@aws-sdk/client-ecs';
import { ExecutionDoesNotExist } from '@aws-sdk/client-sfn';
import type * as z from 'zod';
import { deploymentEndPattern } from '../../../events/task-events.ts';
import { awsError } from '../../../sandbox/account/errors.ts';
import { type EventPattern, matchesPattern } from '../../../sandbox/event-pattern.ts';
import {
  type ExecutionResult,
  loadDefinition,
  runStateMachine,
  TaskTokens,
} from '../../../sandbox/state-machines.ts';
import { waitRequestSchema } from '../../../shared/callbacks/model.ts';
import { awaitEvent, callbackDeps, relayTaskEvent } from '../../../shared/callbacks/steps.ts';
import { CALLBACK_BUCKET_ENV } from '../../../shared/callbacks/store.ts';
import { parseInput, toTaskError } from '../../../shared/errors.ts';
import { ecrRepositoryName, stageNames } from '../../../shared/naming.ts';
import { HISTORY_BUCKET_ENV } from '../../../shared/release/history-store.ts';
import {
  checkDeployment,
  checkDeploymentInputSchema,
  leaveReleaseStage,
  leaveStageInputSchema,
  prepareRelease,
  prepareReleaseInputSchema,
  type ReleaseDeps,
  recordRelease,
  recordReleaseInputSchema,
  registerReleaseRevision,
  releaseDeps,
  releaseStepInputSchema,
  rollBackInputSchema,
  rollBackRelease,
  updateService,
  updateServiceInputSchema,
} from '../../../shared/release/steps.ts';
import {
  createTestAccount,
  direct,
  type TestAccount,
  type TestAccountOptions,
} from '../support/emulated-account.ts';

/** Emulated seconds between two looks of a waiting execution's clock driver. */
const DRIVE_STEP_SECONDS = 5;

/** What the callback path of a test account does (see {@link tasks}). */
export interface CallbackWorld {
  /** The task tokens of the account's executions (its Step Functions). */
  readonly tokens: TaskTokens;
  /** False: the account's deployment events are lost (the relay never runs). @default true */
  relay: boolean;
  /** Relays still running. */
  readonly pending: Set<Promise<unknown>>;
  /** Status of each execution run on the account, by ARN (what DescribeExecution answers). */
  readonly executions: Map<string, 'RUNNING' | 'SUCCEEDED' | 'FAILED'>;
}

/**
 * The callback path on a test account: its Step Functions answers SendTaskSuccess/Failure
 * with `tokens`, and its "ECS Deployment State Change" events that match the relay rule's
 * pattern go to the real relay, as EventBridge would deliver them.
 */
export function connectCallbacks(t: TestAccount): CallbackWorld {
  process.env[CALLBACK_BUCKET_ENV] = t.account.sourceBucket;
  const world: CallbackWorld = {
    tokens: new TaskTokens(),
    relay: true,
    pending: new Set(),
    executions: new Map(),
  };
  const unsupported = async (): Promise<never> => {
    throw new Error('the test account runs no executions through the Step Functions API');
  };
  t.account.hooks.stepFunctions = {
    StartExecution: unsupported,
    DescribeExecution: async (input) => {
      const status = world.executions.get(input.executionArn ?? '');
      if (!status) throw awsError(ExecutionDoesNotExist, `Execution Does Not Exist: '${input.executionArn}'`);
      return {
        executionArn: input.executionArn,
        stateMachineArn: input.executionArn?.replace(/:execution:([^:]+):[^:]+$/, ':stateMachine:$1'),
        status,
        startDate: new Date(),
      };
    },
    SendTaskSuccess: async (input) => {
      world.tokens.success(input.taskToken ?? '', input.output ?? '');
      return {};
    },
    SendTaskFailure: async (input) => {
      world.tokens.failure(input.taskToken ?? '', input.error, input.cause);
      return {};
    },
  };
  const record = t.account.hooks.onEvent;
  t.account.hooks.onEvent = (event) => {
    void record?.(event);
    if (!world.relay || !matchesPattern(deploymentEndPattern as unknown as EventPattern, event)) return;
    const delivery = relayTaskEvent(event, callbackDeps()).finally(() => world.pending.delete(delivery));
    world.pending.add(delivery);
  };
  return world;
}

/**
 * The release step functions as Lambda runs them (transient errors become TransientError),
 * on the account's emulated clock. While an execution waits on a task token, emulated time
 * goes on in steps (the account rolls the deployment and its events reach the relay) until
 * the token is answered, or HeartbeatSeconds pass and the wait times out. A Check after a
 * polling Wait state first moves the clock by that wait (once per poll, not per retry).
 */
/** A release step as its handler runs it: the input parsed with the handler's schema, then the step with `deps`. */
const releaseStep =
  <S extends z.ZodType, T>(
    schema: S,
    step: (input: z.output<S>, deps: ReleaseDeps) => Promise<T>,
    deps: ReleaseDeps,
  ) =>
  (input: unknown) =>
    step(parseInput(schema, input), deps);

/** The release steps, each as its handler runs it, on `deps` (the emulated account's clock). */
export function releaseSteps(deps: ReleaseDeps) {
  return {
    prepare: releaseStep(prepareReleaseInputSchema, prepareRelease, deps),
    register: releaseStep(releaseStepInputSchema, registerReleaseRevision, deps),
    update: releaseStep(updateServiceInputSchema, updateService, deps),
    check: releaseStep(checkDeploymentInputSchema, checkDeployment, deps),
    rollBack: releaseStep(rollBackInputSchema, rollBackRelease, deps),
    record: releaseStep(recordReleaseInputSchema, recordRelease, deps),
    leave: releaseStep(leaveStageInputSchema, leaveReleaseStage, deps),
  };
}

export function tasks(t: TestAccount, world: CallbackWorld) {
  const now = () => t.clock.now();
  const steps = releaseSteps({ ...releaseDeps(), now: () => new Date(now()) });
  const task =
    <T>(fn: (input: unknown) => Promise<T>) =>
    async (input: unknown) => {
      try {
        return await fn(input);
      } catch (error) {
        throw toTaskError(error);
      }
    };
  const check = task(steps.check);
  const wait = (heartbeatSeconds: number) =>
    task(async (input) => {
      const { token, context } = input as { token: string; context: { waitSeconds?: number } };
      let result: Awaited<ReturnType<typeof awaitEvent>>;
      try {
        const request = parseInput(waitRequestSchema, input, 'Wait input');
        result = await awaitEvent(request, { ...callbackDeps(), now: () => new Date(now()) });
      } catch (error) {
        // The release falls back to a polling Wait state: that wait passes on the emulated clock.
        t.advance((context.waitSeconds ?? DRIVE_STEP_SECONDS) * 1000);
        throw error;
      }
      void (async () => {
        for (let waited = 0; world.tokens.isOpen(token) && waited < heartbeatSeconds; ) {
          t.advance(DRIVE_STEP_SECONDS * 1000);
          waited += DRIVE_STEP_SECONDS;
          // Lets the account's events reach the relay, and the relay's calls end.
          await new Promise((resolve) => setImmediate(resolve));
          await Promise.all(world.pending);
        }
        if (world.tokens.isOpen(token)) world.tokens.timeOut(token);
      })();
      return result;
    });
  const heartbeatOf = (state: string) => {
    const seconds = definition.States[state]?.HeartbeatSeconds;
    if (typeof seconds !== 'number') throw new Error(`${state} has no HeartbeatSeconds`);
    return seconds;
  };
  return {
    'Prepare Release': task(steps.prepare),
    'Wait For Deployment': wait(heartbeatOf('Wait For Deployment')),
    'Wait For Rollback': wait(heartbeatOf('Wait For Rollback')),
    'Register Task Definition': task(steps.register),
    'Update Service': task(steps.update),
    'Check Deployment': check,
    'Roll Back': task(steps.rollBack),
    'Check Rollback': check,
    'Record Release': task(steps.record),
    'Record Failed Release': task(steps.record),
    'Leave Stage': task(steps.leave),
  };
}

const definition = loadDefinition('release');

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
  /** The callback path: task tokens, the relay on the account's events. */
  readonly callbacks: CallbackWorld;
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
  const callbacks = connectCallbacks(t);
  const release = async (input: unknown, executionName = 'release-1') => {
    const executionArn = `arn:aws:states:${t.account.region}:${t.account.accountId}:execution:stackpilot-release:${executionName}`;
    callbacks.executions.set(executionArn, 'RUNNING');
    const result = await runStateMachine(definition, input, {
      tasks: tasks(t, callbacks),
      executionName,
      executionArn,
      taskTokens: callbacks.tokens,
      // A release that waits for its stage asks again soon (no emulated time passes in a Wait state).
      waits: { 'Wait For Stage': 5 },
    });
    callbacks.executions.set(executionArn, result.status);
    return result;
  };
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
    callbacks,
    historyKeys: () => direct.keys(t, historyBucket, `releases/${app}/${stage}/`),
  });
}
