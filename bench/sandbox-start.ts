/**
 * How long `npm start` takes to be ready (its "listening on" line): cold, in a new data
 * folder (the CDK app is synthesized and the account created from its templates), and warm,
 * restarted on the same folder (templates from the cache, the CDK never loaded). Each start
 * is the `stackpilot` command in a child process, as a user runs it, stopped with Ctrl-C.
 *
 * `tsx bench/sandbox-start.ts` runs it alone; `npm run bench -- sandbox-start` as a section.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../sandbox/templates/synth.ts';
import { type BenchRow, median, toMarkdown } from './report.ts';

/** The targets on this kind of machine. */
const COLD_TARGET_S = 60;
const WARM_TARGET_S = 15;
const WARM_RUNS = 3;

/** Starts the sandbox on `dataDir`; resolves with the seconds until it listens, then stops it. */
async function timedStart(dataDir: string): Promise<number> {
  const started = performance.now();
  const child: ChildProcess = spawn(
    process.execPath,
    [join(PROJECT_ROOT, 'sandbox', 'bin.mjs'), 'start', '--data', dataDir, '--port', '0'],
    {
      cwd: PROJECT_ROOT,
      env: { ...process.env, STACKPILOT_WEBHOOK_SECRET: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const ready = new Promise<number>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (/listening on http:\/\/127\.0\.0\.1:\d+/.test(output))
        resolve((performance.now() - started) / 1000);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`the sandbox exited (${code}) before listening:\n${output}`)),
    );
  });
  try {
    return await ready;
  } finally {
    await new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGINT');
    });
  }
}

export async function benchSandboxStart(): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'stackpilot-bench-start-'));
  try {
    const dataDir = join(dir, 'data');
    const cold = await timedStart(dataDir);
    const warm: number[] = [];
    for (let i = 0; i < WARM_RUNS; i += 1) warm.push(await timedStart(dataDir));
    const warmMedian = median(warm);
    return [
      {
        name: 'sandbox: npm start ready, cold (CDK app synthesized, account created from the templates)',
        unit: 's',
        ours: cold,
        target: `<= ${COLD_TARGET_S} s`,
        met: cold <= COLD_TARGET_S,
      },
      {
        name: `sandbox: npm start ready, warm (templates from the cache; median of ${WARM_RUNS})`,
        unit: 's',
        ours: warmMedian,
        target: `<= ${WARM_TARGET_S} s`,
        met: warmMedian <= WARM_TARGET_S,
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(toMarkdown(await benchSandboxStart()));
}
