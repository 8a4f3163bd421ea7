/**
 * Lambda bundles: the size of each function's production bundle, built with the same
 * esbuild settings as the CDK app, and its cold init time (a fresh `node` process
 * importing the bundle, median of 5). The reference is a minimal handler bundled the
 * same way, measured in the same run.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { BUNDLING, PROJECT_ROOT } from '../infra/constructs/stackpilot-function.ts';
import { type BenchRow, median } from './report.ts';

const FUNCTIONS_DIR = join(PROJECT_ROOT, 'functions');

/** The folders under `functions/` that hold a `handler.ts`, sorted. */
export function functionFolders(): string[] {
  return readdirSync(FUNCTIONS_DIR)
    .filter((f) => statSync(join(FUNCTIONS_DIR, f, 'handler.ts'), { throwIfNoEntry: false }))
    .sort();
}

/** The entry file of a function folder. */
export function functionEntry(folder: string): string {
  return join(FUNCTIONS_DIR, folder, 'handler.ts');
}

/** Bundles one entry like `NodejsFunction` does and returns the bundle's path and size. */
export async function bundle(entry: string, outdir: string): Promise<{ file: string; bytes: number }> {
  mkdirSync(outdir, { recursive: true });
  const file = join(outdir, 'index.mjs');
  await build({
    entryPoints: [entry],
    outfile: file,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: BUNDLING.target,
    minify: BUNDLING.minify,
    sourcemap: false,
    mainFields: [...BUNDLING.mainFields],
    banner: { js: BUNDLING.banner },
    logLevel: 'error',
  });
  return { file, bytes: statSync(file).size };
}

/** Milliseconds a fresh node process spends importing `file`, median of `runs`. */
function coldInit(file: string, runs = 5): number {
  const script = `const t = performance.now(); await import(${JSON.stringify(`file://${file}`)}); process.stdout.write(String(performance.now() - t));`;
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      env: {
        PATH: process.env.PATH,
        AWS_REGION: 'us-east-1',
        POWERTOOLS_TRACE_ENABLED: 'false',
        POWERTOOLS_LOG_LEVEL: 'WARN',
      },
      encoding: 'utf8',
    });
    times.push(Number(out));
  }
  return median(times);
}

export async function benchBundles(): Promise<BenchRow[]> {
  const work = mkdtempSync(join(tmpdir(), 'stackpilot-bundles-'));
  try {
    const referenceEntry = join(work, 'reference.mjs');
    writeFileSync(
      referenceEntry,
      'export const handler = async (event) => ({ statusCode: 200, body: JSON.stringify(event) });\n',
    );
    const reference = await bundle(referenceEntry, join(work, 'reference'));
    const referenceInit = coldInit(reference.file);
    const rows: BenchRow[] = [];
    const folders = readdirSync(FUNCTIONS_DIR).filter((f) =>
      statSync(join(FUNCTIONS_DIR, f, 'handler.ts'), { throwIfNoEntry: false }),
    );
    for (const folder of folders.sort()) {
      const built = await bundle(join(FUNCTIONS_DIR, folder, 'handler.ts'), join(work, folder));
      const init = coldInit(built.file);
      const sizeTarget = folder === 'webhook' ? 300 * 1024 : 2 * 1024 * 1024;
      rows.push({
        name: `bundle size: ${folder}`,
        unit: 'KB',
        ours: built.bytes / 1024,
        reference: reference.bytes / 1024,
        target: `< ${sizeTarget / 1024} KB`,
        met: built.bytes < sizeTarget,
      });
      rows.push({
        name: `cold init: ${folder}`,
        unit: 'ms',
        ours: init,
        reference: referenceInit,
        target: folder === 'webhook' ? '< 100 ms' : undefined,
        met: folder === 'webhook' ? init < 100 : undefined,
      });
    }
    return rows;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
