/**
 * The steps of the `release` state machine (docs/release.md), one function per Task state, and
 * the routing of its failure alerts. Each takes its parsed input and `{clients, now}`; the
 * handlers under `functions/` parse, call one step and return.
 *
 * Prepare Release (service, revisions, lease) -> Register Task Definition -> Update Service ->
 * Check Deployment (until it completes, fails or times out) -> Roll Back -> Check Rollback ->
 * Record Release / Record Failed Release; Leave Stage on every path to Release Failed.
 */
import * as z from 'zod';
import { actionOf, releaseInputSchemaFor } from '#events/release.ts';
import type { ExecutionStatusChange } from '#events/step-functions-execution.ts';
import { putReleaseFailed } from '../alerts/event-bus.ts';
import { releaseFailedDetail } from '../alerts/release.ts';
import {
  type Clients,
  ecrClient,
  ecsClient,
  eventBridgeClient,
  s3Client,
  sfnClient,
  ssmClient,
} from '../aws/clients.ts';
import { findStage, runtimeConfig, type StackpilotConfig } from '../config.ts';
import { type CaughtError, causeMessage, explainCaught, InvalidInput, parseInput } from '../errors.ts';
import { describeHealthCheck, releaseTimeoutMinutes } from '../health.ts';
import { ecrRepositoryName, stageNames } from '../naming.ts';
import { logger } from '../powertools.ts';
import { classifyFailure, judgeDeployment, nextWaitSeconds, runningDeployments } from './deployment.ts';
import { imageInRepository } from './ecr.ts';
import {
  describeService,
  describeTaskDefinition,
  registerTaskDefinition,
  stoppedTasksOf,
  tagTaskDefinition,
  updateServiceTaskDefinition,
} from './ecs.ts';
import { NoPreviousRelease, RevisionNotFound, ServiceNotFound } from './errors.ts';
import { alreadyRecorded, type ReleaseResult, releaseRecord, rollbackCandidates } from './history.ts';
import { historyBucket, listHistoryKeys, putRecord } from './history-store.ts';
import { leaseSummary } from './lease.ts';
import { enterStage, leaveStage } from './lease-store.ts';
import {
  describeRelease,
  type Failure,
  finalOutcome,
  type PreparedRelease,
  preparedReleaseSchema,
  type Target,
  type Tracker,
  targetSchema,
  trackerSchema,
} from './model.ts';
import { recordReleasedImage } from './released-image.ts';
import {
  deriveTaskDefinition,
  findAppContainer,
  parseTaskDefinitionArn,
  RELEASE_TAGS,
} from './task-definition.ts';
import { releaseTags, startTracker, timing } from './tracker.ts';

/** What the steps use: the AWS clients and the clock. */
export interface ReleaseDeps {
  readonly clients: Pick<Clients, 'ecr' | 'ecs' | 'eventBridge' | 's3' | 'sfn' | 'ssm'>;
  readonly now: () => Date;
  readonly config: StackpilotConfig;
}

/** The deployed functions' dependencies: the named shared clients, the system clock, the bundled configuration. */
export function releaseDeps(): ReleaseDeps {
  // The named clients, not the whole record: each function's bundle carries only these SDK clients.
  const clients = {
    ecr: ecrClient,
    ecs: ecsClient,
    eventBridge: eventBridgeClient,
    s3: s3Client,
    sfn: sfnClient,
    ssm: ssmClient,
  };
  return { clients, now: () => new Date(), config: runtimeConfig() };
}

export const prepareReleaseInputSchema = z.object({
  input: z.unknown(),
  executionName: z.string().min(1),
  /** `$$.Execution.Id` and `$$.Execution.StartTime`: the release's place in the stage's line. */
  executionArn: z.string().min(1).optional(),
  executionStartTime: z.string().min(1).optional(),
});
export type PrepareReleaseInput = z.output<typeof prepareReleaseInputSchema>;

/** A commit id in an image tag (`…/stackpilot/web:<commit>`), recorded when the input names no commit. */
function commitFromTag(image: string): string | undefined {
  return /:([0-9a-f]{40}|[0-9a-f]{64})(@|$)/.exec(image)?.[1];
}

/** How many recorded good revisions a rollback tries before giving up (deregistered ones are skipped). */
const ROLLBACK_CANDIDATES = 5;

/**
 * Prepare Release: parses the execution input (release, redeploy or rollback), finds the
 * stage's service, the revision it runs and the last good one, and for a rollback the revision
 * to return to; then asks for the stage's lease (one release per stage: go, wait, or superseded
 * by a newer release). Changes nothing else.
 */
export async function prepareRelease(
  event: PrepareReleaseInput,
  deps: ReleaseDeps,
): Promise<PreparedRelease> {
  const { input: raw, executionName, executionArn, executionStartTime } = event;
  const input = parseInput(releaseInputSchemaFor(raw), raw, 'release input');
  const config = deps.config;
  const stage = findStage(config, input.app, input.stage);
  if (!stage) {
    const known = Object.entries(config.apps).flatMap(([app, a]) =>
      Object.keys(a.stages).map((s) => `${app}/${s}`),
    );
    throw new InvalidInput(
      `no stage ${input.stage} of app ${input.app} in stackpilot.yml (known: ${known.join(', ')})`,
    );
  }
  const names = stageNames(input.app, input.stage);
  const service = await describeService(names.cluster, names.service, deps.clients.ecs);
  const running = runningDeployments(service.deployments ?? []);
  if (!running) throw new ServiceNotFound(`ECS service ${names.service} has no PRIMARY deployment`);
  // A failed release returns to the last revision known good.
  const { primary, lastGoodArn: previousArn } = running;
  const current = parseTaskDefinitionArn(primary.taskDefinition);

  const prepared: PreparedRelease = {
    app: input.app,
    stage: input.stage,
    action: actionOf(input),
    cluster: names.cluster,
    service: names.service,
    current: {
      taskDefinitionArn: primary.taskDefinition,
      revision: current.revision,
      deploymentId: primary.id,
      rolloutState: primary.rolloutState ?? 'COMPLETED',
    },
    previous: { taskDefinitionArn: previousArn, revision: parseTaskDefinitionArn(previousArn).revision },
    // With deployment alarms, ECS keeps the rollout IN_PROGRESS through the bake window.
    timeoutMinutes: releaseTimeoutMinutes(stage.stageConfig.deployment),
    execution: executionName,
    startedAt: deps.now().toISOString(),
  };
  if ('image' in input) {
    if (input.promotedFrom)
      await checkPromotion(config, input.app, input.stage, input.promotedFrom, input.image, deps);
    const commit = input.commit ?? commitFromTag(input.image);
    Object.assign(prepared, {
      image: input.image,
      ...(commit ? { commit } : {}),
      ...(input.promotedFrom ? { promotedFrom: input.promotedFrom } : {}),
    });
  } else {
    const target = await rollbackTarget(
      { app: input.app, stage: input.stage, family: names.taskFamily, running: current.revision },
      input.toRevision,
      deps,
    );
    prepared.rollbackTarget = { ...target, changed: target.taskDefinitionArn !== primary.taskDefinition };
  }
  if (executionArn && executionStartTime) {
    // One release per stage: last, so a release that waits prepares again from what the previous one left.
    const lease = await enterStage(
      historyBucket(),
      input.app,
      input.stage,
      { execution: executionArn, startedAt: executionStartTime },
      deps.clients,
    );
    prepared.executionArn = executionArn;
    prepared.lease = leaseSummary(lease);
  }
  logger.info('release prepared', { ...prepared });
  return prepared;
}

/**
 * A promotion comes from another stage of the same app, and its image is still in ECR (a
 * console input is checked like `stackpilot promote`'s: `imagesToKeep` may have expired it).
 */
async function checkPromotion(
  config: StackpilotConfig,
  app: string,
  stage: string,
  from: string,
  image: string,
  deps: ReleaseDeps,
): Promise<void> {
  if (!findStage(config, app, from)) {
    throw new InvalidInput(
      `cannot promote ${app}/${stage} from ${from}: app ${app} has no stage ${from} (stages: ${Object.keys(config.apps[app]?.stages ?? {}).join(', ')})`,
    );
  }
  if (!(await imageInRepository(app, image, deps.clients.ecr))) {
    throw new InvalidInput(
      `cannot promote ${image} from ${app}/${from} to ${stage}: the image is no longer in ECR repository ${ecrRepositoryName(app)} (it keeps the newest imagesToKeep images); deploy ${from} again and promote that release`,
    );
  }
}

async function activeRevision(family: string, revision: number, deps: ReleaseDeps) {
  const { taskDefinition } = await describeTaskDefinition(`${family}:${revision}`, deps.clients.ecs);
  if (taskDefinition.status !== 'ACTIVE' || !taskDefinition.taskDefinitionArn) {
    throw new RevisionNotFound(
      `revision ${revision} of task definition ${family} is ${taskDefinition.status} and cannot be deployed again`,
    );
  }
  let image: string | undefined;
  try {
    image = findAppContainer(taskDefinition).image;
  } catch {
    image = undefined;
  }
  return { taskDefinitionArn: taskDefinition.taskDefinitionArn, revision, ...(image ? { image } : {}) };
}

async function rollbackTarget(
  of: { app: string; stage: string; family: string; running: number },
  toRevision: number | undefined,
  deps: ReleaseDeps,
) {
  const { app, stage, family, running } = of;
  if (toRevision !== undefined) return activeRevision(family, toRevision, deps);
  const keys = await listHistoryKeys(historyBucket(), app, stage, deps.clients.s3);
  const candidates = rollbackCandidates(keys, running);
  for (const revision of candidates.slice(0, ROLLBACK_CANDIDATES)) {
    try {
      return await activeRevision(family, revision, deps);
    } catch (error) {
      if (!(error instanceof RevisionNotFound)) throw error;
      logger.warn('skipping a recorded revision that cannot be deployed', { revision, error });
    }
  }
  throw new NoPreviousRelease(
    `no earlier successful release of ${app}/${stage} other than the running revision ${running} is recorded${candidates.length > 0 ? ' that can still be deployed' : ''}; name one with "toRevision"`,
  );
}

export const releaseStepInputSchema = z.object({ release: preparedReleaseSchema });
export type ReleaseStepInput = z.output<typeof releaseStepInputSchema>;

/**
 * Register Task Definition: copies the revision the service runs, swaps the app container's
 * image and registers the copy. Registers nothing (`changed: false`) when the service already
 * runs the image (a re-run of the same release).
 */
export async function registerReleaseRevision(
  { release }: ReleaseStepInput,
  deps: ReleaseDeps,
): Promise<Target> {
  if (!release.image)
    throw new InvalidInput(`the ${release.action} of ${release.app}/${release.stage} names no image`);
  const { taskDefinition, tags } = await describeTaskDefinition(
    release.current.taskDefinitionArn,
    deps.clients.ecs,
  );
  const derived = deriveTaskDefinition(taskDefinition, tags, release.image, releaseTags(release));
  if (!derived.input) {
    logger.info('the service already runs this image; nothing to register', {
      taskDefinitionArn: release.current.taskDefinitionArn,
      container: derived.container.name,
    });
    return {
      taskDefinitionArn: release.current.taskDefinitionArn,
      revision: release.current.revision,
      image: release.image,
      changed: false,
    };
  }
  const registered = await registerTaskDefinition(derived.input, deps.clients.ecs);
  logger.info('revision registered', {
    taskDefinitionArn: registered.taskDefinitionArn,
    container: derived.container.name,
    from: derived.container.image,
    to: release.image,
  });
  return {
    taskDefinitionArn: registered.taskDefinitionArn as string,
    revision: registered.revision as number,
    image: release.image,
    changed: true,
  };
}

export const updateServiceInputSchema = z.object({ release: preparedReleaseSchema, target: targetSchema });
export type UpdateServiceInput = z.output<typeof updateServiceInputSchema>;

/**
 * Update Service: points the service at the target revision and returns the tracker of the
 * deployment ECS started. When the service already runs the target (a re-run while the first
 * run's deployment still rolls), it watches that deployment instead of starting another.
 */
export async function updateService(
  { release, target }: UpdateServiceInput,
  deps: ReleaseDeps,
): Promise<Tracker> {
  const now = deps.now().getTime();
  const fields = {
    kind: 'release' as const,
    taskDefinitionArn: target.taskDefinitionArn,
    revision: target.revision,
  };
  if (!target.changed) {
    logger.info('the service already runs the target revision; watching its deployment', {
      deploymentId: release.current.deploymentId,
    });
    return startTracker(
      { ...fields, deploymentId: release.current.deploymentId },
      release.timeoutMinutes,
      now,
    );
  }
  const deploymentId = await startDeployment(
    release,
    target.taskDefinitionArn,
    ` of cluster ${release.cluster}`,
    deps,
  );
  logger.info('deployment started', { deploymentId, taskDefinitionArn: target.taskDefinitionArn });
  return startTracker({ ...fields, deploymentId }, release.timeoutMinutes, now);
}

/** Points the service at `taskDefinitionArn`; the id of the PRIMARY deployment of it ECS started. */
async function startDeployment(
  release: PreparedRelease,
  taskDefinitionArn: string,
  where: string,
  deps: ReleaseDeps,
): Promise<string> {
  const service = await updateServiceTaskDefinition(
    release.cluster,
    release.service,
    taskDefinitionArn,
    deps.clients.ecs,
  );
  const deployment = service.deployments?.find(
    (d) => d.status === 'PRIMARY' && d.taskDefinition === taskDefinitionArn,
  );
  if (!deployment?.id) {
    throw new Error(
      `ECS started no deployment of ${taskDefinitionArn} on service ${release.service}${where}`,
    );
  }
  return deployment.id;
}

export const checkDeploymentInputSchema = z.object({
  release: preparedReleaseSchema,
  deployment: trackerSchema,
});
export type CheckDeploymentInput = z.output<typeof checkDeploymentInputSchema>;

/**
 * Check Deployment / Check Rollback: one look at a deployment, judged by its own
 * `rolloutState` and the circuit breaker. The tracker with the state, the next wait (growing
 * geometrically, never past the deadline) and, when it failed or timed out, what failed, from
 * the stopped tasks and the service events.
 */
export async function checkDeployment(
  { release, deployment }: CheckDeploymentInput,
  deps: ReleaseDeps,
): Promise<Tracker> {
  const service = await describeService(release.cluster, release.service, deps.clients.ecs);
  const now = deps.now().getTime();
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
    const stoppedTasks = await stoppedTasksOf(
      release.cluster,
      deployment.deploymentId,
      undefined,
      deps.clients.ecs,
    );
    const events = (service.events ?? [])
      .filter((e) => (e.createdAt?.getTime() ?? 0) >= since && e.message)
      .map((e) => e.message as string);
    const timedOut = verdict.state === 'IN_PROGRESS';
    const stage = findStage(deps.config, release.app, release.stage);
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

export const rollBackInputSchema = z.object({
  PrepareResult: preparedReleaseSchema,
  Deployment: trackerSchema,
  /** Set when Check Deployment itself failed: the deployment could not be watched. */
  CheckError: z.object({ Error: z.string(), Cause: z.string().optional() }).optional(),
});
export type RollBackInput = z.output<typeof rollBackInputSchema>;

/**
 * Roll Back, after a deployment failed, timed out or could not be watched: the tracker of the
 * rollback deployment. When the ECS circuit breaker (or another update) already moved the
 * service, it only watches that deployment: never a second rollback. Otherwise it points the
 * service back at the last good revision.
 */
export async function rollBackRelease(input: RollBackInput, deps: ReleaseDeps): Promise<Tracker> {
  const { PrepareResult: release, Deployment: failed, CheckError } = input;
  const now = deps.now().getTime();
  const failure: Failure = failed.failure ?? {
    error: 'DeploymentFailed',
    reason: `deployment ${failed.deploymentId} could not be watched (${CheckError?.Error ?? 'unknown error'}: ${causeMessage(CheckError?.Cause)})`,
  };
  const rollbackOf = {
    description: describeRelease(release, failed.revision),
    error: failure.error,
    reason: failure.reason,
  };
  if (failure.replacedBy) {
    const by = failure.replacedBy;
    logger.info('the service already moved on; watching that deployment instead of rolling back again', {
      ...by,
    });
    return startTracker(
      {
        kind: 'rollback',
        deploymentId: by.deploymentId,
        taskDefinitionArn: by.taskDefinitionArn,
        revision: by.revision,
        rollbackOf,
        rolledBackBy: by.byCircuitBreaker ? 'circuit-breaker' : 'another-update',
      },
      release.timeoutMinutes,
      now,
    );
  }
  const previous = release.previous;
  if (previous.taskDefinitionArn === failed.taskDefinitionArn) {
    // Nothing better to return to: the failed revision is the last one known good.
    const ended: Tracker = {
      ...startTracker(
        {
          kind: 'rollback',
          deploymentId: failed.deploymentId,
          ...previous,
          rollbackOf,
          rolledBackBy: 'stackpilot',
        },
        release.timeoutMinutes,
        now,
      ),
      state: 'FAILED',
      failure: {
        error: 'RollbackFailed',
        reason: `revision ${previous.revision} is the only known good revision`,
      },
    };
    return { ...ended, outcome: finalOutcome(ended) };
  }
  const deploymentId = await startDeployment(release, previous.taskDefinitionArn, '', deps);
  logger.info('rolling back', { deploymentId, to: previous.taskDefinitionArn, failure });
  return startTracker(
    { kind: 'rollback', deploymentId, ...previous, rollbackOf, rolledBackBy: 'stackpilot' },
    release.timeoutMinutes,
    now,
  );
}

export const recordReleaseInputSchema = z.object({
  PrepareResult: preparedReleaseSchema,
  Target: targetSchema,
  Deployment: trackerSchema.optional(),
  Rollback: trackerSchema.optional(),
});
export type RecordReleaseInput = z.output<typeof recordReleaseInputSchema>;

export interface RecordResult {
  readonly result: ReleaseResult;
  /** The history key written; absent when the newest record already said the same. */
  readonly key?: string;
}

/**
 * Record Release / Record Failed Release: writes the release's result on its revision (tag
 * `stackpilot:result`), the image a completed release left running into the stage's
 * released-image parameter (so a later `cdk deploy` keeps it), and one record in the history
 * (`releases/<app>/<stage>/…json`). A re-run that changed nothing adds no record.
 */
export async function recordRelease(input: RecordReleaseInput, deps: ReleaseDeps): Promise<RecordResult> {
  const { PrepareResult: release, Target: target } = input;
  const record = releaseRecord(input, deps.now().toISOString());
  const { result } = record;
  await tagTaskDefinition(
    target.taskDefinitionArn,
    [{ key: RELEASE_TAGS.result, value: result }],
    deps.clients.ecs,
  );
  // Before the history: a retry after a failed history write still records the image.
  if (result === 'COMPLETED' && record.image) {
    const parameter = await recordReleasedImage(release.app, release.stage, record.image, deps.clients.ssm);
    logger.info('released image recorded', parameter);
  }
  const bucket = historyBucket();
  let key: string | undefined;
  if (
    !target.changed &&
    alreadyRecorded(
      await listHistoryKeys(bucket, release.app, release.stage, deps.clients.s3),
      target.revision,
      result,
    )
  ) {
    logger.info('already recorded', { revision: target.revision, result });
  } else {
    key = await putRecord(bucket, record, deps.clients.s3);
    logger.info('release recorded', { key, result });
  }
  // The release is over: the next one of the stage may go.
  if (release.executionArn)
    await leaveStage(bucket, release.app, release.stage, release.executionArn, deps.clients.s3);
  return key ? { result, key } : { result };
}

const caughtSchema = z.object({ Error: z.string(), Cause: z.string().optional() });

/** What Leave Stage gets of a failed release: its state, each step's Catch at its own path. */
export const failedReleaseSchema = z.object({
  PrepareError: caughtSchema.optional(),
  RegisterError: caughtSchema.optional(),
  UpdateError: caughtSchema.optional(),
  RollbackError: caughtSchema.optional(),
  Rollback: z.object({ outcome: z.object({ error: z.string(), cause: z.string() }).optional() }).optional(),
  RecordError: caughtSchema.optional(),
});
export type FailedRelease = z.output<typeof failedReleaseSchema>;

/** What a failed step means for the service, by the path its Catch writes to. */
const FAILED_STEPS = [
  ['PrepareError', 'Prepare Release', undefined, 'The service was not changed.'],
  ['RegisterError', 'Register Task Definition', undefined, 'The service was not changed.'],
  ['UpdateError', 'Update Service', undefined, 'The service still runs its previous revision.'],
  [
    'RollbackError',
    'Rolling back',
    'RollbackFailed',
    'The service may still run the failed revision: check it now.',
  ],
] as const;
const NOT_RECORDED = 'The new revision is live; run the release again to record it.';

/**
 * What a failed release tells: Error names what failed, Cause reads
 * `<step> failed: <message>. <what it means for the service>`; after a rollback, its outcome
 * (what failed and which revision runs now), even when the failed release could not be recorded.
 */
export function explainReleaseFailure(failed: FailedRelease): CaughtError {
  for (const [path, step, error, note] of FAILED_STEPS) {
    const caught = failed[path];
    if (caught) {
      const explained = explainCaught(step, caught);
      return { Error: error ?? explained.Error, Cause: `${explained.Cause}. ${note}` };
    }
  }
  if (failed.Rollback?.outcome)
    return { Error: failed.Rollback.outcome.error, Cause: failed.Rollback.outcome.cause };
  const { Cause } = explainCaught('Record Release', failed.RecordError ?? { Error: 'unknown' });
  return { Error: 'ReleaseNotRecorded', Cause: `${Cause}. ${NOT_RECORDED}` };
}

export const leaveStageInputSchema = z.object({
  input: z.unknown(),
  executionArn: z.string().min(1),
  failed: failedReleaseSchema,
});
export type LeaveStageInput = z.output<typeof leaveStageInputSchema>;
const stageSchema = z.object({ app: z.string().min(1), stage: z.string().min(1) });

/**
 * Leave Stage, on every path to "Release Failed": the release's Error and Cause (see
 * {@link explainReleaseFailure}), and `freed`, true when this execution held the stage's release
 * lease and freed it, so the next release of the stage goes. An input without an app and a stage
 * (a release refused at once) holds nothing. A lease that cannot be freed never hides the
 * release's failure: the next release finds its holder ended and takes it over.
 */
export async function leaveReleaseStage(
  { input, executionArn, failed }: LeaveStageInput,
  deps: ReleaseDeps,
): Promise<CaughtError & { freed: boolean }> {
  const failure = explainReleaseFailure(failed);
  const stage = stageSchema.safeParse(input);
  if (!stage.success) return { ...failure, freed: false };
  const { app, stage: name } = stage.data;
  try {
    const freed = await leaveStage(historyBucket(), app, name, executionArn, deps.clients.s3);
    logger.info('stage left', { ...stage.data, freed });
    return { ...failure, freed };
  } catch (error) {
    logger.error('could not leave the stage', { ...stage.data, error });
    return { ...failure, freed: false };
  }
}

/**
 * The alert of a failed, timed-out or aborted release execution: puts a "stackpilot Release
 * Failed" event, which the stage's rule sends to the stage's alert topic. An execution that
 * names no stage is logged and dropped; a refused PutEvents throws (Lambda's asynchronous
 * retries try again).
 */
export async function routeReleaseAlert(
  change: ExecutionStatusChange,
  deps: ReleaseDeps,
): Promise<{ routed: false } | { routed: true; app: string; stage: string }> {
  const detail = releaseFailedDetail(change);
  if ('skipped' in detail) {
    logger.warn('no release alert', { reason: detail.skipped });
    return { routed: false };
  }
  await putReleaseFailed(detail, deps.clients.eventBridge);
  logger.info('release alert routed', { app: detail.app, stage: detail.stage, status: detail.status });
  return { routed: true, app: detail.app, stage: detail.stage };
}
