/**
 * Streams a body of unknown length to S3 with `@aws-sdk/lib-storage` (multipart, a bounded
 * number of bounded parts in memory) and guarantees that a failed upload leaves nothing
 * behind: the multipart upload is aborted by us, so an abort problem never hides the error
 * that caused it, and is logged instead.
 */
import type { Readable } from 'node:stream';
import { AbortMultipartUploadCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { logger } from '../powertools.ts';

/**
 * 8 MiB parts, 2 in flight: about 32 MiB of the body in memory (the parts in flight, the
 * one being filled and its copy) whatever its size; 10,000 parts allow bodies up to 78 GiB.
 */
export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
export const DEFAULT_QUEUE_SIZE = 2;

export interface StreamUploadOptions {
  readonly bucket: string;
  readonly key: string;
  readonly body: Readable;
  readonly contentType?: string;
  /** User metadata (`x-amz-meta-*`): ASCII keys and values. */
  readonly metadata?: Record<string, string>;
  readonly partSize?: number;
  readonly queueSize?: number;
  readonly client: S3Client;
  /** Called once the upload has failed, before the multipart upload is aborted (stop the producer here). */
  readonly onFailure?: (error: unknown) => void;
}

export interface StreamUploadResult {
  /** Undefined when the bucket is not versioned. */
  readonly versionId: string | undefined;
  readonly etag: string | undefined;
}

/**
 * Uploads `body` to `s3://bucket/key`. On failure (of the body stream or of S3), aborts the
 * multipart upload and rethrows the original error; an abort that fails is logged with the
 * upload id, never thrown (a lifecycle rule on the bucket removes such leftovers).
 */
export async function uploadStream(options: StreamUploadOptions): Promise<StreamUploadResult> {
  const { client } = options;
  const upload = new Upload({
    client,
    params: {
      Bucket: options.bucket,
      Key: options.key,
      Body: options.body,
      ContentType: options.contentType,
      Metadata: options.metadata,
    },
    partSize: options.partSize ?? DEFAULT_PART_SIZE,
    queueSize: options.queueSize ?? DEFAULT_QUEUE_SIZE,
    // We abort ourselves: lib-storage's own abort would replace the real error with the abort's.
    leavePartsOnError: true,
  });
  try {
    const result = await upload.done();
    return { versionId: result.VersionId, etag: result.ETag };
  } catch (error) {
    options.onFailure?.(error);
    // Stop lib-storage's uploaders; then remove the parts already stored.
    await upload.abort();
    await abortMultipartUpload(client, options.bucket, options.key, upload.uploadId);
    throw error;
  }
}

/** Aborts a multipart upload if one was started; logs (never throws) when the abort itself fails. */
export async function abortMultipartUpload(
  client: S3Client,
  bucket: string,
  key: string,
  uploadId: string | undefined,
): Promise<boolean> {
  if (!uploadId) return false;
  try {
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }));
    logger.info('aborted multipart upload', { bucket, key, uploadId });
    return true;
  } catch (error) {
    logger.warn('could not abort multipart upload; the bucket lifecycle rule will remove its parts', {
      bucket,
      key,
      uploadId,
      error,
    });
    return false;
  }
}
