/**
 * Emulated ECR: one repository per app; the emulated build "pushes" an image (a manifest
 * and a digest, no layers) tagged with the commit and `latest`.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import {
  type BatchGetImageCommandInput,
  type BatchGetImageCommandOutput,
  type DescribeImagesCommandInput,
  type DescribeImagesCommandOutput,
  type DescribeRepositoriesCommandInput,
  type DescribeRepositoriesCommandOutput,
  type ImageIdentifier,
  ImageNotFoundException,
  type PutImageCommandInput,
  type PutImageCommandOutput,
  type Repository,
  RepositoryNotFoundException,
} from '@aws-sdk/client-ecr';
import { awsError } from './errors.ts';
import { JsonFile } from './store.ts';
import type { AccountContext, Emulator, Result } from './types.ts';

interface ImageRecord {
  digest: string;
  tags: string[];
  pushedAt: number;
  size: number;
  manifest: string;
}

interface RepositoryRecord {
  createdAt: number;
  imagesToKeep: number;
  /** Oldest first. */
  images: ImageRecord[];
}

interface EcrState {
  repositories: Record<string, RepositoryRecord>;
}

const MANIFEST_TYPE = 'application/vnd.docker.distribution.manifest.v2+json';

export class EcrEmulator implements Emulator {
  readonly service = 'ECR';
  private readonly file: JsonFile<EcrState>;

  constructor(
    private readonly ctx: AccountContext,
    dataDir: string,
  ) {
    this.file = new JsonFile(join(dataDir, 'account', 'ecr.json'), () => ({ repositories: {} }));
  }

  save(): void {
    this.file.save();
  }

  /** `<account>.dkr.ecr.<region>.amazonaws.com/<name>` */
  repositoryUri(name: string): string {
    return `${this.ctx.accountId}.dkr.ecr.${this.ctx.region}.amazonaws.com/${name}`;
  }

  ensureRepository(name: string, imagesToKeep = 20): void {
    this.file.value.repositories[name] ??= { createdAt: this.ctx.clock.now(), imagesToKeep, images: [] };
  }

  /**
   * Records a pushed image tagged `tag` (and `latest`), expiring the oldest beyond the
   * repository's lifecycle limit as the lifecycle policy would. Returns the image URI. A
   * repository the templates did not create refuses the push (`RepositoryNotFoundException`), as ECR does.
   */
  pushImage(name: string, tag: string, content: string): string {
    const repository = this.repository(name);
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST_TYPE,
      config: {
        mediaType: 'application/vnd.docker.container.image.v1+json',
        digest: sha256(`config:${content}`),
        size: 1024,
      },
      layers: [
        {
          mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
          digest: sha256(`layer:${content}`),
          size: 30_000_000,
        },
      ],
    });
    const digest = sha256(manifest);
    for (const image of repository.images) image.tags = image.tags.filter((t) => t !== tag && t !== 'latest');
    const existing = repository.images.find((i) => i.digest === digest);
    if (existing) existing.tags.push(tag, 'latest');
    else
      repository.images.push({
        digest,
        tags: [tag, 'latest'],
        pushedAt: this.ctx.clock.now(),
        size: 30_001_024,
        manifest,
      });
    repository.images = repository.images.filter((i) => i.tags.length > 0).slice(-repository.imagesToKeep);
    return `${this.repositoryUri(name)}:${tag}`;
  }

  readonly commands = {
    DescribeRepositories: (
      input: DescribeRepositoriesCommandInput,
    ): Result<DescribeRepositoriesCommandOutput> => {
      const names = input.repositoryNames ?? Object.keys(this.file.value.repositories);
      return { repositories: names.map((n) => this.repositoryOutput(n)) };
    },
    DescribeImages: (input: DescribeImagesCommandInput): Result<DescribeImagesCommandOutput> => {
      const name = input.repositoryName ?? '';
      const repository = this.repository(name);
      const images = input.imageIds?.length
        ? input.imageIds.map((id) => {
            const image = this.find(repository, id);
            if (!image) {
              throw awsError(
                ImageNotFoundException,
                `The image with imageId {imageDigest:'${id.imageDigest ?? 'null'}', imageTag:'${id.imageTag ?? 'null'}'} does not exist within the repository with name '${name}' in the registry with id '${this.ctx.accountId}'`,
              );
            }
            return image;
          })
        : repository.images;
      return {
        imageDetails: images.map((i) => ({
          registryId: this.ctx.accountId,
          repositoryName: name,
          imageDigest: i.digest,
          imageTags: i.tags,
          imagePushedAt: new Date(i.pushedAt),
          imageSizeInBytes: i.size,
          imageManifestMediaType: MANIFEST_TYPE,
        })),
      };
    },
    BatchGetImage: (input: BatchGetImageCommandInput): Result<BatchGetImageCommandOutput> => {
      const name = input.repositoryName ?? '';
      const repository = this.repository(name);
      const images: NonNullable<BatchGetImageCommandOutput['images']> = [];
      const failures: NonNullable<BatchGetImageCommandOutput['failures']> = [];
      for (const id of input.imageIds ?? []) {
        const image = this.find(repository, id);
        if (image) {
          images.push({
            registryId: this.ctx.accountId,
            repositoryName: name,
            imageId: { imageDigest: image.digest, ...(id.imageTag && { imageTag: id.imageTag }) },
            imageManifest: image.manifest,
            imageManifestMediaType: MANIFEST_TYPE,
          });
        } else {
          failures.push({
            imageId: id,
            failureCode: id.imageTag ? 'ImageTagDoesNotMatchDigest' : 'ImageNotFound',
            failureReason: 'Requested image not found',
          });
        }
      }
      return { images, failures };
    },
    PutImage: (input: PutImageCommandInput): Result<PutImageCommandOutput> => {
      const name = input.repositoryName ?? '';
      const repository = this.repository(name);
      const digest = input.imageDigest ?? sha256(input.imageManifest ?? '');
      let image = repository.images.find((i) => i.digest === digest);
      if (!image) {
        image = {
          digest,
          tags: [],
          pushedAt: this.ctx.clock.now(),
          size: 0,
          manifest: input.imageManifest ?? '',
        };
        repository.images.push(image);
      }
      if (input.imageTag) {
        for (const other of repository.images) other.tags = other.tags.filter((t) => t !== input.imageTag);
        image.tags.push(input.imageTag);
      }
      return {
        image: {
          registryId: this.ctx.accountId,
          repositoryName: name,
          imageId: { imageDigest: digest, ...(input.imageTag && { imageTag: input.imageTag }) },
          imageManifest: image.manifest,
        },
      };
    },
  };

  private repository(name: string): RepositoryRecord {
    const repository = this.file.value.repositories[name];
    if (!repository) {
      throw awsError(
        RepositoryNotFoundException,
        `The repository with name '${name}' does not exist in the registry with id '${this.ctx.accountId}'`,
      );
    }
    return repository;
  }

  private find(repository: RepositoryRecord, id: ImageIdentifier): ImageRecord | undefined {
    return repository.images.find(
      (i) =>
        (!id.imageDigest || i.digest === id.imageDigest) && (!id.imageTag || i.tags.includes(id.imageTag)),
    );
  }

  private repositoryOutput(name: string): Repository {
    const repository = this.repository(name);
    return {
      repositoryName: name,
      repositoryArn: `arn:aws:ecr:${this.ctx.region}:${this.ctx.accountId}:repository/${name}`,
      registryId: this.ctx.accountId,
      repositoryUri: this.repositoryUri(name),
      createdAt: new Date(repository.createdAt),
      imageTagMutability: 'MUTABLE',
    };
  }
}

function sha256(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}
