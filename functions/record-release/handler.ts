/**
 * "Record Release" and "Record Failed Release" of the `release` state machine: writes
 * the release's result on its revision (tag `stackpilot:result`), the image a completed
 * release left running into the stage's released-image parameter (so a later `cdk deploy`
 * keeps it), and one record in the history (`releases/<app>/<stage>/…json`). A re-run that
 * changed nothing adds no record.
 */
import * as z from 'zod';
import { parseInput } from '#shared/errors.ts';
import { instrumentTask, logger } from '#shared/powertools.ts';
import { tagTaskDefinition } from '#shared/release/ecs.ts';
import { alreadyRecorded, type ReleaseRecord, type ReleaseResult } from '#shared/release/history.ts';
import { historyBucket, listHistoryKeys, putRecord } from '#shared/release/history-store.ts';
import { leaveStage } from '#shared/release/lease-store.ts';
import { preparedReleaseSchema, targetSchema, trackerSchema } from '#shared/release/model.ts';
import { recordReleasedImage } from '#shared/release/released-image.ts';
import { RELEASE_TAGS } from '#shared/release/task-definition.ts';

const eventSchema = z.object({
  PrepareResult: preparedReleaseSchema,
  Target: targetSchema,
  Deployment: trackerSchema.optional(),
  Rollback: trackerSchema.optional(),
});

export interface RecordOptions {
  /** Clock, in milliseconds (tests move it). */
  readonly now?: () => number;
}

export interface RecordResult {
  readonly result: ReleaseResult;
  /** The history key written; absent when the newest record already said the same. */
  readonly key?: string;
}

/** Record Release / Record Failed Release: tags the revision and adds the history record. */
export async function recordRelease(event: unknown, options: RecordOptions = {}): Promise<RecordResult> {
  const {
    PrepareResult: release,
    Target: target,
    Deployment,
    Rollback,
  } = parseInput(eventSchema, event, 'Record Release input');
  const result: ReleaseResult = !Rollback
    ? 'COMPLETED'
    : Rollback.state === 'COMPLETED'
      ? 'ROLLED_BACK'
      : 'ROLLBACK_FAILED';
  const record: ReleaseRecord = {
    app: release.app,
    stage: release.stage,
    action: release.action,
    ...(release.commit ? { commit: release.commit } : {}),
    ...(release.promotedFrom ? { promotedFrom: release.promotedFrom } : {}),
    ...((target.image ?? release.image) ? { image: target.image ?? release.image } : {}),
    revision: target.revision,
    taskDefinitionArn: target.taskDefinitionArn,
    result,
    runningRevision: Rollback?.state === 'COMPLETED' ? Rollback.revision : target.revision,
    ...(Deployment ? { deploymentId: Deployment.deploymentId } : {}),
    ...(Rollback?.outcome ? { error: Rollback.outcome.error, cause: Rollback.outcome.cause } : {}),
    execution: release.execution,
    startedAt: release.startedAt,
    finishedAt: new Date((options.now ?? Date.now)()).toISOString(),
  };
  await tagTaskDefinition(target.taskDefinitionArn, [{ key: RELEASE_TAGS.result, value: result }]);
  // Before the history: a retry after a failed history write still records the image.
  if (result === 'COMPLETED' && record.image) {
    const parameter = await recordReleasedImage(release.app, release.stage, record.image);
    logger.info('released image recorded', parameter);
  }
  const bucket = historyBucket();
  let key: string | undefined;
  if (
    !target.changed &&
    alreadyRecorded(await listHistoryKeys(bucket, release.app, release.stage), target.revision, result)
  ) {
    logger.info('already recorded', { revision: target.revision, result });
  } else {
    key = await putRecord(bucket, record);
    logger.info('release recorded', { key, result });
  }
  // The release is over: the next one of the stage may go.
  if (release.executionArn) await leaveStage(bucket, release.app, release.stage, release.executionArn);
  return key ? { result, key } : { result };
}

export const handler = instrumentTask((event: unknown) => recordRelease(event));
