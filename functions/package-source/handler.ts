/**
 * "Package Source" of the `deploy` state machine: fetches the pushed commit (a token from
 * Secrets Manager for private repositories), zips its tree with `.git`, and streams the zip
 * to the source bucket under the stage's key. The output pins the next steps to that exact
 * object version.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type DeployInput, deployInputSchema } from '#events/deploy.ts';
import { clients } from '#shared/aws/clients.ts';
import { findStage, normalizeRepoUrl, runtimeConfig } from '#shared/config.ts';
import { requiredEnv } from '#shared/env.ts';
import { InvalidInput, parseInput } from '#shared/errors.ts';
import { previewSourceKey, stageNames } from '#shared/naming.ts';
import { instrumentTask } from '#shared/powertools.ts';
import { brief, SourceBucketNotVersioned } from '#shared/source/errors.ts';
import { tokenCredentials } from '#shared/source/fetch-commit.ts';
import { packageSource } from '#shared/source/package-source.ts';
import { readRepositoryToken } from '#shared/source/token.ts';
import { pathMatcher, watchGlobs } from '#shared/webhook/watch.ts';

/** `$.PackageSourceResult`. */
export interface PackageSourceResult {
  readonly bucket: string;
  readonly key: string;
  readonly versionId: string;
  readonly commit: string;
  /** Size of the zip. */
  readonly bytes: number;
  /** Files and symlinks of the commit in the zip. */
  readonly files: number;
  /** The pull request whose preview this zip is for (the preview pipeline builds it). */
  readonly preview?: { readonly number: number; readonly branch?: string };
}

/**
 * `$.PackageSourceResult` of a monorepo push that changed none of the app's watched paths
 * (compared with `changedSince`): nothing was uploaded, the deploy ends as skipped.
 */
export interface SkippedSourceResult {
  readonly skipped: true;
  readonly commit: string;
  readonly comparedWith: string;
  readonly reason: string;
}

export interface PackageSourceDependencies {
  readonly s3?: S3Client;
  readonly secretsManager?: SecretsManagerClient;
  /** Parent of the temporary repository folder (Lambda: the OS temporary folder, `/tmp`). */
  readonly workDir?: string;
}

/** Name of the environment variable holding the source bucket. */
export const SOURCE_BUCKET_ENV = 'SOURCE_BUCKET';

function sourceBucket(): string {
  return requiredEnv(SOURCE_BUCKET_ENV);
}

/** The configured stage of the input, refusing any other repository than the app's own. */
function resolveStage(input: DeployInput) {
  const stage = findStage(runtimeConfig(), input.app, input.stage);
  if (!stage)
    throw new InvalidInput(
      `app ${brief(input.app)} has no stage ${brief(input.stage)} in the stackpilot configuration`,
    );
  const configured = stage.appConfig.repository;
  // The app's token must only ever reach the app's repository.
  if (normalizeRepoUrl(configured.url) !== normalizeRepoUrl(input.repository.url)) {
    throw new InvalidInput(
      `repository ${brief(input.repository.url)} is not the repository of app ${input.app} (${configured.url})`,
    );
  }
  if (input.preview && stage.appConfig.previews?.stage !== input.stage) {
    throw new InvalidInput(
      `app ${input.app} runs no previews in stage ${input.stage} (stackpilot.yml: apps.${input.app}.previews.stage)`,
    );
  }
  return stage;
}

/** Fetches, zips and uploads the commit of a deploy input; see {@link PackageSourceResult}. */
export async function packageSourceTask(
  event: unknown,
  dependencies: PackageSourceDependencies = {},
): Promise<PackageSourceResult | SkippedSourceResult> {
  const input = parseInput(deployInputSchema, event, 'deploy input');
  const bucket = sourceBucket();
  const { appConfig } = resolveStage(input);
  const globs = watchGlobs(appConfig);
  const onlyIfChanged =
    input.changedSince && globs ? { since: input.changedSince, matches: pathMatcher(globs) } : undefined;
  const { tokenSecret, provider } = appConfig.repository;
  const token = tokenSecret
    ? await readRepositoryToken(tokenSecret, dependencies.secretsManager ?? clients.secretsManager)
    : undefined;
  const key = input.preview
    ? previewSourceKey(input.app, input.stage)
    : stageNames(input.app, input.stage).sourceKey;
  const result = await packageSource({
    url: input.repository.url,
    // A pull request's head is fetched by commit id; the zip's branch is the pull request's.
    ref: input.preview ? `refs/heads/${input.preview.branch ?? `pr-${input.preview.number}`}` : input.ref,
    commit: input.commit,
    bucket,
    key,
    // S3 metadata is ASCII: values that may not be are percent-encoded.
    metadata: {
      app: input.app,
      stage: input.stage,
      ref: encodeURIComponent(input.ref),
      'delivery-id': encodeURIComponent(input.deliveryId),
    },
    credentials: token ? tokenCredentials(provider, token) : undefined,
    s3: dependencies.s3 ?? clients.s3,
    workDir: dependencies.workDir,
    onlyIfChanged,
  });
  if (result.skipped !== undefined && input.changedSince) {
    return {
      skipped: true,
      commit: result.commit,
      comparedWith: input.changedSince,
      reason: `${result.skipped} (${globs?.join(', ')}): nothing to deploy`,
    };
  }
  if (!result.versionId) {
    throw new SourceBucketNotVersioned(
      `s3://${bucket}/${key} has no version id after uploading commit ${input.commit}: enable versioning on bucket ${bucket} so the pipeline builds exactly this upload`,
    );
  }
  return {
    bucket,
    key,
    versionId: result.versionId,
    commit: result.commit,
    bytes: result.bytes,
    files: result.files,
    ...(input.preview ? { preview: input.preview } : {}),
  };
}

export const handler = instrumentTask((event: unknown) => packageSourceTask(event));
