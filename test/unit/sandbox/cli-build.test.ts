/**
 * The compiled CLI (`scripts/build-cli.mjs`, what `prepare` runs), built here into a
 * temporary folder so no earlier build is involved, and run as a process.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = new URL('../../../', import.meta.url).pathname;
const run = promisify(execFile);
let outdir: string;

async function cli(...args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(outdir, 'cli.mjs'), ...args], { cwd: root });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('the compiled CLI', () => {
  beforeAll(async () => {
    // Inside the project: the build imports its packages from node_modules.
    mkdirSync(join(root, 'dist'), { recursive: true });
    outdir = mkdtempSync(join(root, 'dist', 'test-'));
    await run(process.execPath, [join(root, 'scripts', 'build-cli.mjs'), outdir], { cwd: root });
  }, 120_000);
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('lists the sources it was built from, for bin.mjs to tell a stale build', () => {
    const { inputs, builtAt } = JSON.parse(readFileSync(join(outdir, 'inputs.json'), 'utf8'));
    expect(builtAt).toBeGreaterThan(0);
    expect(inputs).toEqual(
      expect.arrayContaining(['sandbox/cli.ts', 'sandbox/commands/status.ts', 'package.json']),
    );
    expect(inputs.some((input: string) => input.includes('node_modules'))).toBe(false);
  });

  it('answers --help and bad usage without the sandbox server or the SDK', async () => {
    const help = await cli('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/usage: stackpilot <command>/);
    const bad = await cli('rollback', 'starter');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(
      'stackpilot rollback: rollback needs <app> <stage>, e.g. stackpilot rollback starter dev --to 3 (stackpilot rollback --help)\n',
    );
    const none = await cli('status', '--url', 'http://127.0.0.1:9');
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^stackpilot status: no sandbox answers at http:\/\/127.0.0.1:9/);
  }, 60_000);

  it('loads the modules that read files next to their sources from the sources (cost reads its price table)', async () => {
    const cost = await cli('cost', '--json');
    expect(cost.stderr).toBe('');
    expect(cost.code).toBe(0);
    expect(JSON.parse(cost.stdout)).toHaveProperty('recommended');
  }, 60_000);
});
