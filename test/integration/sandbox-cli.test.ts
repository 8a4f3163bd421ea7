/**
 * The CLI against a running sandbox (in process, on loopback): `logs <app> <stage>` reads
 * what the stage's tasks printed into the emulated CloudWatch Logs, `watch` follows an
 * execution to its end, `status` says why the stage last scaled.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../sandbox/cli.ts';
import { logsCommand } from '../../sandbox/commands/logs.ts';
import { type Sandbox, startSandbox } from '../../sandbox/server.ts';
import { captureIo } from '../support/process.ts';

describe('stackpilot CLI against a running sandbox', () => {
  let dir: string;
  let dataDir: string;
  let sandbox: Sandbox;
  let group: string;
  const at = (flags: string[]) => [...flags, '--url', sandbox.url, '--data', dataDir];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sandbox-cli-'));
    dataDir = join(dir, 'data');
    delete process.env.STACKPILOT_WEBHOOK_SECRET;
    sandbox = await startSandbox({ dataDir, port: 0, timeScale: 600, log: () => undefined });
    // The tasks' measured CPU would drive the service alarms (an idle app scales in): a steady
    // 50 % keeps both service alarms quiet, so the only scaling is what the tests start.
    for (const s of ['dev', 'prod']) sandbox.account.cloudWatch.setLoad('starter', s, 50);
    const stage = sandbox.account.snapshot().find((s) => s.app === 'starter' && s.stage === 'dev');
    if (!stage?.logGroup) throw new Error('the starter/dev stage has no log group in the sandbox');
    group = stage.logGroup;
  });

  afterAll(async () => {
    await sandbox?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('logs: says there is no output yet, then prints what the tasks printed, prefixed by task', async () => {
    const empty = captureIo();
    expect(await main(at(['logs', 'starter', 'dev']), empty.io)).toBe(0);
    expect(empty.out()).toBe('');
    expect(empty.err()).toBe("no output from starter/dev's tasks\n");

    const now = Date.now();
    sandbox.account.logs.append(group, 'dev/app/aaaa1111bbbb2222cccc3333dddd4444', [
      { timestamp: now - 3_600_000, message: 'an hour ago' },
      { timestamp: now - 1000, message: 'listening on 8080' },
    ]);
    const all = captureIo();
    expect(await main(at(['logs', 'starter', 'dev']), all.io)).toBe(0);
    expect(all.out().trim().split('\n')).toEqual([
      expect.stringMatching(/^\d\d:\d\d:\d\d aaaa1111 an hour ago$/),
      expect.stringMatching(/^\d\d:\d\d:\d\d aaaa1111 listening on 8080$/),
    ]);
    const recent = captureIo();
    expect(await main(at(['logs', 'starter', 'dev', '--since', '10m', '--json']), recent.io)).toBe(0);
    expect(JSON.parse(recent.out())).toMatchObject({
      task: 'aaaa1111bbbb2222cccc3333dddd4444',
      message: 'listening on 8080',
    });
  });

  it('logs --follow: prints output as it comes, once', async () => {
    const controller = new AbortController();
    const t = captureIo();
    const following = logsCommand(at(['starter', 'dev', '--follow', '--since', '1s']), t.io, {
      pollMs: 20,
      signal: controller.signal,
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    sandbox.account.logs.append(group, 'dev/app/eeee5555ffff6666', [
      { timestamp: Date.now(), message: 'GET / 200' },
    ]);
    const deadline = Date.now() + 5000;
    while (!t.out().includes('GET / 200') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    await new Promise((resolve) => setTimeout(resolve, 100));
    controller.abort();
    expect(await following).toBe(0);
    expect(t.out().match(/GET \/ 200/g)).toHaveLength(1);
    expect(t.out()).toContain('eeee5555 GET / 200');
  });

  it('logs: names the stages when the stage is unknown (exit 2)', async () => {
    const t = captureIo();
    expect(await main(at(['logs', 'starter', 'qa']), t.io)).toBe(2);
    expect(t.err()).toMatch(/no stage starter\/qa in the sandbox; its stages are starter\/dev/);
  });

  it('watch: follows an execution to its end and exits with its outcome', async () => {
    const started = await fetch(`${sandbox.url}/executions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        stateMachine: 'release',
        input: { app: 'starter', stage: 'dev', action: 'rollback' },
      }),
    });
    const { name } = (await started.json()) as { name: string };
    const failed = captureIo();
    expect(await main(at(['watch', name]), failed.io), failed.err()).toBe(1);
    expect(failed.out()).toMatch(/^ {2}-> \S/m);
    expect(failed.err()).toMatch(/^FAILED: /);

    const deployed = captureIo();
    expect(await main(at(['deploy', 'starter', 'dev']), deployed.io), deployed.err()).toBe(0);
    expect(deployed.err()).toContain('-> Package Source');
    const last = captureIo();
    expect(await main(at(['watch', 'starter', 'dev', '--json']), last.io)).toBe(0);
    expect(JSON.parse(last.out())).toMatchObject({
      status: 'SUCCEEDED',
      input: { app: 'starter', stage: 'dev' },
    });
  });

  it('status: says what the last scaling did, why and when, and when the next look is', async () => {
    const operator = JSON.parse(
      readFileSync(new URL('../../events/samples/scale-operator.json', import.meta.url), 'utf8'),
    );
    const started = await fetch(`${sandbox.url}/executions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ stateMachine: 'scale', input: operator }),
    });
    const { name } = (await started.json()) as { name: string };
    const watched = captureIo();
    expect(await main(at(['watch', name]), watched.io), watched.err()).toBe(0);
    const json = captureIo();
    expect(await main(at(['status', '--json']), json.io)).toBe(0);
    const { scaling } = JSON.parse(json.out()) as {
      scaling: { app: string; stage: string; lastAction?: object }[];
    };
    expect(scaling.find((s) => s.app === 'starter' && s.stage === 'dev')?.lastAction).toMatchObject({
      target: 'service',
      to: operator.desiredCount,
      trigger: 'operator',
      why: `operator: service to ${operator.desiredCount}`,
      execution: name,
    });
    const text = captureIo();
    expect(await main(at(['status']), text.io)).toBe(0);
    expect(text.out()).toMatch(
      new RegExp(`SCALING\\n.*\\nstarter/dev .*-> ${operator.desiredCount} +operator: service to`),
    );
  });
});
