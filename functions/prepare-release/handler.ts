/**
 * "Prepare Release" of the `release` state machine: parses the execution input (release,
 * redeploy or rollback), finds the stage's service, the revision it runs and the last
 * good one, and for a rollback the revision to return to; then asks for the stage's lease
 * (one release per stage: go, wait, or superseded by a newer release). Changes nothing else.
 */
import * as z from 'zod';
import { actionOf, releaseInputSchemaFor } from '#events/release.ts';
import { findStage, runtimeConfig, type StackpilotConfig } from '#shared/config.ts';
import { InvalidInput, parseInput } from '#shared/errors.ts';
import { releaseTimeoutMinutes } from '#shared/health.ts';
import { ecrRepositoryName, stageNames } from '#shared/naming.ts';
import { instrumentTask, logger } from '#shared/powertools.ts';
import { imageInRepository } from '#shared/release/ecr.ts';
import { describeService, describeTaskDefinition } from '#shared/release/ecs.ts';
import { NoPreviousRelease, RevisionNotFound, ServiceNotFound } from '#shared/release/errors.ts';
import { rollbackCandidates } from '#shared/release/history.ts';
import { historyBucket, listHistoryKeys } from '#shared/release/history-store.ts';
import { enterStage } from '#shared/release/lease-store.ts';
import type { PreparedRelease } from '#shared/release/model.ts';
import { findAppContainer, parseTaskDefinitionArn } from '#shared/release/task-definition.ts';

const eventSchema = z.object({
  input: z.unknown(),
  executionName: z.string().min(1),
  /** `$$.Execution.Id` and `$$.Execution.StartTime`: the release's place in the stage's line. */
  executionArn: z.string().min(1).optional(),
  executionStartTime: z.string().min(1).optional(),
});

/** A commit id in an image tag (`…/stackpilot/web:<commit>`), recorded when the input names no commit. */
function commitFromTag(image: string): string | undefined {
  return /:([0-9a-f]{40}|[0-9a-f]{64})(@|$)/.exec(image)?.[1];
}

/** How many recorded good revisions a rollback tries before giving up (deregistered ones are skipped). */
const ROLLBACK_CANDIDATES = 5;

export interface PrepareOptions {
  /** Clock, in milliseconds (tests move it). */
  readonly now?: () => number;
}

/** Prepare Release: the parsed input, the service's current and last good revisions, a rollback's target. */
export async function prepareRelease(event: unknown, options: PrepareOptions = {}): Promise<PreparedRelease> {
  const {
    input: raw,
    executionName,
    executionArn,
    executionStartTime,
  } = parseInput(eventSchema, event, 'Prepare Release input');
  const input = parseInput(releaseInputSchemaFor(raw), raw, 'release input');
  const config = runtimeConfig();
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
  const service = await describeService(names.cluster, names.service);
  const deployments = service.deployments ?? [];
  const primary = deployments.find((d) => d.status === 'PRIMARY');
  if (!primary?.id || !primary.taskDefinition) {
    throw new ServiceNotFound(`ECS service ${names.service} has no PRIMARY deployment`);
  }
  const current = parseTaskDefinitionArn(primary.taskDefinition);
  // A failed release returns to the last revision known good: the PRIMARY one when it
  // completed, else the completed deployment it is replacing (a release interrupted mid-way).
  const lastGood =
    primary.rolloutState === 'COMPLETED'
      ? primary
      : (deployments.find((d) => d.id !== primary.id && d.rolloutState === 'COMPLETED') ?? primary);
  const previousArn = lastGood.taskDefinition ?? primary.taskDefinition;

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
    startedAt: new Date((options.now ?? Date.now)()).toISOString(),
  };
  if ('image' in input) {
    if (input.promotedFrom)
      await checkPromotion(config, input.app, input.stage, input.promotedFrom, input.image);
    const commit = input.commit ?? commitFromTag(input.image);
    Object.assign(prepared, {
      image: input.image,
      ...(commit ? { commit } : {}),
      ...(input.promotedFrom ? { promotedFrom: input.promotedFrom } : {}),
    });
  } else {
    const target = await rollbackTarget(
      input.app,
      input.stage,
      names.taskFamily,
      current.revision,
      input.toRevision,
    );
    prepared.rollbackTarget = { ...target, changed: target.taskDefinitionArn !== primary.taskDefinition };
  }
  if (executionArn && executionStartTime) {
    // One release per stage: last, so a release that waits prepares again from what the previous one left.
    const lease = await enterStage(historyBucket(), input.app, input.stage, {
      execution: executionArn,
      startedAt: executionStartTime,
    });
    prepared.executionArn = executionArn;
    prepared.lease = {
      decision: lease.decision,
      reason: lease.reason,
      ...(lease.decision === 'superseded'
        ? { by: lease.newest.execution }
        : lease.decision === 'wait'
          ? { by: lease.holder.execution }
          : {}),
    };
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
): Promise<void> {
  if (!findStage(config, app, from)) {
    throw new InvalidInput(
      `cannot promote ${app}/${stage} from ${from}: app ${app} has no stage ${from} (stages: ${Object.keys(config.apps[app]?.stages ?? {}).join(', ')})`,
    );
  }
  if (!(await imageInRepository(app, image))) {
    throw new InvalidInput(
      `cannot promote ${image} from ${app}/${from} to ${stage}: the image is no longer in ECR repository ${ecrRepositoryName(app)} (it keeps the newest imagesToKeep images); deploy ${from} again and promote that release`,
    );
  }
}

async function activeRevision(family: string, revision: number) {
  const { taskDefinition } = await describeTaskDefinition(`${family}:${revision}`);
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
  app: string,
  stage: string,
  family: string,
  running: number,
  toRevision?: number,
) {
  if (toRevision !== undefined) return activeRevision(family, toRevision);
  const candidates = rollbackCandidates(await listHistoryKeys(historyBucket(), app, stage), running);
  for (const revision of candidates.slice(0, ROLLBACK_CANDIDATES)) {
    try {
      return await activeRevision(family, revision);
    } catch (error) {
      if (!(error instanceof RevisionNotFound)) throw error;
      logger.warn('skipping a recorded revision that cannot be deployed', { revision, error });
    }
  }
  throw new NoPreviousRelease(
    `no earlier successful release of ${app}/${stage} other than the running revision ${running} is recorded${candidates.length > 0 ? ' that can still be deployed' : ''}; name one with "toRevision"`,
  );
}

export const handler = instrumentTask((event: unknown) => prepareRelease(event));
