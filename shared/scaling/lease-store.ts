/**
 * The guard's storage: event markers and (stage, target) leases as S3 objects, written with
 * conditional writes so that two executions racing for the same key cannot both win.
 */
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ConfigError } from '../config.ts';
import { requiredEnv } from '../env.ts';
import { TransientError } from '../errors.ts';
import type { ScaleTarget } from '../naming.ts';
import {
  type EventMarker,
  eventMarkerKey,
  type Lease,
  leaseDecision,
  leaseKey,
  markerDecision,
  newLease,
} from './guard.ts';

export interface AcquireRequest {
  readonly bucket: string;
  readonly app: string;
  readonly stage: string;
  readonly target: ScaleTarget;
  readonly eventKey: string;
  /** The execution asking (its ARN). */
  readonly owner: string;
  readonly leaseSeconds: number;
}

export type AcquireResult =
  | {
      readonly acquired: true;
      readonly leaseKey: string;
      readonly expiresAt: string;
      readonly reason: string;
    }
  | { readonly acquired: false; readonly duplicate: boolean; readonly reason: string };

interface Stored<T> {
  readonly value: T;
  readonly etag: string;
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

/** Writes the object only if it does not exist (`If-None-Match: *`) or still has `etag`. False when the condition fails. */
async function putConditional(
  s3: S3Client,
  bucket: string,
  key: string,
  body: unknown,
  condition: { ifNoneMatch: true } | { ifMatch: string },
): Promise<boolean> {
  try {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: JSON.stringify(body),
        ContentType: 'application/json',
        ...('ifMatch' in condition ? { IfMatch: condition.ifMatch } : { IfNoneMatch: '*' }),
      }),
    );
    return true;
  } catch (error) {
    const status = statusOf(error);
    if (status === 412) return false;
    // 409: another conditional write on the same key is in flight; the step retries.
    if (status === 409) throw new TransientError(`conditional write conflict on ${key}, retrying`);
    throw error;
  }
}

async function getJson<T>(s3: S3Client, bucket: string, key: string): Promise<Stored<T> | undefined> {
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const text = (await response.Body?.transformToString()) ?? '';
    return { value: JSON.parse(text) as T, etag: response.ETag ?? '' };
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey' || statusOf(error) === 404) return undefined;
    throw error;
  }
}

/**
 * Records the event and takes the (stage, target) lease. Not acquired when the event was
 * already handled by another execution, or when another loop holds an unexpired lease.
 * Safe to retry: a retry of the same execution finds its own marker and lease.
 */
export async function acquireScalingLease(
  request: AcquireRequest,
  now: () => Date,
  s3: S3Client,
): Promise<AcquireResult> {
  const { bucket, app, stage, target, eventKey, owner } = request;
  const what = `the ${target} of ${app}/${stage}`;
  const markerKey = eventMarkerKey(app, stage, target, eventKey);
  const marker: EventMarker = { owner, handledAt: now().toISOString() };
  if (!(await putConditional(s3, bucket, markerKey, marker, { ifNoneMatch: true }))) {
    const existing = await getJson<EventMarker>(s3, bucket, markerKey);
    if (existing && markerDecision(existing.value, owner) === 'duplicate')
      return {
        acquired: false,
        duplicate: true,
        reason: `event ${eventKey} was already handled by ${existing.value.owner}`,
      };
  }
  const key = leaseKey(app, stage, target);
  // Three rounds cover a lease released or taken over between our write and our read.
  for (let round = 0; round < 3; round++) {
    const lease = newLease(owner, eventKey, request.leaseSeconds, now());
    if (await putConditional(s3, bucket, key, lease, { ifNoneMatch: true }))
      return { acquired: true, leaseKey: key, expiresAt: lease.expiresAt, reason: `lease on ${what} taken` };
    const existing = await getJson<Lease>(s3, bucket, key);
    if (!existing) continue;
    const decision = leaseDecision(existing.value, owner, now());
    if (decision === 'mine')
      return {
        acquired: true,
        leaseKey: key,
        expiresAt: existing.value.expiresAt,
        reason: `lease on ${what} already held by this execution`,
      };
    if (decision === 'busy')
      return {
        acquired: false,
        duplicate: false,
        reason: `a scaling loop for ${what} is already running (${existing.value.owner}, since ${existing.value.acquiredAt})`,
      };
    if (await putConditional(s3, bucket, key, lease, { ifMatch: existing.etag }))
      return {
        acquired: true,
        leaseKey: key,
        expiresAt: lease.expiresAt,
        reason: `expired lease on ${what} (held by ${existing.value.owner}) taken over`,
      };
  }
  throw new TransientError(`the lease on ${what} changed hands repeatedly; retrying`);
}

/** Gives the lease back if `owner` still holds it; never removes another execution's lease. */
export async function releaseScalingLease(
  request: Pick<AcquireRequest, 'bucket' | 'app' | 'stage' | 'target' | 'owner'>,
  s3: S3Client,
): Promise<{ released: boolean; reason: string }> {
  const { bucket, app, stage, target, owner } = request;
  const key = leaseKey(app, stage, target);
  const existing = await getJson<Lease>(s3, bucket, key);
  if (!existing) return { released: false, reason: 'no lease held' };
  if (existing.value.owner !== owner)
    return { released: false, reason: `the lease is held by ${existing.value.owner}, not this execution` };
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  return { released: true, reason: `lease on the ${target} of ${app}/${stage} released` };
}

/** Environment variable naming the guard's bucket (set by the CDK construct and the sandbox). */
export const GUARD_BUCKET_ENV = 'SCALING_GUARD_BUCKET';

/** The guard's bucket; fails fast naming the variable when it is not set. */
export function guardBucket(): string {
  return requiredEnv(GUARD_BUCKET_ENV, { error: ConfigError });
}
