/**
 * How long `stackpilot status`, `logs` (an execution's history, and a stage's output) and
 * `--help` take, wall time of the whole process as
 * a user runs it (`node sandbox/bin.mjs …`, the compiled CLI that `npm install` builds),
 * against a running sandbox, next to `curl` on the same endpoints: the median of 10 runs
 * each. One more row runs `status` from the TypeScript sources through tsx (no build).
 *
 * `tsx bench/cli.ts` runs it alone; `npm run bench -- cli` as a section.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../sandbox/templates/synth.ts';
import { type BenchRow, median, toMarkdown } from './report.ts';

const RUNS = 10;
const TARGET_MS = 300;
const BIN = join(PROJECT_ROOT, 'sandbox', 'bin.mjs');

/** Starts a sandbox on `dataDir`; resolves with its URL and a function that stops it. */
async function startSandbox(dataDir: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const child: ChildProcess = spawn(process.execPath, [BIN, 'start', '--data', dataDir, '--port', '0'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, STACKPILOT_WEBHOOK_SECRET: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const found = output.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (found?.[1]) resolve(found[1]);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`the sandbox exited (${code}) before listening:\n${output}`)),
    );
  });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGINT');
    });
  return { url, stop };
}

/** Median wall milliseconds of `command args` over {@link RUNS} runs (one warm-up run first). */
function timed(command: string, args: string[], expectStatus = 0): number {
  const once = () => {
    const started = performance.now();
    const result = spawnSync(command, args, { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const ms = performance.now() - started;
    if (result.status !== expectStatus)
      throw new Error(`${command} ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
    return ms;
  };
  once();
  return median(Array.from({ length: RUNS }, once));
}

export async function benchCli(): Promise<BenchRow[]> {
  // What `npm install` does (prepare): the command runs the compiled CLI.
  execFileSync(process.execPath, [join(PROJECT_ROOT, 'scripts', 'build-cli.mjs')], { stdio: 'ignore' });
  const dir = mkdtempSync(join(tmpdir(), 'stackpilot-bench-cli-'));
  const sandbox = await startSandbox(join(dir, 'data'));
  try {
    const { url } = sandbox;
    // One execution for `logs` to show: a rollback with no earlier release fails at once.
    const started = execFileSync('curl', [
      '-s',
      '-X',
      'POST',
      '-H',
      'content-type: application/json',
      '-d',
      JSON.stringify({
        stateMachine: 'release',
        input: { app: 'starter', stage: 'dev', action: 'rollback' },
      }),
      `${url}/executions`,
    ]).toString();
    const name = (JSON.parse(started) as { name: string }).name;
    const curl = (...paths: string[]) =>
      timed('curl', ['-s', '-o', '/dev/null', ...paths.map((p) => `${url}${p}`)]);
    const rows: [string, number, number][] = [
      [
        'status',
        timed(process.execPath, [BIN, 'status', '--url', url]),
        curl('/stages', '/executions?limit=10', '/executions?stateMachine=scale&limit=200'),
      ],
      [
        'logs <execution>',
        timed(process.execPath, [BIN, 'logs', name, '--url', url]),
        curl(`/executions/${name}`),
      ],
      [
        'logs <app> <stage>',
        timed(
          process.execPath,
          [BIN, 'logs', 'starter', 'dev', '--url', url, '--data', join(dir, 'data')],
          0,
        ),
        curl('/stages'),
      ],
      ['--help', timed(process.execPath, [BIN, '--help']), curl('/health')],
    ];
    // The floor on this machine: a Node process that does nothing.
    const bareNode = timed(process.execPath, ['-e', '0']);
    const fromSources = timed(process.execPath, [
      '--import',
      'tsx',
      join(PROJECT_ROOT, 'sandbox', 'cli.ts'),
      'status',
      '--url',
      url,
    ]);
    return [
      ...rows.map(
        ([command, ours, reference]): BenchRow => ({
          name: `cli: stackpilot ${command} vs curl on the same endpoint${command === '--help' ? ' (/health)' : ''}, wall (median of ${RUNS})`,
          unit: 'ms',
          ours,
          reference,
          target: `<= ${TARGET_MS} ms`,
          met: ours <= TARGET_MS,
        }),
      ),
      {
        name: `cli: node -e 0 (the floor of any Node command on this machine), wall (median of ${RUNS})`,
        unit: 'ms',
        ours: bareNode,
      },
      {
        name: `cli: stackpilot status from the TypeScript sources through tsx (no build), wall (median of ${RUNS})`,
        unit: 'ms',
        ours: fromSources,
        reference: rows[0]?.[1],
      },
    ];
  } finally {
    await sandbox.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(toMarkdown(await benchCli()));
}
