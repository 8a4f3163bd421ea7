/**
 * The "ours" side of the source packaging benchmark, run in its own process from a bundle
 * built like the Lambda's (so its peak RSS is what the function would use): `packageSource`
 * end to end, then one JSON line `{ms, bytes, peakRssMb}` on stdout.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { packageSource } from '../shared/source/package-source.ts';

/** What the parent asks the child to package. */
export interface ChildJob {
  readonly url: string;
  readonly commit: string;
  readonly endpoint: string;
  readonly bucket: string;
  readonly key: string;
  readonly level?: number;
}

const job = JSON.parse(process.argv[2] ?? '{}') as ChildJob;
const s3 = new S3Client({
  endpoint: job.endpoint,
  region: 'us-east-1',
  forcePathStyle: true,
  credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
});
const started = performance.now();
const result = await packageSource({
  url: job.url,
  ref: 'refs/heads/main',
  commit: job.commit,
  bucket: job.bucket,
  key: job.key,
  s3,
  level: job.level,
});
const ms = performance.now() - started;
process.stdout.write(
  `${JSON.stringify({ ms, bytes: result.bytes, peakRssMb: process.resourceUsage().maxRSS / 1024 })}\n`,
);
s3.destroy();
