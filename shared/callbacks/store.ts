/**
 * Where task-token waits meet their events: S3 objects under `callbacks/<kind>/<id>/` of the
 * control plane's source bucket (`token.json` written by the wait, `outcome.json` by the
 * relay). S3 reads are strongly consistent after writes, so of a wait and a relay racing on
 * one key, at least one sees the other's object.
 */
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { requiredEnv } from '../env.ts';
import {
  callbackPrefix,
  type Outcome,
  outcomeSchema,
  type StoredWait,
  storedWaitSchema,
  type WaitKind,
} from './model.ts';

/** Name of the environment variable holding the callback bucket. */
export const CALLBACK_BUCKET_ENV = 'CALLBACK_BUCKET';

/** The callback bucket; fails naming the variable when it is not set. */
export function callbackBucket(): string {
  return requiredEnv(CALLBACK_BUCKET_ENV);
}

const tokenKey = (kind: WaitKind, id: string) => `${callbackPrefix(kind, id)}token.json`;
const outcomeKey = (kind: WaitKind, id: string) => `${callbackPrefix(kind, id)}outcome.json`;

async function putJson(s3: S3Client, bucket: string, key: string, value: unknown): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: JSON.stringify(value),
      ContentType: 'application/json',
    }),
  );
}

async function getJson(s3: S3Client, bucket: string, key: string): Promise<unknown> {
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return JSON.parse((await response.Body?.transformToString()) ?? 'null');
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if ((error as Error).name === 'NoSuchKey' || status === 404) return undefined;
    throw error;
  }
}

/** Stores a wait's token (a later wait on the same key replaces it). */
export async function putWait(bucket: string, wait: StoredWait, s3: S3Client): Promise<void> {
  await putJson(s3, bucket, tokenKey(wait.kind, wait.id), wait);
}

/** The stored wait on a key, or undefined. */
export async function getWait(
  bucket: string,
  kind: WaitKind,
  id: string,
  s3: S3Client,
): Promise<StoredWait | undefined> {
  const value = await getJson(s3, bucket, tokenKey(kind, id));
  return value === undefined ? undefined : storedWaitSchema.parse(value);
}

/** Records what an event said about a key. */
export async function putOutcome(bucket: string, outcome: Outcome, s3: S3Client): Promise<void> {
  await putJson(s3, bucket, outcomeKey(outcome.kind, outcome.id), outcome);
}

/** The recorded outcome of a key, or undefined. */
export async function getOutcome(
  bucket: string,
  kind: WaitKind,
  id: string,
  s3: S3Client,
): Promise<Outcome | undefined> {
  const value = await getJson(s3, bucket, outcomeKey(kind, id));
  return value === undefined ? undefined : outcomeSchema.parse(value);
}

/**
 * Forgets an outcome once it has resumed a wait: a pipeline execution retried after a failure
 * ends again, and its next wait must wait for that new end, not resume on the old one.
 */
export async function deleteOutcome(bucket: string, kind: WaitKind, id: string, s3: S3Client): Promise<void> {
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: outcomeKey(kind, id) }));
}
