/**
 * The sandbox runs the app: a push ends as processes serving the change at the stage's URL;
 * a push that breaks /health rolls back while the URL keeps serving the old version; a
 * killed process is a stopped task with its exit code; real requests scale the service out
 * and back in. All on loopback, with the real git client, in process.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCommand } from '../../sandbox/commands/load.ts';
import type { ExecutionRecord } from '../../sandbox/runner.ts';
import { type Sandbox, startSandbox } from '../../sandbox/server.ts';
import { stageNames } from '../../shared/naming.ts';
import { sh } from '../support/process.ts';

/** An emulated minute a second; health checks keep their real-time floors (5 s start period). */
const TIME_SCALE = 60;

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface StageView {
  app: string;
  stage: string;
  url?: string;
  desiredCount: number;
  taskDefinition?: { revision?: number; image?: string };
  processes: { id: string; kind: string; pid?: number; health: string; commit?: string }[];
  environment: { name: string; value: string; from: string }[];
}

describe('the sandbox runs the app', () => {
  let dir: string;
  let work: string;
  let sandbox: Sandbox;
  const lines: string[] = [];
  const pids = new Set<number>();
  const figures: Record<string, number | string> = {};

  const stage = async (): Promise<StageView> => {
    const { stages } = (await (await fetch(`${sandbox.url}/stages`)).json()) as { stages: StageView[] };
    const dev = stages.find((s) => s.app === 'starter' && s.stage === 'dev') as StageView;
    for (const p of dev.processes) if (p.pid) pids.add(p.pid);
    return dev;
  };
  const page = async (): Promise<{ status: number; message?: string }> => {
    const url = sandbox.stageUrls['starter/dev'] as string;
    try {
      const response = await fetch(`${url}/`);
      const body = (await response.json()) as { message?: string };
      return { status: response.status, message: body.message };
    } catch (error) {
      return { status: 0, message: (error as Error).message };
    }
  };
  const push = async (message: string) => {
    expect((await sh('git', ['commit', '--quiet', '-am', message], work)).code).toBe(0);
    const commit = (await sh('git', ['rev-parse', 'HEAD'], work)).stdout.trim();
    expect((await sh('git', ['push', '--quiet', 'origin', 'main'], work)).code).toBe(0);
    return commit;
  };
  const release = (commit: string) =>
    until(
      `the release of ${commit.slice(0, 7)} to end`,
      async () => {
        const { executions } = (await (
          await fetch(`${sandbox.url}/executions?stateMachine=release`)
        ).json()) as { executions: ExecutionRecord[] };
        const mine = executions.find((e) => e.input?.commit === commit);
        return mine && mine.status !== 'RUNNING' ? mine : undefined;
      },
      120_000,
    );

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sandbox-app-'));
    delete process.env.STACKPILOT_WEBHOOK_SECRET;
    sandbox = await startSandbox({
      dataDir: join(dir, 'data'),
      port: 0,
      timeScale: TIME_SCALE,
      log: (line) => lines.push(line),
    });
    work = join(dir, 'starter');
    expect((await sh('git', ['clone', '--quiet', `${sandbox.url}/git/starter.git`, work], dir)).code).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await sandbox?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the placeholder, then the pushed change at the stage URL', async () => {
    expect(sandbox.stageUrls['starter/dev']).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const first = await until(
      'the placeholder to answer',
      async () => {
        const url = sandbox.stageUrls['starter/dev'] as string;
        const response = await fetch(`${url}/`).catch(() => undefined);
        return response?.status === 200 ? response.text() : undefined;
      },
      30_000,
    );
    expect(first).toContain('push to its branch to deploy your app');

    const server = join(work, 'server.js');
    writeFileSync(
      server,
      readFileSync(server, 'utf8').replace(
        "const GREETING = 'Hello from the starter app';",
        "const GREETING = 'Hello from my first push';",
      ),
    );
    const pushed = Date.now();
    const commit = await push('Greet differently');
    await until(
      'the stage URL to serve the change',
      async () => ((await page()).message === 'Hello from my first push' ? true : undefined),
      120_000,
    );
    figures.pushToServingMs = Date.now() - pushed;
    expect((await release(commit)).status).toBe('SUCCEEDED');
    const dev = await stage();
    expect(dev.processes).toEqual([expect.objectContaining({ kind: 'process', health: 'HEALTHY', commit })]);
    // The resolved environment of the stage, as its tasks receive it.
    expect(dev.environment).toEqual(
      expect.arrayContaining([{ name: 'STACKPILOT_STAGE', value: 'dev', from: 'environment' }]),
    );
    // Items live in the stage's data folder: what one task wrote, any task reads.
    const url = sandbox.stageUrls['starter/dev'] as string;
    const created = await fetch(`${url}/items`, { method: 'POST', body: JSON.stringify({ name: 'kept' }) });
    expect(created.status).toBe(201);
  }, 180_000);

  it('rolls back a push that breaks /health, and the URL serves the old version throughout', async () => {
    const before = await stage();
    writeFileSync(join(work, 'BREAK_HEALTH'), '');
    expect((await sh('git', ['add', 'BREAK_HEALTH'], work)).code).toBe(0);
    const pushed = Date.now();
    const commit = await push('Break the health check');
    const answers: { status: number; message?: string }[] = [];
    let ended: ExecutionRecord | undefined;
    const watching = (async () => {
      while (!ended) {
        answers.push(await page());
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    ended = await release(commit);
    await watching;
    figures.pushToRollbackMs = Date.now() - pushed;
    figures.requestsDuringRollback = answers.length;
    expect(ended.status).toBe('FAILED');
    expect(ended.error).toBe('HealthCheckFailed');
    expect(ended.cause).toContain('Task failed container health checks');
    expect(answers.length).toBeGreaterThan(10);
    expect(answers.filter((a) => a.status !== 200 || a.message !== 'Hello from my first push')).toEqual([]);
    const after = await stage();
    expect(after.taskDefinition?.image).toBe(before.taskDefinition?.image);
    expect(after.processes.every((p) => p.commit !== commit || p.health !== 'HEALTHY')).toBe(true);
    // Recover for the next tests.
    expect((await sh('git', ['rm', '--quiet', 'BREAK_HEALTH'], work)).code).toBe(0);
    expect((await release(await push('Mend the health check'))).status).toBe('SUCCEEDED');
  }, 240_000);

  it('reports a killed task process as a stopped task with its exit code, and replaces it', async () => {
    const dev = await stage();
    const victim = dev.processes.find((p) => p.kind === 'process' && p.health === 'HEALTHY');
    expect(victim?.pid).toBeGreaterThan(0);
    process.kill(victim?.pid as number, 'SIGKILL');
    const names = stageNames('starter', 'dev');
    const stopped = await until(
      'the killed task to stop',
      async () => {
        const { tasks } = sandbox.account.ecs.commands.DescribeTasks({
          cluster: names.cluster,
          tasks: [victim?.id as string],
        });
        return tasks?.[0]?.lastStatus === 'STOPPED' ? tasks[0] : undefined;
      },
      30_000,
    );
    expect(stopped.stoppedReason).toBe('Essential container in task exited');
    expect(stopped.stopCode).toBe('EssentialContainerExited');
    expect(stopped.containers?.[0]?.exitCode).toBe(137);
    await until(
      'a replacement to serve',
      async () => ((await page()).status === 200 ? true : undefined),
      60_000,
    );
  }, 120_000);

  it('scales out under real requests (load --rps) and back in when they stop', async () => {
    const out: string[] = [];
    const io = {
      stdout: { write: (s: string) => out.push(s) },
      stderr: { write: (s: string) => out.push(s) },
    } as unknown as Parameters<typeof loadCommand>[1];
    const started = Date.now();
    let peak = 1;
    let peakAt = 0;
    const loading = loadCommand(
      ['starter', 'dev', '--rps', '25', '--duration', '45s', '--url', sandbox.url],
      io,
    );
    const watch = setInterval(() => {
      void stage().then((s) => {
        if (s.desiredCount > peak) {
          peak = s.desiredCount;
          peakAt = Date.now() - started;
        }
      });
    }, 500);
    try {
      expect(await loading).toBe(0);
      figures.loadReport = out.join('').trim().split('\n').at(-1) ?? '';
      figures.peakTasks = peak;
      figures.firstPeakAtMs = peakAt;
      expect(peak).toBeGreaterThanOrEqual(2);
      const ended = Date.now();
      await until(
        'the service to scale back in',
        async () => ((await stage()).desiredCount === 1 ? true : undefined),
        150_000,
      );
      figures.scaleInAfterLoadMs = Date.now() - ended;
    } finally {
      clearInterval(watch);
    }
  }, 300_000);

  it('leaves no task process behind when it stops', async () => {
    await stage();
    expect(pids.size).toBeGreaterThan(0);
    await sandbox.close();
    const alive = [...pids].filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    });
    expect(alive).toEqual([]);
    console.log(`sandbox app figures: ${JSON.stringify(figures)}`);
  }, 30_000);
});
