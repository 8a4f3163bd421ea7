/**
 * The stage lease of the releases as one S3 object per stage, changed only by conditional
 * writes (If-Match on its ETag, If-None-Match when it does not exist yet), so two releases
 * racing for one stage cannot both take it. Whether a holder still runs is asked of Step
 * Functions (an execution stopped by hand never frees its lease itself).
 */

import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { TransientError } from '../errors.ts';
import {
  decideLease,
  type LeaseDecision,
  type LeaseEntry,
  leaseKey,
  leaveLease,
  type StageLease,
} from './lease.ts';

const statusOf = (error: unknown) =>
  (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

async function read(
  s3: S3Client,
  bucket: string,
  key: string,
): Promise<{ lease?: StageLease; etag?: string }> {
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return {
      lease: JSON.parse((await response.Body?.transformToString()) ?? '{}') as StageLease,
      etag: response.ETag,
    };
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey' || statusOf(error) === 404) return {};
    throw error;
  }
}

/** Writes the lease if it is still the one read; false when another release changed it first. */
async function write(s3: S3Client, bucket: string, key: string, lease: StageLease, etag?: string) {
  try {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: JSON.stringify(lease),
        ContentType: 'application/json',
        ...(etag ? { IfMatch: etag } : { IfNoneMatch: '*' }),
      }),
    );
    return true;
  } catch (error) {
    // 412: changed since read; 409: another conditional write in flight.
    if (statusOf(error) === 412 || statusOf(error) === 409) return false;
    throw error;
  }
}

/** Whether an execution still runs (undefined when Step Functions cannot say). */
async function isRunning(sfn: SFNClient, executionArn: string): Promise<boolean | undefined> {
  try {
    const { status } = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    return status === 'RUNNING' || status === 'PENDING_REDRIVE';
  } catch (error) {
    if ((error as Error).name === 'ExecutionDoesNotExist') return false;
    throw error;
  }
}

export interface LeaseClients {
  readonly s3: S3Client;
  readonly sfn: SFNClient;
}

/** Asks for the stage: go (holds it), wait, or superseded. */
export async function enterStage(
  bucket: string,
  app: string,
  stage: string,
  me: LeaseEntry,
  clients: LeaseClients,
): Promise<LeaseDecision> {
  const s3 = clients.s3;
  const key = leaseKey(app, stage);
  for (let round = 0; round < 5; round++) {
    const { lease, etag } = await read(s3, bucket, key);
    const holder = lease?.holder;
    const running =
      holder && holder.execution !== me.execution
        ? await isRunning(clients.sfn, holder.execution)
        : undefined;
    const decision = decideLease(lease, me, running);
    if (decision.decision === 'superseded' || !decision.next) return decision;
    if (await write(s3, bucket, key, decision.next, etag)) return decision;
  }
  throw new TransientError(`the release lease of ${app}/${stage} kept changing while being taken; retrying`);
}

/** Frees the stage when `execution` holds it; does nothing otherwise. */
export async function leaveStage(
  bucket: string,
  app: string,
  stage: string,
  execution: string,
  s3: S3Client,
): Promise<boolean> {
  const key = leaseKey(app, stage);
  for (let round = 0; round < 5; round++) {
    const { lease, etag } = await read(s3, bucket, key);
    const next = leaveLease(lease, execution);
    if (!next) return false;
    if (await write(s3, bucket, key, next, etag)) return true;
  }
  throw new TransientError(`the release lease of ${app}/${stage} kept changing while being freed; retrying`);
}
