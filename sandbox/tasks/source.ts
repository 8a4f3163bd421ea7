/**
 * The source a task's image was built from. The emulated build tags the image with the
 * commit of the source zip Package Source wrote; the pipeline's executions say which S3
 * object version that was (Source action's revision, Build action's IMAGE_URI). Each
 * commit is unpacked once under the data folder and reused by every task of it.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import type { ActionExecutionDetail } from '@aws-sdk/client-codepipeline';
import type { EmulatedAccount } from '../account/index.ts';
import { listZipEntries, readZipEntry } from '../account/zip.ts';

/** A commit's source: its zip (the S3 object version) and the folder it is unpacked to. */
export interface TaskSource {
  commit: string;
  zipPath: string;
  dir: string;
}

/**
 * Finds the source object of `image` in the pipeline's executions: the newest execution
 * whose Build action pushed that image, and the S3 version its Source action read.
 */
export function findSource(
  account: Pick<EmulatedAccount, 'codePipeline' | 's3'>,
  pipelineName: string,
  image: string,
): { commit: string; zipPath: string } | undefined {
  let details: ActionExecutionDetail[];
  let configuration: Record<string, string> | undefined;
  try {
    details =
      account.codePipeline.commands.ListActionExecutions({ pipelineName }).actionExecutionDetails ?? [];
    configuration = account.codePipeline.commands
      .GetPipeline({ name: pipelineName })
      .pipeline?.stages?.find((s) => s.name === 'Source')?.actions?.[0]?.configuration;
  } catch {
    return undefined;
  }
  const bucket = configuration?.S3Bucket;
  const key = configuration?.S3ObjectKey;
  if (!bucket || !key) return undefined;
  const build = details.find(
    (d) => d.stageName === 'Build' && d.output?.outputVariables?.IMAGE_URI === image,
  );
  const commit = build?.output?.outputVariables?.COMMIT;
  const source = details.find(
    (d) => d.stageName === 'Source' && d.pipelineExecutionId === build?.pipelineExecutionId,
  );
  const versionId = source?.output?.executionResult?.externalExecutionId;
  if (!commit || !versionId) return undefined;
  const found = account.s3.locate(bucket, key, versionId);
  return found ? { commit, zipPath: found.path } : undefined;
}

/** One file of a zip, or undefined (package.json before unpacking). */
export function readZipFile(zipPath: string, name: string): string | undefined {
  const zip = readFileSync(zipPath);
  const entry = listZipEntries(zip).find((e) => e.name === name);
  return entry ? readZipEntry(zip, entry).toString('utf8') : undefined;
}

/**
 * Unpacks `zipPath` into `dir` unless it is there already (a folder per commit: written
 * beside it, then renamed, so a half-written folder is never used). `.git` is left out.
 */
export function unpackOnce(zipPath: string, dir: string): void {
  if (existsSync(dir)) return;
  const partial = `${dir}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  const zip = readFileSync(zipPath);
  const root = resolve(partial);
  for (const entry of listZipEntries(zip)) {
    if (entry.name.endsWith('/') || entry.name === '.git' || entry.name.startsWith('.git/')) continue;
    const target = resolve(root, entry.name);
    if (!target.startsWith(`${root}${sep}`))
      throw new Error(`zip entry ${entry.name} points outside its folder`);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, readZipEntry(zip, entry));
  }
  mkdirSync(root, { recursive: true });
  mkdirSync(dirname(dir), { recursive: true });
  renameSync(partial, dir);
}

/** `<data>/tasks/source/<commit>` */
export function sourceDir(dataDir: string, commit: string): string {
  return join(dataDir, 'tasks', 'source', commit);
}
