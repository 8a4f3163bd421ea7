/**
 * Emulated S3: buckets, versioning, objects and multipart uploads.
 *
 * The latest version of each object is a plain file under `<data>/s3/<bucket>/<key>`, so a
 * newcomer can open what the deploy uploaded; every version of a versioned bucket is kept
 * under `<data>/s3-versions/<bucket>/<key>/<versionId>`; parts of multipart uploads wait
 * under `<data>/s3-uploads/<uploadId>/`. The index (versions, ETags, metadata) is JSON.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  appendFileSync,
  copyFileSync,
  createReadStream,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import {
  type AbortMultipartUploadCommandInput,
  type AbortMultipartUploadCommandOutput,
  type CompleteMultipartUploadCommandInput,
  type CompleteMultipartUploadCommandOutput,
  type CreateBucketCommandInput,
  type CreateBucketCommandOutput,
  type CreateMultipartUploadCommandInput,
  type CreateMultipartUploadCommandOutput,
  type DeleteObjectCommandInput,
  type DeleteObjectCommandOutput,
  type GetBucketVersioningCommandInput,
  type GetBucketVersioningCommandOutput,
  type GetObjectCommandInput,
  type GetObjectCommandOutput,
  type HeadBucketCommandInput,
  type HeadBucketCommandOutput,
  type HeadObjectCommandInput,
  type HeadObjectCommandOutput,
  type ListMultipartUploadsCommandInput,
  type ListMultipartUploadsCommandOutput,
  type ListObjectsV2CommandInput,
  type ListObjectsV2CommandOutput,
  type ListObjectVersionsCommandInput,
  type ListObjectVersionsCommandOutput,
  NoSuchBucket,
  NoSuchKey,
  NoSuchUpload,
  NotFound,
  type PutBucketVersioningCommandInput,
  type PutBucketVersioningCommandOutput,
  type PutObjectCommandInput,
  type PutObjectCommandOutput,
  type PutObjectTaggingCommandInput,
  type PutObjectTaggingCommandOutput,
  S3ServiceException,
  type UploadPartCommandInput,
  type UploadPartCommandOutput,
} from '@aws-sdk/client-s3';
import { awsError, namedError } from './errors.ts';
import { JsonFile, writeFileAtomic } from './store.ts';
import type { AccountContext, Emulator, Result } from './types.ts';

interface ObjectVersion {
  versionId: string;
  size: number;
  etag: string;
  lastModified: number;
  contentType?: string;
  metadata?: Record<string, string>;
  tags?: { Key: string; Value: string }[];
  deleteMarker?: true;
}

interface BucketRecord {
  createdAt: number;
  versioning?: 'Enabled' | 'Suspended';
  /** Versions of each key, oldest first. */
  objects: Record<string, ObjectVersion[]>;
}

interface UploadRecord {
  bucket: string;
  key: string;
  initiated: number;
  contentType?: string;
  metadata?: Record<string, string>;
  parts: Record<string, { etag: string; size: number }>;
}

interface S3State {
  buckets: Record<string, BucketRecord>;
  uploads: Record<string, UploadRecord>;
}

/** What a request body can be in SDK v3: a string, bytes, a Node stream, a web stream, a Blob. */
export async function consumeBody(body: unknown): Promise<Buffer> {
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (typeof body === 'string') return Buffer.from(body);
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  if (typeof body === 'object' && Symbol.asyncIterator in body) {
    return buffer(body as AsyncIterable<Uint8Array>);
  }
  if (typeof body === 'object' && 'arrayBuffer' in body && typeof body.arrayBuffer === 'function') {
    return Buffer.from(await (body as Blob).arrayBuffer());
  }
  throw new Error(`the sandbox cannot read a request body of type ${Object.prototype.toString.call(body)}`);
}

/** A file as the SDK's response body: a Node stream with `transformToByteArray` and friends. */
function responseBody(path: string): GetObjectCommandOutput['Body'] {
  const stream = createReadStream(path);
  const body = Object.assign(stream, {
    transformToByteArray: async () => new Uint8Array(await buffer(stream)),
    transformToString: async (encoding?: string) =>
      (await buffer(stream)).toString((encoding ?? 'utf8') as BufferEncoding),
    transformToWebStream: () => Readable.toWeb(stream),
  });
  return body as unknown as GetObjectCommandOutput['Body'];
}

const md5 = (data: Buffer) => createHash('md5').update(data).digest();

function newVersionId(): string {
  return randomBytes(24).toString('base64url').slice(0, 32);
}

/** Keys become file paths: refuse the few that would escape or collide with the layout. */
function checkKey(key: string | undefined): string {
  if (!key) throw namedError(S3ServiceException, 'InvalidArgument', 'Key is required.');
  const segments = key.split('/');
  if (key.startsWith('/') || segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw namedError(
      S3ServiceException,
      'InvalidArgument',
      `the sandbox keeps objects as files and cannot store key "${key}" (empty, "." or ".." path segments)`,
    );
  }
  return key;
}

export class S3Emulator implements Emulator {
  readonly service = 'S3';
  private readonly state: JsonFile<S3State>;
  private readonly objectsDir: string;
  private readonly versionsDir: string;
  private readonly uploadsDir: string;

  constructor(
    private readonly ctx: AccountContext,
    dataDir: string,
  ) {
    this.state = new JsonFile(join(dataDir, 'account', 's3.json'), () => ({ buckets: {}, uploads: {} }));
    this.objectsDir = join(dataDir, 's3');
    this.versionsDir = join(dataDir, 's3-versions');
    this.uploadsDir = join(dataDir, 's3-uploads');
  }

  save(): void {
    this.state.save();
  }

  /** Creates a bucket if it does not exist (seeding). */
  ensureBucket(name: string, versioning?: 'Enabled'): void {
    const buckets = this.state.value.buckets;
    buckets[name] ??= { createdAt: this.ctx.clock.now(), objects: {} };
    if (versioning) buckets[name].versioning = versioning;
  }

  /**
   * Where the bytes of an object version are on disk (the emulated CodePipeline reads the
   * source zip from here). Undefined when there is no such object or version.
   */
  locate(
    bucket: string,
    key: string,
    versionId?: string,
  ): { path: string; version: ObjectVersion } | undefined {
    const versions = this.state.value.buckets[bucket]?.objects[key];
    if (!versions) return undefined;
    const version = versionId ? versions.find((v) => v.versionId === versionId) : versions.at(-1);
    if (!version || version.deleteMarker) return undefined;
    const latest = versions.at(-1) === version;
    return {
      path: latest ? this.latestPath(bucket, key) : this.versionPath(bucket, key, version.versionId),
      version,
    };
  }

  readonly commands = {
    CreateBucket: (input: CreateBucketCommandInput): Result<CreateBucketCommandOutput> => {
      const name = input.Bucket ?? '';
      if (this.state.value.buckets[name]) {
        throw namedError(
          S3ServiceException,
          'BucketAlreadyOwnedByYou',
          `Bucket ${name} already exists.`,
          409,
        );
      }
      this.ensureBucket(name);
      return { Location: `/${name}` };
    },
    HeadBucket: (input: HeadBucketCommandInput): Result<HeadBucketCommandOutput> => {
      this.bucket(input.Bucket, NotFound);
      return { BucketRegion: this.ctx.region };
    },
    PutBucketVersioning: (
      input: PutBucketVersioningCommandInput,
    ): Result<PutBucketVersioningCommandOutput> => {
      const status = input.VersioningConfiguration?.Status;
      if (status) this.bucket(input.Bucket).versioning = status;
      return {};
    },
    GetBucketVersioning: (
      input: GetBucketVersioningCommandInput,
    ): Result<GetBucketVersioningCommandOutput> => {
      const versioning = this.bucket(input.Bucket).versioning;
      return versioning ? { Status: versioning } : {};
    },
    PutObject: async (input: PutObjectCommandInput): Promise<Result<PutObjectCommandOutput>> => {
      const body = await consumeBody(input.Body);
      // Checked after the body is read and right before the write: no other call can slip in between.
      this.checkWriteConditions(input.Bucket, checkKey(input.Key), input);
      const version = this.store(input.Bucket, checkKey(input.Key), body, `"${md5(body).toString('hex')}"`, {
        contentType: input.ContentType,
        metadata: input.Metadata,
      });
      return { ETag: version.etag, ...this.versionField(input.Bucket, version) };
    },
    GetObject: (input: GetObjectCommandInput): Result<GetObjectCommandOutput> => {
      const found = this.find(input.Bucket, input.Key, input.VersionId, NoSuchKey);
      this.checkReadConditions(found.version, input);
      return { ...this.headers(input.Bucket, found.version), Body: responseBody(found.path) };
    },
    HeadObject: (input: HeadObjectCommandInput): Result<HeadObjectCommandOutput> => {
      const found = this.find(input.Bucket, input.Key, input.VersionId, NotFound);
      this.checkReadConditions(found.version, input);
      return this.headers(input.Bucket, found.version);
    },
    DeleteObject: (input: DeleteObjectCommandInput): Result<DeleteObjectCommandOutput> => {
      const bucket = this.bucket(input.Bucket);
      const key = checkKey(input.Key);
      const versions = bucket.objects[key] ?? [];
      if (input.VersionId) {
        bucket.objects[key] = versions.filter((v) => v.versionId !== input.VersionId);
        rmSync(this.versionPath(input.Bucket ?? '', key, input.VersionId), { force: true });
      } else if (bucket.versioning === 'Enabled') {
        const marker: ObjectVersion = {
          versionId: newVersionId(),
          size: 0,
          etag: '',
          lastModified: this.ctx.clock.now(),
          deleteMarker: true,
        };
        versions.push(marker);
        bucket.objects[key] = versions;
        rmSync(this.latestPath(input.Bucket ?? '', key), { force: true });
        return { DeleteMarker: true, VersionId: marker.versionId };
      } else {
        delete bucket.objects[key];
      }
      if ((bucket.objects[key]?.length ?? 0) === 0) delete bucket.objects[key];
      const latest = bucket.objects[key]?.at(-1);
      if (latest && !latest.deleteMarker) {
        copyFileSync(
          this.versionPath(input.Bucket ?? '', key, latest.versionId),
          this.latestPath(input.Bucket ?? '', key),
        );
      } else {
        rmSync(this.latestPath(input.Bucket ?? '', key), { force: true });
      }
      return input.VersionId ? { VersionId: input.VersionId } : {};
    },
    PutObjectTagging: (input: PutObjectTaggingCommandInput): Result<PutObjectTaggingCommandOutput> => {
      const found = this.find(input.Bucket, input.Key, input.VersionId, NoSuchKey);
      found.version.tags = (input.Tagging?.TagSet ?? []).map((t) => ({
        Key: t.Key ?? '',
        Value: t.Value ?? '',
      }));
      return this.versionField(input.Bucket, found.version);
    },
    ListObjectsV2: (input: ListObjectsV2CommandInput): Result<ListObjectsV2CommandOutput> => {
      const bucket = this.bucket(input.Bucket);
      const prefix = input.Prefix ?? '';
      const maxKeys = input.MaxKeys ?? 1000;
      const after = input.ContinuationToken
        ? Buffer.from(input.ContinuationToken, 'base64url').toString()
        : (input.StartAfter ?? '');
      const keys = Object.keys(bucket.objects)
        .filter((k) => k.startsWith(prefix) && k > after && !bucket.objects[k]?.at(-1)?.deleteMarker)
        .sort();
      const contents: NonNullable<ListObjectsV2CommandOutput['Contents']> = [];
      const prefixes = new Set<string>();
      let last = '';
      let truncated = false;
      for (const key of keys) {
        if (contents.length + prefixes.size >= maxKeys) {
          truncated = true;
          break;
        }
        const cut = input.Delimiter ? key.indexOf(input.Delimiter, prefix.length) : -1;
        if (cut >= 0 && input.Delimiter) {
          prefixes.add(key.slice(0, cut + input.Delimiter.length));
        } else {
          const v = bucket.objects[key]?.at(-1);
          if (!v) continue;
          contents.push({
            Key: key,
            Size: v.size,
            ETag: v.etag,
            LastModified: new Date(v.lastModified),
            StorageClass: 'STANDARD',
          });
        }
        last = key;
      }
      return {
        Name: input.Bucket,
        Prefix: prefix,
        MaxKeys: maxKeys,
        KeyCount: contents.length + prefixes.size,
        IsTruncated: truncated,
        Contents: contents,
        ...(prefixes.size > 0 && { CommonPrefixes: [...prefixes].map((p) => ({ Prefix: p })) }),
        ...(input.Delimiter && { Delimiter: input.Delimiter }),
        ...(truncated && { NextContinuationToken: Buffer.from(last).toString('base64url') }),
        ...(input.ContinuationToken && { ContinuationToken: input.ContinuationToken }),
      };
    },
    ListObjectVersions: (input: ListObjectVersionsCommandInput): Result<ListObjectVersionsCommandOutput> => {
      const bucket = this.bucket(input.Bucket);
      const prefix = input.Prefix ?? '';
      const versions: NonNullable<ListObjectVersionsCommandOutput['Versions']> = [];
      const markers: NonNullable<ListObjectVersionsCommandOutput['DeleteMarkers']> = [];
      for (const key of Object.keys(bucket.objects)
        .filter((k) => k.startsWith(prefix))
        .sort()) {
        const list = bucket.objects[key] ?? [];
        list.forEach((v, i) => {
          const common = {
            Key: key,
            VersionId: v.versionId,
            IsLatest: i === list.length - 1,
            LastModified: new Date(v.lastModified),
          };
          if (v.deleteMarker) markers.push(common);
          else versions.push({ ...common, ETag: v.etag, Size: v.size, StorageClass: 'STANDARD' });
        });
      }
      return {
        Name: input.Bucket,
        Prefix: prefix,
        IsTruncated: false,
        Versions: versions.reverse(),
        DeleteMarkers: markers,
      };
    },
    CreateMultipartUpload: (
      input: CreateMultipartUploadCommandInput,
    ): Result<CreateMultipartUploadCommandOutput> => {
      this.bucket(input.Bucket);
      const uploadId = randomBytes(24).toString('base64url');
      this.state.value.uploads[uploadId] = {
        bucket: input.Bucket ?? '',
        key: checkKey(input.Key),
        initiated: this.ctx.clock.now(),
        parts: {},
        ...(input.ContentType && { contentType: input.ContentType }),
        ...(input.Metadata && { metadata: input.Metadata }),
      };
      return { Bucket: input.Bucket, Key: input.Key, UploadId: uploadId };
    },
    UploadPart: async (input: UploadPartCommandInput): Promise<Result<UploadPartCommandOutput>> => {
      const upload = this.upload(input.UploadId);
      const body = await consumeBody(input.Body);
      const number = input.PartNumber ?? 0;
      if (number < 1 || number > 10_000) {
        throw namedError(
          S3ServiceException,
          'InvalidArgument',
          'Part number must be an integer between 1 and 10000, inclusive.',
        );
      }
      writeFileAtomic(join(this.uploadsDir, input.UploadId ?? '', String(number)), body);
      const etag = `"${md5(body).toString('hex')}"`;
      upload.parts[String(number)] = { etag, size: body.length };
      return { ETag: etag };
    },
    CompleteMultipartUpload: (
      input: CompleteMultipartUploadCommandInput,
    ): Result<CompleteMultipartUploadCommandOutput> => {
      const uploadId = input.UploadId ?? '';
      const upload = this.upload(uploadId);
      const parts = input.MultipartUpload?.Parts ?? [];
      if (parts.length === 0) {
        throw namedError(
          S3ServiceException,
          'MalformedXML',
          'The XML you provided was not well-formed or did not validate against our published schema.',
        );
      }
      let previous = 0;
      for (const part of parts) {
        const stored = upload.parts[String(part.PartNumber)];
        if (!stored || stored.etag !== part.ETag) {
          throw namedError(
            S3ServiceException,
            'InvalidPart',
            `One or more of the specified parts could not be found: part ${part.PartNumber}.`,
          );
        }
        if ((part.PartNumber ?? 0) <= previous) {
          throw namedError(
            S3ServiceException,
            'InvalidPartOrder',
            'The list of parts was not in ascending order.',
          );
        }
        previous = part.PartNumber ?? 0;
      }
      this.checkWriteConditions(upload.bucket, upload.key, input);
      const assembled = join(this.uploadsDir, uploadId, 'assembled');
      rmSync(assembled, { force: true });
      const digests: Buffer[] = [];
      for (const part of parts) {
        const path = join(this.uploadsDir, uploadId, String(part.PartNumber));
        appendFileSync(assembled, readFileSync(path));
        digests.push(Buffer.from((part.ETag ?? '').replaceAll('"', ''), 'hex'));
      }
      const etag = `"${md5(Buffer.concat(digests)).toString('hex')}-${parts.length}"`;
      const version = this.storeFile(upload.bucket, upload.key, assembled, etag, {
        contentType: upload.contentType,
        metadata: upload.metadata,
      });
      this.dropUpload(uploadId);
      return {
        Bucket: upload.bucket,
        Key: upload.key,
        ETag: etag,
        Location: `https://${upload.bucket}.s3.${this.ctx.region}.amazonaws.com/${upload.key}`,
        ...this.versionField(upload.bucket, version),
      };
    },
    AbortMultipartUpload: (
      input: AbortMultipartUploadCommandInput,
    ): Result<AbortMultipartUploadCommandOutput> => {
      this.upload(input.UploadId);
      this.dropUpload(input.UploadId ?? '');
      return {};
    },
    ListMultipartUploads: (
      input: ListMultipartUploadsCommandInput,
    ): Result<ListMultipartUploadsCommandOutput> => {
      this.bucket(input.Bucket);
      const uploads = Object.entries(this.state.value.uploads)
        .filter(([, u]) => u.bucket === input.Bucket && u.key.startsWith(input.Prefix ?? ''))
        .map(([id, u]) => ({
          Key: u.key,
          UploadId: id,
          Initiated: new Date(u.initiated),
          StorageClass: 'STANDARD' as const,
        }));
      return { Bucket: input.Bucket, IsTruncated: false, Uploads: uploads, MaxUploads: 1000 };
    },
  };

  /**
   * Conditional writes (`If-None-Match: *`, `If-Match: <etag>`), which the scaling lease
   * relies on: 412 PreconditionFailed when the condition does not hold.
   */
  private checkWriteConditions(
    bucket: string | undefined,
    key: string,
    input: { IfNoneMatch?: string; IfMatch?: string },
  ): void {
    const current = this.locate(bucket ?? '', key);
    if (input.IfMatch !== undefined && !current) {
      throw awsError(NoSuchKey, 'The specified key does not exist.', { httpStatusCode: 404 });
    }
    const failed =
      (input.IfNoneMatch === '*' && current !== undefined) ||
      (input.IfMatch !== undefined && current?.version.etag !== input.IfMatch);
    if (failed) {
      throw namedError(
        S3ServiceException,
        'PreconditionFailed',
        'At least one of the pre-conditions you specified did not hold',
        412,
      );
    }
  }

  /** `If-Match` (412) and `If-None-Match` (304) on reads. */
  private checkReadConditions(
    version: ObjectVersion,
    input: { IfMatch?: string; IfNoneMatch?: string },
  ): void {
    if (input.IfMatch !== undefined && input.IfMatch !== version.etag) {
      throw namedError(
        S3ServiceException,
        'PreconditionFailed',
        'At least one of the pre-conditions you specified did not hold',
        412,
      );
    }
    if (
      input.IfNoneMatch !== undefined &&
      (input.IfNoneMatch === version.etag || input.IfNoneMatch === '*')
    ) {
      throw namedError(S3ServiceException, 'NotModified', 'Not Modified', 304);
    }
  }

  private bucket(
    name: string | undefined,
    Missing: typeof NoSuchBucket | typeof NotFound = NoSuchBucket,
  ): BucketRecord {
    const bucket = this.state.value.buckets[name ?? ''];
    if (!bucket)
      throw awsError<Error>(Missing, 'The specified bucket does not exist', {
        httpStatusCode: 404,
        extra: { BucketName: name },
      });
    return bucket;
  }

  private upload(uploadId: string | undefined): UploadRecord {
    const upload = this.state.value.uploads[uploadId ?? ''];
    if (!upload) {
      throw awsError(
        NoSuchUpload,
        'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
        { httpStatusCode: 404 },
      );
    }
    return upload;
  }

  private dropUpload(uploadId: string): void {
    delete this.state.value.uploads[uploadId];
    rmSync(join(this.uploadsDir, uploadId), { recursive: true, force: true });
  }

  private find(
    bucket: string | undefined,
    key: string | undefined,
    versionId: string | undefined,
    Missing: typeof NoSuchKey | typeof NotFound,
  ): { path: string; version: ObjectVersion } {
    this.bucket(bucket);
    const found = this.locate(bucket ?? '', checkKey(key), versionId);
    if (found) return found;
    if (versionId && Missing === NoSuchKey) {
      throw namedError(S3ServiceException, 'NoSuchVersion', 'The specified version does not exist.', 404);
    }
    throw awsError<Error>(Missing, 'The specified key does not exist.', { httpStatusCode: 404 });
  }

  private headers(bucket: string | undefined, v: ObjectVersion) {
    return {
      ContentLength: v.size,
      ETag: v.etag,
      LastModified: new Date(v.lastModified),
      ContentType: v.contentType ?? 'binary/octet-stream',
      Metadata: v.metadata ?? {},
      ...this.versionField(bucket, v),
    };
  }

  private versionField(bucket: string | undefined, v: ObjectVersion): { VersionId?: string } {
    return this.state.value.buckets[bucket ?? '']?.versioning ? { VersionId: v.versionId } : {};
  }

  private latestPath(bucket: string, key: string): string {
    return join(this.objectsDir, bucket, key);
  }

  private versionPath(bucket: string, key: string, versionId: string): string {
    return join(this.versionsDir, bucket, key, versionId);
  }

  private store(
    bucketName: string | undefined,
    key: string,
    body: Buffer,
    etag: string,
    meta: { contentType?: string | undefined; metadata?: Record<string, string> | undefined },
  ): ObjectVersion {
    const staged = join(this.uploadsDir, `.put-${randomBytes(8).toString('hex')}`);
    writeFileAtomic(staged, body);
    return this.storeFile(bucketName, key, staged, etag, meta);
  }

  /** Moves a staged file into place as the new latest version of `key`. */
  private storeFile(
    bucketName: string | undefined,
    key: string,
    staged: string,
    etag: string,
    meta: { contentType?: string | undefined; metadata?: Record<string, string> | undefined },
  ): ObjectVersion {
    const bucket = this.bucket(bucketName);
    const name = bucketName ?? '';
    const versioned = bucket.versioning === 'Enabled';
    const version: ObjectVersion = {
      versionId: versioned ? newVersionId() : 'null',
      size: statSync(staged).size,
      etag,
      lastModified: this.ctx.clock.now(),
      ...(meta.contentType && { contentType: meta.contentType }),
      ...(meta.metadata && { metadata: meta.metadata }),
    };
    const latest = this.latestPath(name, key);
    mkdirSync(join(latest, '..'), { recursive: true });
    if (versioned) {
      const kept = this.versionPath(name, key, version.versionId);
      mkdirSync(join(kept, '..'), { recursive: true });
      copyFileSync(staged, kept);
    }
    // The rename is the atomic step: readers see the old file or the new one, never half.
    renameSync(staged, latest);
    const versions = versioned ? (bucket.objects[key] ?? []) : [];
    bucket.objects[key] = [...versions.filter((v) => v.versionId !== version.versionId), version];
    return version;
  }
}
