/**
 * "Package Source" of the `deploy` state machine: fetches the pushed commit (a token from
 * Secrets Manager for private repositories), zips its tree with `.git`, and streams the zip
 * to the source bucket under the stage's key. The output pins the next steps to that exact
 * object version. The step takes the deploy input and `{clients, config, bucket, workDir}`.
 */
import { tmpdir } from 'node:os';
import type { DeployInput } from '#events/deploy.ts';
import { type Clients, s3Client, secretsManagerClient } from '../aws/clients.ts';
import {
  findPreviewStage,
  findStage,
  normalizeRepoUrl,
  runtimeConfig,
  type StackpilotConfig,
} from '../config.ts';
import { requiredEnv } from '../env.ts';
import { InvalidInput } from '../errors.ts';
import { previewSourceKey, stageNames } from '../naming.ts';
import { brief, SourceBucketNotVersioned } from './errors.ts';
import { tokenCredentials } from './fetch-commit.ts';
import { packageSource } from './package-source.ts';
import { readRepositoryToken } from './token.ts';
import { pathMatcher, watchGlobs } from './watch.ts';

/** What the step uses: S3 and Secrets Manager, the configuration, the bucket and a work folder. */
export interface SourceDeps {
  readonly clients: Pick<Clients, 's3' | 'secretsManager'>;
  readonly config: StackpilotConfig;
  /** The control plane's versioned source bucket (`SOURCE_BUCKET`). */
  readonly bucket: string;
  /** Parent of the temporary repository folder (Lambda: the OS temporary folder, `/tmp`). */
  readonly workDir: string;
}

/** Name of the environment variable holding the source bucket. */
const SOURCE_BUCKET_ENV = 'SOURCE_BUCKET';

/**
 * The deployed function's dependencies: the shared clients (the named ones, not the `clients`
 * record, so the bundle carries only the SDK clients it calls), `SOURCE_BUCKET`, the bundled
 * configuration, `/tmp`.
 */
export function sourceDeps(): SourceDeps {
  return {
    clients: { s3: s3Client, secretsManager: secretsManagerClient },
    bucket: requiredEnv(SOURCE_BUCKET_ENV),
    config: runtimeConfig(),
    workDir: tmpdir(),
  };
}

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

/** The configured stage of the input, refusing any other repository than the app's own. */
function resolveStage(input: DeployInput, config: StackpilotConfig) {
  const stage = findStage(config, input.app, input.stage);
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
  if (input.preview) findPreviewStage(config, input.app, input.stage);
  return stage;
}

/** Package Source: fetches, zips and uploads the commit of a deploy input; see {@link PackageSourceResult}. */
export async function packageDeploySource(
  input: DeployInput,
  deps: SourceDeps,
): Promise<PackageSourceResult | SkippedSourceResult> {
  const { bucket } = deps;
  const { appConfig } = resolveStage(input, deps.config);
  const globs = watchGlobs(appConfig);
  const onlyIfChanged =
    input.changedSince && globs ? { since: input.changedSince, matches: pathMatcher(globs) } : undefined;
  const { tokenSecret, provider } = appConfig.repository;
  const token = tokenSecret ? await readRepositoryToken(tokenSecret, deps.clients.secretsManager) : undefined;
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
    s3: deps.clients.s3,
    workDir: deps.workDir,
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
