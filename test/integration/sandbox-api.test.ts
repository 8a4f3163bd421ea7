/**
 * The sandbox's HTTP API, in process: the event bus route, the executions routes, and the
 * webhook route going through the payload 2.0 adapter into the real webhook handler.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { githubDeliveryHeaders } from '../../sandbox/git/push-webhook.ts';
import type { ExecutionRecord } from '../../sandbox/runner.ts';
import { type Sandbox, startSandbox } from '../../sandbox/server.ts';

const sample = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../events/samples/${name}`, import.meta.url), 'utf8'));

describe('sandbox HTTP API', () => {
  let dir: string;
  let sandbox: Sandbox;
  const lines: string[] = [];

  const call = async (
    path: string,
    init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
  ) => {
    const response = await fetch(`${sandbox.url}${path}`, {
      method: init.method ?? 'GET',
      headers: init.headers ?? { 'content-type': 'application/json' },
      body:
        typeof init.body === 'string'
          ? init.body
          : init.body === undefined
            ? undefined
            : JSON.stringify(init.body),
    });
    // biome-ignore lint/suspicious/noExplicitAny: JSON answers of many shapes.
    return { status: response.status, body: (await response.json()) as any };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sandbox-api-'));
    delete process.env.STACKPILOT_WEBHOOK_SECRET;
    sandbox = await startSandbox({
      dataDir: join(dir, 'data'),
      port: 0,
      timeScale: 600,
      log: (l) => lines.push(l),
    });
  });

  afterAll(async () => {
    await sandbox.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('puts an alarm event on the bus, whose rule starts the scale state machine with it', async () => {
    const alarm = sample('cloudwatch-alarm-state-change.json');
    const { status, body } = await call('/events', { method: 'POST', body: alarm });
    expect(status).toBe(200);
    // The rule is the control plane template's AWS::Events::Rule on alarm state changes.
    const rule = sandbox.account.deployed.rules.find((r) =>
      (r.pattern['detail-type'] as string[]).includes('CloudWatch Alarm State Change'),
    );
    expect(rule?.name).toMatch(/^StackpilotControlPlane-ScaleAlarmRule/);
    expect(body.events).toEqual([{ id: alarm.id, rules: [rule?.name], failures: {} }]);
    const started = sandbox.runner.list({ stateMachine: 'scale' }).find((e) => e.input.id === alarm.id);
    expect(started?.input.detail.alarmName).toBe('stackpilot-starter-dev-service-cpu-high');
  });

  it('takes a PutEvents body and answers 400 for an event it cannot read', async () => {
    const ok = await call('/events', {
      method: 'POST',
      body: { Entries: [{ Source: 'my.app', DetailType: 'Something', Detail: '{"a":1}' }] },
    });
    expect(ok.status).toBe(200);
    expect(ok.body.events[0].rules).toEqual([]);
    expect((await call('/events', { method: 'POST', body: { detail: {} } })).status).toBe(400);
    expect((await call('/events', { method: 'POST', body: '{oops' })).body.message).toMatch(/not JSON/);
  });

  it('starts, lists and shows executions, and says what it cannot find', async () => {
    const started = await call('/executions', {
      method: 'POST',
      // prod: the alarm of the first test holds the scaling lease of dev's service.
      body: {
        stateMachine: 'scale',
        input: { ...sample('scale-operator.json'), stage: 'prod' },
        name: 'by-hand',
      },
    });
    expect(started.status).toBe(202);
    await sandbox.runner.wait(started.body.executionArn);
    const shown = await call('/executions/by-hand');
    expect(shown.body).toMatchObject({ name: 'by-hand', status: 'SUCCEEDED', stateMachine: 'scale' });
    expect((shown.body as ExecutionRecord).statesEntered).toContain('Scale Service');
    expect(
      (await call('/executions?stateMachine=scale')).body.executions.map((e: ExecutionRecord) => e.name),
    ).toContain('by-hand');
    expect(
      (await call('/executions', { method: 'POST', body: { stateMachine: 'scale', name: 'by-hand' } }))
        .status,
    ).toBe(409);
    expect((await call('/executions/none')).status).toBe(404);
    expect((await call('/executions?stateMachine=nope')).status).toBe(400);
    expect((await call('/nowhere')).status).toBe(404);
  });

  it('answers webhooks with the real handler: a bad signature is refused, a redelivery starts nothing new', async () => {
    const bad = await call('/webhooks/github', {
      method: 'POST',
      body: '{}',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-hub-signature-256': 'sha256=00',
      },
    });
    expect(bad.status).toBe(401);

    const repo = sandbox.repositories[0];
    const payload = {
      ...sample('github-push.json'),
      ref: 'refs/heads/main',
      repository: {
        ...sample('github-push.json').repository,
        clone_url: repo?.cloneUrl,
        html_url: repo?.cloneUrl,
      },
    };
    const body = JSON.stringify(payload);
    const headers = githubDeliveryHeaders('push', body, sandbox.webhookSecret, 'delivery-42');
    const first = await call('/webhooks/github', { method: 'POST', body, headers });
    const again = await call('/webhooks/github', { method: 'POST', body, headers });
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.body.executionName).toBe(first.body.executionName);
    const deploys = sandbox.runner
      .list({ stateMachine: 'deploy' })
      .filter((e) => e.input.deliveryId === 'delivery-42');
    expect(deploys).toHaveLength(1);
  });
});
