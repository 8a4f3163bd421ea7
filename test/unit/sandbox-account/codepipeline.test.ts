import { Readable } from 'node:stream';
import {
  CodePipelineClient,
  GetPipelineExecutionCommand,
  ListActionExecutionsCommand,
  ListPipelineExecutionsCommand,
  PipelineNotFoundException,
  StartPipelineExecutionCommand,
} from '@aws-sdk/client-codepipeline';
import { DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ZipArchive } from 'archiver';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stageNames } from '#shared/naming.ts';
import type { ReleaseRequest } from '../../../sandbox/account/index.ts';
import { clientConfig, newDataDir, removeDataDir, testAccount } from './support.ts';

const names = stageNames('shop', 'dev');
const COMMIT = '0123456789abcdef0123456789abcdef01234567';

async function zip(files: Record<string, string>): Promise<Buffer> {
  const archive = new ZipArchive({ zlib: { level: 6 } });
  for (const [name, content] of Object.entries(files)) archive.append(content, { name });
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    archive.on('data', (chunk: Buffer) => chunks.push(chunk));
    archive.on('end', () => resolve());
    archive.on('error', reject);
  });
  await archive.finalize();
  await done;
  return Buffer.concat(chunks);
}

describe('emulated CodePipeline', () => {
  let dataDir: string;
  let setup: Awaited<ReturnType<typeof testAccount>>;
  let pipeline: CodePipelineClient;
  let s3: S3Client;
  let releases: ReleaseRequest[];

  beforeEach(async () => {
    dataDir = newDataDir();
    releases = [];
    setup = await testAccount({
      dataDir,
      hooks: {
        onRelease: async (request) => {
          releases.push(request);
          return {
            status: 'SUCCEEDED',
            executionArn: 'arn:aws:states:us-east-1:123456789012:execution:stackpilot-release:r1',
          };
        },
      },
    });
    pipeline = new CodePipelineClient(clientConfig);
    s3 = new S3Client(clientConfig);
    setup.account.attach([pipeline, s3]);
  });

  afterEach(() => removeDataDir(dataDir));

  async function upload(files: Record<string, string>): Promise<string> {
    const body = await zip(files);
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: setup.account.sourceBucket,
        Key: names.sourceKey,
        Body: Readable.from([body]),
      }),
    );
    return put.VersionId ?? '';
  }

  async function start(versionId: string, token = 'token-1') {
    const out = await pipeline.send(
      new StartPipelineExecutionCommand({
        name: names.pipeline,
        clientRequestToken: token,
        sourceRevisions: [
          { actionName: 'Source', revisionType: 'S3_OBJECT_VERSION_ID', revisionValue: versionId },
        ],
        variables: [{ name: 'COMMIT', value: COMMIT }],
      }),
    );
    return out.pipelineExecutionId ?? '';
  }

  const execution = async (id: string) =>
    (
      await pipeline.send(
        new GetPipelineExecutionCommand({ pipelineName: names.pipeline, pipelineExecutionId: id }),
      )
    ).pipelineExecution;

  it('runs Source, Build and Release on the pinned version and tags the image with the commit', async () => {
    const first = await upload({ Dockerfile: 'FROM node:22\n', 'index.js': 'console.log(1)\n' });
    await upload({ 'README.md': 'a later push\n' });
    const id = await start(first);
    expect((await execution(id))?.status).toBe('InProgress');

    setup.advance(120_000);
    await new Promise((resolve) => setImmediate(resolve));
    setup.advance(1_000);

    const image = `123456789012.dkr.ecr.us-east-1.amazonaws.com/stackpilot/shop:${COMMIT}`;
    expect(releases).toEqual([
      {
        app: 'shop',
        stage: 'dev',
        image,
        commit: COMMIT,
        pipelineExecutionId: id,
        // The template's Release action: its input, #{Build.…} resolved.
        stateMachine: 'stackpilot-release',
        input: { app: 'shop', stage: 'dev', image, commit: COMMIT },
      },
    ]);
    expect(await execution(id)).toMatchObject({
      status: 'Succeeded',
      artifactRevisions: [{ name: 'SourceArtifact', revisionId: first }],
      // Every variable the pipeline declares, with its default when the start did not set it.
      variables: [
        { name: 'COMMIT', resolvedValue: COMMIT },
        { name: 'DELIVERY_ID', resolvedValue: 'manual' },
      ],
    });
    const actions = await pipeline.send(
      new ListActionExecutionsCommand({ pipelineName: names.pipeline, filter: { pipelineExecutionId: id } }),
    );
    expect(actions.actionExecutionDetails?.map((a) => [a.stageName, a.status])).toEqual([
      ['Release', 'Succeeded'],
      ['Build', 'Succeeded'],
      ['Source', 'Succeeded'],
    ]);
    expect(actions.actionExecutionDetails?.[1]?.output?.outputVariables).toEqual({
      IMAGE_URI: image,
      COMMIT,
    });

    const ecr = new ECRClient(clientConfig);
    setup.account.attach([ecr]);
    const images = await ecr.send(new DescribeImagesCommand({ repositoryName: 'stackpilot/shop' }));
    expect(images.imageDetails?.find((i) => i.imageTags?.includes(COMMIT))?.imageTags).toContain('latest');
  });

  it('fails the build with a readable summary when the source has neither Dockerfile nor build.yml', async () => {
    const version = await upload({ 'index.js': 'console.log(1)\n' });
    const id = await start(version);
    setup.advance(120_000);
    const failed = await execution(id);
    expect(failed?.status).toBe('Failed');
    const actions = await pipeline.send(
      new ListActionExecutionsCommand({ pipelineName: names.pipeline, filter: { pipelineExecutionId: id } }),
    );
    expect(actions.actionExecutionDetails?.[0]).toMatchObject(
      failedBuild(
        `Build failed: the source of commit ${COMMIT.slice(0, 12)} has neither a Dockerfile nor a build.yml; add a Dockerfile (or a build.yml) at the repository root.`,
      ),
    );
    expect(releases).toEqual([]);
    expect(setup.events.filter((e) => e.source === 'aws.codepipeline').map((e) => e.detail.state)).toEqual([
      'STARTED',
      'FAILED',
    ]);
  });

  it("pushes to the repository the template's build names, and fails the build when that repository does not exist", async () => {
    // The template's pipeline pushes to the app's repository (its project's ECR_REPOSITORY).
    const ghost = 'ghost';
    setup.account.codePipeline.ensurePipeline(ghost, {
      app: 'shop',
      stage: 'dev',
      bucket: setup.account.sourceBucket,
      key: names.sourceKey,
      repository: 'stackpilot/shop/nowhere',
    });
    const version = await upload({ Dockerfile: 'FROM node:22\n' });
    const out = await pipeline.send(
      new StartPipelineExecutionCommand({
        name: ghost,
        sourceRevisions: [
          { actionName: 'Source', revisionType: 'S3_OBJECT_VERSION_ID', revisionValue: version },
        ],
        variables: [{ name: 'COMMIT', value: COMMIT }],
      }),
    );
    setup.advance(120_000);
    const actions = await pipeline.send(
      new ListActionExecutionsCommand({
        pipelineName: ghost,
        filter: { pipelineExecutionId: out.pipelineExecutionId ?? '' },
      }),
    );
    expect(actions.actionExecutionDetails?.[0]).toMatchObject(
      failedBuild(
        "Build failed: docker push stackpilot/shop/nowhere: name unknown: The repository with name 'stackpilot/shop/nowhere' does not exist in the registry with id '123456789012'.",
      ),
    );
    expect(releases).toEqual([]);
  });

  it('reads the commit from .git/HEAD when no COMMIT variable is given', async () => {
    const version = await upload({
      'build.yml': 'version: 0.2\nphases:\n  build:\n    commands: [docker build .]\n',
      '.git/HEAD': 'ref: refs/heads/main\n',
      '.git/refs/heads/main': `${COMMIT}\n`,
    });
    const out = await pipeline.send(
      new StartPipelineExecutionCommand({
        name: names.pipeline,
        sourceRevisions: [
          { actionName: 'Source', revisionType: 'S3_OBJECT_VERSION_ID', revisionValue: version },
        ],
      }),
    );
    setup.advance(120_000);
    expect(releases[0]?.commit).toBe(COMMIT);
    expect(out.pipelineExecutionId).toBe(releases[0]?.pipelineExecutionId);
  });

  it('fails the build when build.yml is not a buildspec', async () => {
    const id = await start(await upload({ 'build.yml': 'phases: [unclosed\n' }));
    setup.advance(120_000);
    const actions = await pipeline.send(
      new ListActionExecutionsCommand({ pipelineName: names.pipeline, filter: { pipelineExecutionId: id } }),
    );
    expect(actions.actionExecutionDetails?.[0]?.output?.executionResult?.errorDetails?.message).toMatch(
      /^Build failed: YAML_FILE_ERROR: build.yml of commit 0123456789ab is not valid YAML: /,
    );
  });

  it('starts nothing new for a repeated client request token', async () => {
    const version = await upload({ Dockerfile: 'FROM scratch\n' });
    const a = await start(version, 'same');
    const b = await start(version, 'same');
    expect(b).toBe(a);
    const list = await pipeline.send(new ListPipelineExecutionsCommand({ pipelineName: names.pipeline }));
    expect(list.pipelineExecutionSummaries).toHaveLength(1);
  });

  it('fails the release stage with the release execution error', async () => {
    setup.account.hooks.onRelease = async () => ({
      status: 'FAILED',
      error: 'DeploymentFailed',
      cause: 'tasks failed to start',
    });
    const id = await start(await upload({ Dockerfile: 'FROM scratch\n' }));
    setup.advance(120_000);
    await new Promise((resolve) => setImmediate(resolve));
    setup.advance(1_000);
    expect(await execution(id)).toMatchObject({
      status: 'Failed',
      statusSummary: 'Release stage failed: Release failed: DeploymentFailed: tasks failed to start',
    });
  });

  it('throws PipelineNotFoundException for an unknown pipeline', async () => {
    const error = await pipeline
      .send(new StartPipelineExecutionCommand({ name: 'nope' }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PipelineNotFoundException);
  });
});

/** The Build action's execution as CodePipeline reports a failed CodeBuild job. */
function failedBuild(message: string) {
  return {
    stageName: 'Build',
    status: 'Failed',
    output: { executionResult: { errorDetails: { code: 'JobFailed', message } } },
  };
}
