import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clientConfig, newDataDir, removeDataDir, testAccount } from './support.ts';

const MiB = 1024 * 1024;

/** A stream of `size` bytes of `fill`, in 1 MiB chunks (as archiver would feed lib-storage). */
function stream(size: number, fill: number): Readable {
  let left = size;
  return new Readable({
    read() {
      if (left === 0) return this.push(null);
      const n = Math.min(MiB, left);
      left -= n;
      this.push(Buffer.alloc(n, fill));
    },
  });
}

describe('emulated S3', () => {
  let dataDir: string;
  let s3: S3Client;
  let bucket: string;

  beforeEach(async () => {
    dataDir = newDataDir();
    const { account } = await testAccount({ dataDir });
    s3 = new S3Client(clientConfig);
    account.attach([s3]);
    bucket = account.sourceBucket;
  });

  afterEach(() => removeDataDir(dataDir));

  it('lands a lib-storage multipart upload as a new version, readable by version id', async () => {
    const key = 'sources/shop/dev/source.zip';
    const first = await new Upload({
      client: s3,
      params: { Bucket: bucket, Key: key, Body: stream(12 * MiB, 1) },
      partSize: 5 * MiB,
    }).done();
    const second = await new Upload({
      client: s3,
      params: { Bucket: bucket, Key: key, Body: stream(6 * MiB, 2) },
      partSize: 5 * MiB,
    }).done();

    expect(first.VersionId).toMatch(/^[\w-]{32}$/);
    expect(second.VersionId).not.toBe(first.VersionId);
    expect(first.ETag).toMatch(/^"[0-9a-f]{32}-3"$/);

    const old = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: first.VersionId }));
    const bytes = await old.Body?.transformToByteArray();
    expect(bytes?.length).toBe(12 * MiB);
    expect(bytes?.every((b) => b === 1)).toBe(true);
    expect(old.VersionId).toBe(first.VersionId);

    const latestFile = readFileSync(join(dataDir, 's3', bucket, key));
    expect(latestFile.length).toBe(6 * MiB);
    expect(latestFile[0]).toBe(2);
    expect(readFileSync(join(dataDir, 's3-versions', bucket, key, first.VersionId ?? '')).length).toBe(
      12 * MiB,
    );

    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    expect(uploads.Uploads).toEqual([]);
  });

  it('stores a small body with a single PutObject and lists it', async () => {
    const put = await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'a/b.txt', Body: 'hello', ContentType: 'text/plain' }),
    );
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'a/b.txt' }));
    expect(head).toMatchObject({ ContentLength: 5, ContentType: 'text/plain', VersionId: put.VersionId });
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'a/b.txt' }));
    expect(await got.Body?.transformToString()).toBe('hello');
    const list = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'a/' }));
    expect(list.Contents?.map((c) => c.Key)).toEqual(['a/b.txt']);
  });

  it('honours conditional writes: If-None-Match * creates once, If-Match needs the current ETag', async () => {
    const key = 'leases/shop/dev/service.json';
    const first = await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: '{"owner":"a"}', IfNoneMatch: '*' }),
    );
    const again = await s3
      .send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: '{"owner":"b"}', IfNoneMatch: '*' }))
      .catch((e: unknown) => e);
    expect(again).toMatchObject({ name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } });
    const stale = await s3
      .send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: '{"owner":"b"}', IfMatch: '"0123"' }))
      .catch((e: unknown) => e);
    expect(stale).toMatchObject({ name: 'PreconditionFailed' });
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: '{"owner":"b"}', IfMatch: first.ETag }),
    );
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    expect(await got.Body?.transformToString()).toBe('{"owner":"b"}');
  });

  it('throws NoSuchKey with $metadata for a missing object', async () => {
    const error = await s3
      .send(new GetObjectCommand({ Bucket: bucket, Key: 'missing' }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoSuchKey);
    expect(error).toMatchObject({ name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
  });

  it('leaves no multipart upload behind when lib-storage aborts', async () => {
    // Six MiB (two parts started), then the producer fails, as a zip stream that hits a read error.
    const failing = Readable.from(
      (async function* () {
        for (let i = 0; i < 6; i += 1) yield Buffer.alloc(MiB, 3);
        throw new Error('zip failed');
      })(),
    );
    const upload = new Upload({
      client: s3,
      params: { Bucket: bucket, Key: 'broken.zip', Body: failing },
      partSize: 5 * MiB,
    });
    await expect(upload.done()).rejects.toThrow('zip failed');
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    expect(uploads.Uploads).toEqual([]);
  });
});
