/**
 * The emulated Build action (CodeBuild): nothing is built; the source zip is checked the
 * way CodeBuild and `docker build` would refuse it (no Dockerfile and no `build.yml`, a
 * `build.yml` that is not a buildspec), and the commit the image is tagged with is found.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { listZipEntries, readZipEntry, type ZipEntry } from './zip.ts';

export type BuildResult = { ok: true; commit: string; how: string } | { ok: false; message: string };

/**
 * Checks the source zip at `zipPath`. The commit is the `COMMIT` pipeline variable, else
 * what `.git/HEAD` in the zip points at (the zip keeps `.git`, as TinyStacks' build.yml
 * runs `git rev-parse HEAD`).
 */
export function emulateBuild(
  zipPath: string,
  dockerfile: string,
  variables: Record<string, string>,
  /** A monorepo app's folder (`path` in stackpilot.yml): build.yml and the Dockerfile are there, as the buildspec `cd`s into it. */
  appPath?: string,
): BuildResult {
  let zip: Buffer;
  let entries: ZipEntry[];
  try {
    zip = readFileSync(zipPath);
    entries = listZipEntries(zip);
  } catch (error) {
    return {
      ok: false,
      message: `Build failed: the source is not a readable zip archive (${(error as Error).message}).`,
    };
  }
  const names = new Set(entries.map((e) => e.name));
  const commit = commitOf(variables, zip, entries);
  const of = commit ? ` of commit ${commit.slice(0, 12)}` : '';
  const folder = appPath ? `${appPath}/` : '';
  if (appPath && ![...names].some((name) => name.startsWith(folder))) {
    return {
      ok: false,
      message: `Build failed: stackpilot: commit ${commit ?? '?'} has no folder ${appPath} (the app's path in stackpilot.yml).`,
    };
  }
  const buildYml = `${folder}build.yml`;
  if (!names.has(buildYml) && !names.has(`${folder}${dockerfile}`)) {
    return {
      ok: false,
      message: `Build failed: the source${of} has neither a ${dockerfile} nor a build.yml; add a ${dockerfile} (or a build.yml) ${appPath ? `in ${appPath}` : 'at the repository root'}.`,
    };
  }
  const buildspecError = names.has(buildYml) ? checkBuildspec(zip, entries, buildYml) : undefined;
  if (buildspecError)
    return { ok: false, message: `Build failed: YAML_FILE_ERROR: ${buildYml}${of} ${buildspecError}.` };
  if (!commit) {
    return {
      ok: false,
      message:
        'Build failed: cannot tell the commit (no COMMIT pipeline variable and no .git/HEAD in the source).',
    };
  }
  const how = names.has(buildYml)
    ? buildYml
    : `the default buildspec (docker build -f ${folder}${dockerfile})`;
  return { ok: true, commit, how };
}

function commitOf(variables: Record<string, string>, zip: Buffer, entries: ZipEntry[]): string | undefined {
  const variable = Object.entries(variables).find(([name]) => /^commit(_?id|_?sha)?$/i.test(name));
  // `HEAD` (the pipeline's default) means the commit in the source zip, as the buildspec reads it.
  if (variable?.[1] && variable[1] !== 'HEAD') return variable[1];
  const read = (name: string) => {
    const entry = entries.find((e) => e.name === name);
    return entry ? readZipEntry(zip, entry).toString('utf8').trim() : undefined;
  };
  const head = read('.git/HEAD');
  if (!head) return undefined;
  if (/^[0-9a-f]{40}$/.test(head)) return head;
  const ref = head.startsWith('ref: ') ? head.slice(5) : undefined;
  if (!ref) return undefined;
  const loose = read(`.git/${ref}`);
  if (loose && /^[0-9a-f]{40}$/.test(loose)) return loose;
  const packed = read('.git/packed-refs')
    ?.split('\n')
    .find((line) => line.endsWith(` ${ref}`));
  return packed?.slice(0, 40);
}

/** What CodeBuild would refuse in a buildspec before running it: not YAML, no version, no phases. */
function checkBuildspec(zip: Buffer, entries: ZipEntry[], name: string): string | undefined {
  const entry = entries.find((e) => e.name === name);
  if (!entry) return undefined;
  let spec: unknown;
  try {
    spec = parseYaml(readZipEntry(zip, entry).toString('utf8'));
  } catch (error) {
    return `is not valid YAML: ${(error as Error).message.split('\n')[0]}`;
  }
  if (!spec || typeof spec !== 'object') return 'is not a YAML mapping';
  if (!('version' in spec)) return 'has no version (CodeBuild expects "version: 0.2")';
  if (!('phases' in spec)) return 'has no phases';
  return undefined;
}
