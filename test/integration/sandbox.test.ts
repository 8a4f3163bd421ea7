/**
 * What a newcomer does, end to end, against the real sandbox process (`stackpilot start`):
 * clone the starter app with the real git client, commit, push; watch the deploy and the
 * release; drive the CPU load up and down and watch the service and the cluster scale.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionRecord } from '../../sandbox/runner.ts';
import { loadConfigFile } from '../../shared/config-file.ts';
import { sh } from '../support/process.ts';

const BIN = fileURLToPath(new URL('../../sandbox/bin.mjs', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Emulated time runs 300 times faster: a 5-minute cooldown takes 1 s. */
const TIME_SCALE = '300';

interface Stage {
  app: string;
  stage: string;
  taskDefinition?: { revision: number; image: string };
  desiredCount: number;
  runningCount: number;
  autoScalingGroup?: { min: number; max: number; desired: number };
  lastRelease?: { status: string; commit?: string };
  url?: string;
}

const cli = (args: string[]) => sh(process.execPath, [BIN, ...args], ROOT);

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('the sandbox, as a newcomer uses it', () => {
  let dir: string;
  let dataDir: string;
  let child: ChildProcess;
  let output = '';
  let url: string;
  const timings: Record<string, number> = {};

  const get = async <T>(path: string): Promise<T> => (await (await fetch(`${url}${path}`)).json()) as T;
  const dev = async () =>
    (await get<{ stages: Stage[] }>('/stages')).stages.find((s) => s.stage === 'dev') as Stage;

  function start(): Promise<string> {
    output = '';
    child = spawn(
      process.execPath,
      [BIN, 'start', '--data', dataDir, '--port', '0', '--time-scale', TIME_SCALE],
      {
        cwd: ROOT,
        env: { ...process.env, STACKPILOT_WEBHOOK_SECRET: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stdout?.on('data', (chunk) => (output += chunk));
    child.stderr?.on('data', (chunk) => (output += chunk));
    return until(
      'the sandbox to listen',
      async () => output.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/)?.[1],
      // A cold start synthesizes the CDK app (the README's target: 60 s).
      90_000,
    );
  }

  function stop(): Promise<number | null> {
    return new Promise((resolve) => {
      if (child.exitCode !== null) return resolve(child.exitCode);
      child.once('exit', (code) => resolve(code));
      child.kill('SIGINT');
    });
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sandbox-e2e-'));
    dataDir = join(dir, 'data');
    const started = Date.now();
    url = await start();
    // Cold: the CDK app is synthesized into the new data folder.
    timings.coldStart = Date.now() - started;
  });

  afterAll(async () => {
    if (child && child.exitCode === null) await stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints what to do next and keeps the webhook secret in the data folder', () => {
    expect(output).toContain(`git clone ${url}/git/starter.git`);
    expect(output).toContain('npx stackpilot status');
    const secret = readFileSync(join(dataDir, 'webhook-secret'), 'utf8').trim();
    expect(output).toContain(`webhook secret: ${secret}`);
  });

  it('deploys a pushed commit: deploy succeeds, the release runs, the stage runs the new image', async () => {
    const work = join(dir, 'starter');
    expect((await sh('git', ['clone', '--quiet', `${url}/git/starter.git`, work], dir)).code).toBe(0);
    const before = await dev();
    // The first push goes through the placeholder revision the stage's template registers, as on AWS.
    expect(before.taskDefinition).toMatchObject({
      revision: 1,
      image: 'public.ecr.aws/docker/library/busybox:stable',
    });
    writeFileSync(
      join(work, 'server.js'),
      readFileSync(join(work, 'server.js'), 'utf8').replace(
        "const GREETING = 'Hello from the starter app';",
        "const GREETING = 'Hello from a newcomer';",
      ),
    );
    await sh('git', ['commit', '--quiet', '-am', 'A first change'], work);
    const commit = (await sh('git', ['rev-parse', 'HEAD'], work)).stdout.trim();
    const pushed = Date.now();
    expect((await sh('git', ['push', '--quiet', 'origin', 'main'], work)).code).toBe(0);

    const deploy = await until(
      'the deploy execution to end',
      async () => {
        const { executions } = await get<{ executions: ExecutionRecord[] }>(
          '/executions?stateMachine=deploy',
        );
        const mine = executions.find((e) => e.input?.commit === commit);
        return mine && mine.status !== 'RUNNING' ? mine : undefined;
      },
      45_000,
    );
    timings.deploy = Date.now() - pushed;
    expect(deploy, `${deploy.error}: ${deploy.cause}`).toMatchObject({
      status: 'SUCCEEDED',
      input: {
        app: 'starter',
        stage: 'dev',
        ref: 'refs/heads/main',
        repository: { url: `${url}/git/starter.git` },
      },
    });
    expect(deploy.statesEntered[0]).toBe('Package Source');

    const { executions: releases } = await get<{ executions: ExecutionRecord[] }>(
      '/executions?stateMachine=release',
    );
    expect(releases.find((r) => r.input?.commit === commit)).toMatchObject({ status: 'SUCCEEDED' });

    const after = await dev();
    expect(after.taskDefinition?.revision).toBeGreaterThan(before.taskDefinition?.revision ?? 0);
    expect(after.taskDefinition?.image).toMatch(new RegExp(`/stackpilot/starter:${commit}$`));
    expect(after.lastRelease).toMatchObject({ status: 'SUCCEEDED', commit });

    // The deploy reported on the commit: pending when it started, success when the release ended.
    const statuses = await until(
      'the commit status success',
      async () => {
        const res = await fetch(`${url}/api/v3/repos/git/starter/commits/${commit}/statuses`, {
          headers: { authorization: 'Bearer test' },
        });
        const list = (await res.json()) as { state: string; context: string }[];
        return list.some((s) => s.state === 'success') ? list : undefined;
      },
      10_000,
    );
    expect(statuses.map((s) => [s.state, s.context]).reverse()).toEqual([
      ['pending', 'stackpilot/starter/dev'],
      ['success', 'stackpilot/starter/dev'],
    ]);
    expect(((await dev()) as { commitStatus?: unknown }).commitStatus).toMatchObject({
      state: 'success',
      sha: commit,
    });
    // The start banner and the stage show the stage's URL: open it, and the change is there.
    expect(after.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(output).toContain(`starter/dev is served at ${after.url}`);
    const served = await until(
      'the stage URL to serve the change',
      async () => {
        const response = await fetch(`${after.url}/`).catch(() => undefined);
        const body = response?.ok ? ((await response.json()) as { message?: string }) : undefined;
        return body?.message === 'Hello from a newcomer' ? body : undefined;
      },
      30_000,
    );
    timings.serving = Date.now() - pushed;
    expect(served.message).toBe('Hello from a newcomer');

    const logs = await cli(['logs', deploy.name, '--url', url]);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toContain('-> Package Source');
  });

  it('promotes the image dev released to prod without a build, refusing a stage that never released', async () => {
    const stage = async (name: string) =>
      (await get<{ stages: Stage[] }>('/stages')).stages.find((s) => s.stage === name) as Stage;
    const refused = await cli(['promote', 'starter', 'prod', 'dev', '--url', url]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('starter/prod has never released an image');

    const image = (await dev()).taskDefinition?.image;
    expect(image).toMatch(/\/stackpilot\/starter:[0-9a-f]{40}$/);
    const builds = (await get<{ executions: ExecutionRecord[] }>('/executions?stateMachine=deploy'))
      .executions.length;
    const promoted = await cli(['promote', 'starter', 'dev', 'prod', '--url', url, '--timeout', '60']);
    expect(promoted.code, promoted.stderr).toBe(0);
    expect((await stage('prod')).taskDefinition?.image).toBe(image);
    const { executions: releases } = await get<{ executions: ExecutionRecord[] }>(
      '/executions?stateMachine=release',
    );
    expect(releases.find((r) => r.input?.promotedFrom === 'dev')).toMatchObject({
      status: 'SUCCEEDED',
      input: { app: 'starter', stage: 'prod', image, promotedFrom: 'dev' },
    });
    // No build: no deploy execution started.
    expect(
      (await get<{ executions: ExecutionRecord[] }>('/executions?stateMachine=deploy')).executions,
    ).toHaveLength(builds);
  });

  it('scales the service to its max and the cluster out under load, and back in when it drops', async () => {
    const tasks = { min: 1, max: 5 };
    const before = await dev();
    let clusterMax = before.autoScalingGroup?.desired ?? 0;
    const loaded = Date.now();
    const up = await cli(['load', 'starter', 'dev', '--cpu', '95', '--url', url]);
    expect(up.code, up.stderr).toBe(0);

    await until(
      'the service to reach its maximum',
      async () => {
        const stage = await dev();
        clusterMax = Math.max(clusterMax, stage.autoScalingGroup?.desired ?? 0);
        return stage.desiredCount === tasks.max ? stage : undefined;
      },
      45_000,
    );
    timings.scaleOut = Date.now() - loaded;
    timings.instancesBeforeLoad = before.autoScalingGroup?.desired ?? 0;
    timings.instancesUnderLoad = clusterMax;
    // A t3.micro holds three 256 MiB tasks of the starter app: five tasks and the free slot a
    // rolling deploy needs take two instances, and the service's growth made the cluster grow to them.
    expect(clusterMax).toBe(2);
    expect(clusterMax).toBeGreaterThan(before.autoScalingGroup?.desired ?? 0);

    const status = await cli(['status', '--json', '--limit', '200', '--url', url]);
    const scaleRuns = (JSON.parse(status.stdout) as { executions: ExecutionRecord[] }).executions.filter(
      (e) => e.stateMachine === 'scale',
    );
    expect(scaleRuns.some((e) => e.statesEntered.includes('Scale Service'))).toBe(true);

    const unloaded = Date.now();
    expect((await cli(['load', 'starter', 'dev', '--cpu', '10', '--url', url])).code).toBe(0);
    await until(
      'the service to scale back in',
      async () => ((await dev()).desiredCount === tasks.min ? true : undefined),
      45_000,
    );
    timings.scaleIn = Date.now() - unloaded;

    // The cluster low alarm has been in ALARM since the idle start and never transitioned again:
    // only its re-arming after the scale-out (and after the service's scale-in) brings the
    // cluster back to its minimum.
    const instances = loadConfigFile(join(ROOT, 'stackpilot.yml')).apps.starter?.stages.dev?.instances;
    expect(instances?.min).toBeLessThan(clusterMax);
    await until(
      'the cluster to scale back in to its minimum',
      async () => ((await dev()).autoScalingGroup?.desired === instances?.min ? true : undefined),
      60_000,
    );
    timings.clusterScaleIn = Date.now() - unloaded;
    const after = (
      JSON.parse((await cli(['status', '--json', '--limit', '500', '--url', url])).stdout) as {
        executions: ExecutionRecord[];
      }
    ).executions.filter((e) => e.stateMachine === 'scale');
    expect(after.some((e) => e.statesEntered.includes('Re-arm Alarms'))).toBe(true);
    expect(after.some((e) => e.statesEntered.includes('Terminate Instance'))).toBe(true);
  }, 180_000);

  it('stops cleanly on Ctrl-C and finds its state again on restart', async () => {
    const { executions: before } = await get<{ executions: ExecutionRecord[] }>('/executions?limit=500');
    const stopped = Date.now();
    expect(await stop()).toBe(0);
    timings.stop = Date.now() - stopped;
    expect(existsSync(join(dataDir, 'server.json'))).toBe(false);

    const restarted = Date.now();
    url = await start();
    // Warm: the templates come from the cache in the data folder, the CDK is not loaded.
    timings.warmStart = Date.now() - restarted;
    expect(output).toContain('sandbox: the account has the stacks of the CDK app');
    const { executions: after } = await get<{ executions: ExecutionRecord[] }>('/executions?limit=500');
    const deploys = (list: ExecutionRecord[]) =>
      list.filter((e) => e.stateMachine === 'deploy').map((e) => [e.name, e.status]);
    expect(deploys(after)).toEqual(deploys(before));
    expect((await dev()).taskDefinition?.image).toMatch(/:[0-9a-f]{40}$/);
    expect(await stop()).toBe(0);
    console.log(`sandbox timings (ms): ${JSON.stringify(timings)}`);
  });
});
