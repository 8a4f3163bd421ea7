/**
 * The preview records in S3 (`shared/preview/model.ts`): one object per open preview under
 * `previews/<app>/<stage>/` of the control plane's source bucket, named by `PREVIEW_BUCKET`
 * (set by the CDK constructs).
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { requiredEnv } from '../env.ts';
import { previewNames, previewPrefix } from '../naming.ts';
import { type PreviewRecord, previewRecordSchema } from './model.ts';

/** Name of the environment variable holding the bucket of the preview records. */
export const PREVIEW_BUCKET_ENV = 'PREVIEW_BUCKET';

/** The bucket of the preview records; fails naming the variable when it is not set. */
export function previewBucket(): string {
  return requiredEnv(PREVIEW_BUCKET_ENV);
}

/** The numbers of a stage's open previews (every page), in ascending order. */
export async function listPreviewNumbers(
  bucket: string,
  app: string,
  stage: string,
  s3: S3Client,
): Promise<number[]> {
  const prefix = previewPrefix(app, stage);
  const numbers: number[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) {
      const match = /^pr-(\d+)\.json$/.exec(object.Key?.slice(prefix.length) ?? '');
      if (match?.[1]) numbers.push(Number(match[1]));
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return numbers.sort((a, b) => a - b);
}

/** One preview's record, or undefined when it has none (never served, or removed). */
export async function getPreviewRecord(
  bucket: string,
  app: string,
  stage: string,
  number: number,
  s3: S3Client,
): Promise<PreviewRecord | undefined> {
  try {
    const object = await s3.send(
      new GetObjectCommand({ Bucket: bucket, Key: previewNames(app, stage, number).recordKey }),
    );
    const text = (await object.Body?.transformToString()) ?? '';
    return previewRecordSchema.parse(JSON.parse(text));
  } catch (error) {
    if (error instanceof NoSuchKey || (error as Error).name === 'NoSuchKey') return undefined;
    throw error;
  }
}

/** Every open preview of a stage, in ascending order of number. */
export async function listPreviewRecords(
  bucket: string,
  app: string,
  stage: string,
  s3: S3Client,
): Promise<PreviewRecord[]> {
  const numbers = await listPreviewNumbers(bucket, app, stage, s3);
  const records = await Promise.all(numbers.map((n) => getPreviewRecord(bucket, app, stage, n, s3)));
  return records.filter((r): r is PreviewRecord => r !== undefined);
}

/** Writes a preview's record (created or updated). */
export async function putPreviewRecord(bucket: string, record: PreviewRecord, s3: S3Client): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: previewNames(record.app, record.stage, record.number).recordKey,
      Body: `${JSON.stringify(previewRecordSchema.parse(record), null, 2)}\n`,
      ContentType: 'application/json',
    }),
  );
}

/** Deletes a preview's record; deleting one that is gone is not an error (S3 answers 204 either way). */
export async function deletePreviewRecord(
  bucket: string,
  app: string,
  stage: string,
  number: number,
  s3: S3Client,
): Promise<void> {
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: previewNames(app, stage, number).recordKey }));
}
