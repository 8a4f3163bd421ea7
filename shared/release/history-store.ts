/**
 * The release history in S3 (see `shared/release/history.ts` for the layout). The bucket
 * comes from `RELEASE_HISTORY_BUCKET`, set by the CDK construct.
 */
import { ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { requiredEnv } from '../env.ts';
import { historyPrefix, type ReleaseRecord, recordKey } from './history.ts';

/** Name of the environment variable holding the history bucket. */
export const HISTORY_BUCKET_ENV = 'RELEASE_HISTORY_BUCKET';

/** The history bucket; fails naming the variable when it is not set. */
export function historyBucket(): string {
  return requiredEnv(HISTORY_BUCKET_ENV);
}

/** Every key of a stage's history (all pages). */
export async function listHistoryKeys(
  bucket: string,
  app: string,
  stage: string,
  s3: S3Client,
): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: historyPrefix(app, stage),
        ContinuationToken: token,
      }),
    );
    for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

/** Stores one record; returns its key. */
export async function putRecord(bucket: string, record: ReleaseRecord, s3: S3Client): Promise<string> {
  const key = recordKey(record);
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: `${JSON.stringify(record, null, 2)}\n`,
      ContentType: 'application/json',
    }),
  );
  return key;
}
