/**
 * Source packaging benchmark: fetch + zip + upload of generated repositories (small 200
 * files / 2 MB, medium 5,000 / 50 MB, large 20,000 / 200 MB, many small files 70,000 /
 * 35 MB, one large file of 100 MB) served by `git http-backend` on loopback, into s3rver on
 * loopback.
 *
 * ours: `packageSource` (its own smart-HTTP fetch streamed to disk, zip from the pack) in a child
 * process run from a bundle built like the Lambda's, with the node flags the function has
 * (`PACKAGING_NODE_FLAGS`); its peak RSS is read with `process.resourceUsage().maxRSS`.
 * reference: `git clone --depth 1` + `zip -qr` + the same streamed upload of the zip file.
 * Runs alternate (reference, ours, reference, ours, ...) and the medians are compared.
 *
 * Standalone: `npx tsx bench/source-packaging.ts [--runs 3] [--files 5000] [--mb 50] [--single] [--level 2] [--no-gc]`.
 */
import { execFile, spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import type { S3Client } from '@aws-sdk/client-s3';
import { PACKAGING_NODE_FLAGS } from '../shared/source/memory.ts';
import { uploadStream } from '../shared/source/s3-upload.ts';
import { createRepo, type RepoFile } from '../test/integration/support/git-repo.ts';
import { startGitServer } from '../test/integration/support/git-server.ts';
import { startS3rver } from '../test/integration/support/s3.ts';
import { bundle } from './bundles.ts';
import { type BenchRow, median } from './report.ts';
import type { ChildJob } from './source-packaging-child.ts';

const BUCKET = 'bench-sources';
// Asynchronous: the git server answering the clone runs in this same process.
const run = promisify(execFile);

export interface GeneratedRepoOptions {
  /** Number of files (a few of them symlinks). */
  readonly files?: number;
  /** Approximate total size of the files, in bytes. */
  readonly totalBytes?: number;
  /** Share of the bytes that is random binary (the rest is source-like text). */
  readonly binaryShare?: number;
  /** One random binary file of `totalBytes` instead (`files` is ignored). */
  readonly singleFile?: boolean;
  readonly seed?: number;
}

/** A small, fast, deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS =
  'const let function return import export from async await if else for while class interface type extends new this value result error request response handler config stage service cluster commit branch deploy scale task image build release pipeline bucket key version token'.split(
    ' ',
  );

function sourceText(random: () => number, bytes: number): string {
  const lines: string[] = [];
  let size = 0;
  while (size < bytes) {
    const indent = '  '.repeat(Math.floor(random() * 4));
    const words: string[] = [];
    const count = 3 + Math.floor(random() * 9);
    for (let i = 0; i < count; i++) words.push(WORDS[Math.floor(random() * WORDS.length)] as string);
    const line = `${indent}${words.join(' ')}${random() < 0.3 ? ` = ${Math.floor(random() * 1e6)};` : ';'}`;
    lines.push(line);
    size += line.length + 1;
  }
  return `${lines.join('\n')}\n`;
}

function randomBytes(random: () => number, bytes: number): Buffer {
  const buffer = Buffer.alloc(bytes);
  for (let i = 0; i + 4 <= bytes; i += 4) buffer.writeUInt32LE(Math.floor(random() * 4294967296), i);
  for (let i = bytes - (bytes % 4); i < bytes; i++) buffer[i] = Math.floor(random() * 256);
  return buffer;
}

/**
 * The files of a deterministic repository: nested folders of source-like text, random
 * binaries (`.bin`, `.png`), some executables and symlinks. Same options, same bytes.
 */
export function generateFiles(options: GeneratedRepoOptions = {}): Record<string, RepoFile> {
  const count = options.files ?? 5000;
  const totalBytes = options.totalBytes ?? 50 * 1024 * 1024;
  if (options.singleFile) return { 'data/large.bin': randomBytes(prng(options.seed ?? 42), totalBytes) };
  const binaryShare = options.binaryShare ?? 0.3;
  const random = prng(options.seed ?? 42);
  const binaryCount = Math.max(1, Math.round(count * 0.1));
  const symlinkCount = Math.min(20, Math.floor(count / 100));
  const textCount = count - binaryCount - symlinkCount;
  const textAverage = ((1 - binaryShare) * totalBytes) / textCount;
  const binaryAverage = (binaryShare * totalBytes) / binaryCount;
  const files: Record<string, RepoFile> = {};
  const textPaths: string[] = [];
  for (let i = 0; i < textCount; i++) {
    const path = `src/module-${Math.floor(i / 500)}/part-${Math.floor(i / 50) % 10}/file-${i}.ts`;
    // Sizes spread from 0.2x to 1.8x the average, so there are small and large files.
    const text = sourceText(random, Math.floor(textAverage * (0.2 + 1.6 * random())));
    files[path] = i % 97 === 0 ? { content: `#!/bin/sh\n${text}`, executable: true } : text;
    textPaths.push(path);
  }
  for (let i = 0; i < binaryCount; i++) {
    const path = `assets/${i % 3 === 0 ? `images/image-${i}.png` : `blobs/blob-${i}.bin`}`;
    files[path] = randomBytes(random, Math.floor(binaryAverage * (0.2 + 1.6 * random())));
  }
  for (let i = 0; i < symlinkCount; i++) {
    const target = textPaths[Math.floor(random() * textPaths.length)] as string;
    files[`links/link-${i}.ts`] = { symlink: `../${target}` };
  }
  return files;
}

/**
 * Creates the generated repository at `dir` (branch `main`) and packs it, as a hosted
 * repository is (a server sending loose objects spends seconds compressing them on each
 * clone, which would slow the reference and ours alike); returns its commit.
 */
export async function generateRepo(dir: string, options: GeneratedRepoOptions = {}): Promise<string> {
  const commit = await createRepo(dir, generateFiles(options));
  await run('git', ['repack', '-a', '-d', '-q'], { cwd: dir });
  return commit;
}

export interface RunResult {
  readonly ms: number;
  readonly bytes: number;
  /** Peak RSS of the process that did the work, in MB (ours only). */
  readonly peakRssMb?: number;
}

/** Reference: native `git clone --depth 1`, `zip -qr`, and the same streamed upload of the zip file. */
export async function runReference(
  url: string,
  s3: S3Client,
  key: string,
  level?: number,
): Promise<RunResult> {
  const work = await mkdtemp(join(tmpdir(), 'bench-reference-'));
  try {
    const started = performance.now();
    const checkout = join(work, 'checkout');
    await run('git', [
      'clone',
      '--quiet',
      '--depth',
      '1',
      '--single-branch',
      '--branch',
      'main',
      url,
      checkout,
    ]);
    const zipFile = join(work, 'source.zip');
    await run('zip', ['-qr', ...(level === undefined ? [] : [`-${level}`]), '--symlinks', zipFile, '.'], {
      cwd: checkout,
    });
    await uploadStream({ client: s3, bucket: BUCKET, key, body: createReadStream(zipFile) });
    const ms = performance.now() - started;
    return { ms, bytes: (await stat(zipFile)).size };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Bundles the child like the Lambda is bundled (tsx would add its own memory to the measurement). */
export async function bundleChild(outdir: string): Promise<string> {
  const entry = join(dirname(fileURLToPath(import.meta.url)), 'source-packaging-child.ts');
  return (await bundle(entry, outdir)).file;
}

/**
 * Ours, in a child process run from `bundleChild`'s bundle with the function's node flags
 * (`PACKAGING_NODE_FLAGS` in `shared/source/memory.ts`), so its peak RSS is its own.
 */
export async function runOurs(bundleFile: string, job: ChildJob, exposeGc = true): Promise<RunResult> {
  const flags = exposeGc ? [...PACKAGING_NODE_FLAGS] : [];
  const child = spawn(process.execPath, [...flags, bundleFile, JSON.stringify(job)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_TRACE_ENABLED: 'false' },
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`benchmark child exited with ${code}: ${out}`);
  return JSON.parse(out.trim().split('\n').at(-1) as string) as RunResult;
}

export interface SourcePackagingBenchOptions extends GeneratedRepoOptions {
  readonly runs?: number;
  /** zlib level of ours (default: packageSource's); the reference uses zip's default (6). */
  readonly level?: number;
  /** Run ours with the function's node flags (default true; false runs plain `node`). */
  readonly exposeGc?: boolean;
  readonly log?: (line: string) => void;
}

export interface SourcePackagingBenchResult {
  readonly ours: RunResult[];
  readonly reference: RunResult[];
  readonly oursMedianMs: number;
  readonly referenceMedianMs: number;
  readonly ratio: number;
  readonly peakRssMb: number;
  readonly repoBytes: number;
  readonly files: number;
}

/** Generates the repository, serves it, and runs reference and ours alternately `runs` times each. */
export async function benchmarkSourcePackaging(
  options: SourcePackagingBenchOptions = {},
): Promise<SourcePackagingBenchResult> {
  const log = options.log ?? (() => undefined);
  const runs = options.runs ?? 3;
  const root = await mkdtemp(join(tmpdir(), 'bench-repos-'));
  const bundleFile = await bundleChild(join(root, 'child'));
  const git = await startGitServer(root);
  const s3 = await startS3rver({ buckets: [BUCKET] });
  try {
    const files = generateFiles(options);
    const repoDir = join(root, 'app');
    await mkdir(repoDir, { recursive: true });
    const commit = await createRepo(repoDir, files);
    await run('git', ['repack', '-a', '-d', '-q'], { cwd: repoDir });
    const repoBytes = Object.values(files).reduce(
      (sum, f) =>
        sum +
        (typeof f === 'string' || Buffer.isBuffer(f)
          ? Buffer.byteLength(f)
          : 'content' in f
            ? Buffer.byteLength(f.content)
            : 0),
      0,
    );
    log(
      `repository: ${Object.keys(files).length} files, ${(repoBytes / 1048576).toFixed(1)} MB, commit ${commit}`,
    );
    const url = git.url('app');
    const ours: RunResult[] = [];
    const reference: RunResult[] = [];
    for (let round = 0; round < runs; round++) {
      const ref = await runReference(url, s3.client, `reference-${round}.zip`);
      reference.push(ref);
      log(`run ${round + 1}: reference ${ref.ms.toFixed(0)} ms, zip ${(ref.bytes / 1048576).toFixed(1)} MB`);
      const our = await runOurs(
        bundleFile,
        {
          url,
          bucket: BUCKET,
          commit,
          endpoint: s3.endpoint,
          key: `ours-${round}.zip`,
          level: options.level,
        },
        options.exposeGc ?? true,
      );
      ours.push(our);
      log(
        `run ${round + 1}: ours ${our.ms.toFixed(0)} ms, zip ${(our.bytes / 1048576).toFixed(1)} MB, peak RSS ${our.peakRssMb?.toFixed(0)} MB`,
      );
    }
    const oursMedianMs = median(ours.map((r) => r.ms));
    const referenceMedianMs = median(reference.map((r) => r.ms));
    return {
      ours,
      reference,
      oursMedianMs,
      referenceMedianMs,
      ratio: oursMedianMs / referenceMedianMs,
      peakRssMb: Math.max(...ours.map((r) => r.peakRssMb ?? 0)),
      repoBytes,
      files: Object.keys(files).length,
    };
  } finally {
    await s3.close();
    await git.close();
    await rm(root, { recursive: true, force: true });
  }
}

/** Peak RSS allowed on every repository, whatever its file count and file sizes. */
const PEAK_RSS_TARGET_MB = 160;
/** Wall time allowed against native `git clone --depth 1` + `zip`. */
const RATIO_TARGET = 1.2;

/** The repositories of `npm run bench`: files, bytes, runs, and whether the speed target applies. */
const SIZES: readonly {
  label: string;
  files: number;
  totalBytes: number;
  runs: number;
  speedTarget: boolean;
  singleFile?: boolean;
}[] = [
  { label: 'small', files: 200, totalBytes: 2 * 1024 * 1024, runs: 5, speedTarget: false },
  { label: 'medium', files: 5_000, totalBytes: 50 * 1024 * 1024, runs: 3, speedTarget: true },
  { label: 'large', files: 20_000, totalBytes: 200 * 1024 * 1024, runs: 3, speedTarget: true },
  // Many small files: where per-file costs (headers, writes, reads) dominate.
  { label: 'many small files', files: 70_000, totalBytes: 35 * 1024 * 1024, runs: 3, speedTarget: true },
  // One large file: where memory would grow with a file's size.
  {
    label: 'one large file',
    files: 1,
    totalBytes: 100 * 1024 * 1024,
    runs: 3,
    speedTarget: true,
    singleFile: true,
  },
];

/** Rows for `npm run bench`: one per repository size. */
export async function benchSourcePackaging(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const size of SIZES) {
    const result = await benchmarkSourcePackaging({
      files: size.files,
      totalBytes: size.totalBytes,
      singleFile: size.singleFile,
      runs: size.runs,
      log: (line) => process.stderr.write(`  ${size.label}: ${line}\n`),
    });
    const rssMet = result.peakRssMb <= PEAK_RSS_TARGET_MB;
    rows.push({
      name: `source packaging, ${size.label} (${result.files} files, ${Math.round(result.repoBytes / 1048576)} MB): fetch + zip + upload`,
      unit: 'ms',
      ours: result.oursMedianMs,
      reference: result.referenceMedianMs,
      peakRssMb: result.peakRssMb,
      target: size.speedTarget
        ? `ratio <= ${RATIO_TARGET}, peak RSS <= ${PEAK_RSS_TARGET_MB} MB`
        : `peak RSS <= ${PEAK_RSS_TARGET_MB} MB`,
      met: size.speedTarget ? result.ratio <= RATIO_TARGET && rssMet : rssMet,
    });
  }
  return rows;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '3' },
      files: { type: 'string', default: '5000' },
      mb: { type: 'string', default: '50' },
      level: { type: 'string' },
      single: { type: 'boolean', default: false },
      'no-gc': { type: 'boolean', default: false },
    },
  });
  const result = await benchmarkSourcePackaging({
    runs: Number(values.runs),
    files: Number(values.files),
    totalBytes: Number(values.mb) * 1024 * 1024,
    singleFile: values.single,
    level: values.level === undefined ? undefined : Number(values.level),
    exposeGc: !values['no-gc'],
    log: (line) => console.log(line),
  });
  console.log(
    [
      `reference (git clone --depth 1 + zip -qr + upload): median ${result.referenceMedianMs.toFixed(0)} ms`,
      `ours (our smart-HTTP fetch + zip from the pack + upload):  median ${result.oursMedianMs.toFixed(0)} ms`,
      `ratio ours/reference: ${result.ratio.toFixed(2)} (target <= ${RATIO_TARGET})`,
      `peak RSS of ours: ${result.peakRssMb.toFixed(0)} MB (target <= ${PEAK_RSS_TARGET_MB} MB)`,
    ].join('\n'),
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main();
}
