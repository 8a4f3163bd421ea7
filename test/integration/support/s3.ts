/**
 * An S3 emulator (s3rver) on loopback with its data in a temporary folder, and an SDK v3
 * client pointed at it. Used by the integration tests, the sandbox and the benchmarks.
 *
 * s3rver differs from S3 in ways the callers must know: no bucket versioning (no
 * `VersionId`), 405 to AbortMultipartUpload, 501 to ListMultipartUploads.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';

export interface S3Emulator {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  /** A client for the emulator: path-style addressing, dummy credentials, no retries to hide failures. */
  readonly client: S3Client;
  /** Folder holding the emulator's objects (one folder per bucket). */
  readonly directory: string;
  close(): Promise<void>;
}

/** Starts s3rver on 127.0.0.1 on a free port, with the given buckets created. */
export async function startS3rver(options: { buckets?: string[] } = {}): Promise<S3Emulator> {
  const directory = await mkdtemp(join(tmpdir(), 's3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: (options.buckets ?? []).map((name) => ({ name })),
  });
  const address = await server.run();
  const endpoint = `http://127.0.0.1:${address.port}`;
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    maxAttempts: 1,
  });
  return {
    endpoint,
    client,
    directory,
    close: async () => {
      client.destroy();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
