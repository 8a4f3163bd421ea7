import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { logger } from '../../../shared/powertools.ts';
import { abortMultipartUpload, uploadStream } from '../../../shared/source/s3-upload.ts';

const MiB = 1024 * 1024;
const s3 = mockClient(S3Client);
const client = () => new S3Client({ region: 'us-east-1' });

/** A body of `size` bytes in 256 KiB chunks; fails after `failAfter` bytes when given. */
function body(size: number, failAfter?: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (failAfter !== undefined && sent >= failAfter) {
        this.destroy(Object.assign(new Error('zip failed'), { name: 'ZipError' }));
        return;
      }
      if (sent >= size) {
        this.push(null);
        return;
      }
      const chunk = Buffer.alloc(Math.min(256 * 1024, size - sent), 1);
      sent += chunk.length;
      this.push(chunk);
    },
  });
}

function mockMultipart() {
  s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'upload-1' });
  s3.on(UploadPartCommand).callsFake((input: { PartNumber?: number }) => ({
    ETag: `"etag-${input.PartNumber}"`,
  }));
  s3.on(CompleteMultipartUploadCommand).resolves({ VersionId: 'v-1', ETag: '"final"' });
  s3.on(AbortMultipartUploadCommand).resolves({});
}

afterEach(() => {
  s3.reset();
  vi.restoreAllMocks();
});
afterAll(() => s3.restore());

describe('uploadStream', () => {
  it('uploads a large body in bounded parts and returns the version id', async () => {
    mockMultipart();
    const result = await uploadStream({
      client: client(),
      bucket: 'b',
      key: 'k.zip',
      body: body(12 * MiB),
      contentType: 'application/zip',
      metadata: { commit: 'abc' },
      partSize: 5 * MiB,
    });
    expect(result).toEqual({ versionId: 'v-1', etag: '"final"' });
    expect(s3).toReceiveCommandWith(CreateMultipartUploadCommand, {
      Bucket: 'b',
      Key: 'k.zip',
      ContentType: 'application/zip',
      Metadata: { commit: 'abc' },
    });
    expect(s3).toReceiveCommandTimes(UploadPartCommand, 3);
    expect(s3).toReceiveCommandWith(CompleteMultipartUploadCommand, { UploadId: 'upload-1' });
    expect(s3).not.toReceiveCommand(AbortMultipartUploadCommand);
  });

  it('uses a single PutObject for a body smaller than a part', async () => {
    s3.on(PutObjectCommand).resolves({ VersionId: 'v-small' });
    const result = await uploadStream({ client: client(), bucket: 'b', key: 'k.zip', body: body(1000) });
    expect(result.versionId).toBe('v-small');
    expect(s3).not.toReceiveCommand(CreateMultipartUploadCommand);
  });

  it('aborts the multipart upload and rethrows the error when a part fails', async () => {
    mockMultipart();
    s3.on(UploadPartCommand, { PartNumber: 2 }).rejects(
      Object.assign(new Error('bad part'), { name: 'InvalidPart' }),
    );
    const onFailure = vi.fn();
    const attempt = uploadStream({
      client: client(),
      bucket: 'b',
      key: 'k.zip',
      body: body(12 * MiB),
      partSize: 5 * MiB,
      queueSize: 1,
      onFailure,
    });
    await expect(attempt).rejects.toThrow('bad part');
    expect(onFailure).toHaveBeenCalledOnce();
    expect(s3).toReceiveCommandWith(AbortMultipartUploadCommand, {
      Bucket: 'b',
      Key: 'k.zip',
      UploadId: 'upload-1',
    });
    expect(s3).not.toReceiveCommand(CompleteMultipartUploadCommand);
  });

  it('aborts the multipart upload when the body stream fails midway, and surfaces the body error', async () => {
    mockMultipart();
    const attempt = uploadStream({
      client: client(),
      bucket: 'b',
      key: 'k.zip',
      body: body(20 * MiB, 11 * MiB),
      partSize: 5 * MiB,
    });
    await expect(attempt).rejects.toThrow('zip failed');
    expect(s3).toReceiveCommandWith(AbortMultipartUploadCommand, { UploadId: 'upload-1' });
    expect(s3).not.toReceiveCommand(CompleteMultipartUploadCommand);
  });

  it('keeps the original error when the abort itself fails, and logs the abort problem', async () => {
    mockMultipart();
    s3.on(UploadPartCommand, { PartNumber: 2 }).rejects(
      Object.assign(new Error('bad part'), { name: 'InvalidPart' }),
    );
    s3.on(AbortMultipartUploadCommand).rejects(
      Object.assign(new Error('Method Not Allowed'), {
        name: 'MethodNotAllowed',
        $metadata: { httpStatusCode: 405 },
      }),
    );
    const warn = vi.spyOn(logger, 'warn');
    const attempt = uploadStream({
      client: client(),
      bucket: 'b',
      key: 'k.zip',
      body: body(12 * MiB),
      partSize: 5 * MiB,
      queueSize: 1,
    });
    await expect(attempt).rejects.toThrow('bad part');
    expect(warn).toHaveBeenCalledWith(
      expect.stringContaining('could not abort multipart upload'),
      expect.objectContaining({ bucket: 'b', key: 'k.zip', uploadId: 'upload-1' }),
    );
  });
});

describe('abortMultipartUpload', () => {
  it('does nothing when no multipart upload was started', async () => {
    expect(await abortMultipartUpload(client(), 'b', 'k', undefined)).toBe(false);
    expect(s3).not.toReceiveCommand(AbortMultipartUploadCommand);
  });
});
