/**
 * Section "reaction" of `npm run bench`: how fast the sandbox reacts, in wall-clock
 * milliseconds, with the sandbox started in this process on a free loopback port with a
 * temporary data folder.
 *
 * - webhook received -> source object written: a real `git push` to the sandbox's git
 *   server, which delivers the signed GitHub webhook to the sandbox; from the moment the
 *   server receives that request (the `http.server.request.start` diagnostics channel)
 *   until Package Source's upload of the stage's source zip returns a version, which is
 *   then looked up in the emulated S3;
 * - alarm event -> UpdateService issued: from `POST /events` with a CloudWatch alarm state
 *   change until the scale state machine's Scale Service step sends UpdateService.
 *
 * Both are observed with a middleware on the functions' SDK clients, placed just before the
 * sandbox's own (no polling). The reference is the sandbox's no-op round trip, `GET /health`.
 */
import { execFile } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type BenchRow, median } from './report.ts';
import { functionEnvironment } from './workflow-cost.ts';

/** Repetitions of each measurement (the median is reported). */
export const RUNS = 5;
/** Emulated time runs this much faster: a 60-second cooldown takes 0.2 s. */
const TIME_SCALE = 300;
const APP = 'starter';
const STAGE = 'dev';
const OBSERVER = 'stackpilotBenchObserver';

type Middleware = (
  next: (args: { input: Record<string, unknown> }) => Promise<{ output: Record<string, unknown> }>,
  context: { commandName?: string },
) => (args: { input: Record<string, unknown> }) => Promise<{ output: Record<string, unknown> }>;

interface ObservableClient {
  middlewareStack: {
    addRelativeTo(middleware: never, options: Record<string, unknown>): void;
    remove(name: string): boolean;
  };
}

function sh(command: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      {
        cwd,
        env: {
          ...process.env,
          GIT_TERMINAL_PROMPT: '0',
          GIT_AUTHOR_NAME: 'Bench',
          GIT_AUTHOR_EMAIL: 'bench@example.com',
          GIT_COMMITTER_NAME: 'Bench',
          GIT_COMMITTER_EMAIL: 'bench@example.com',
        },
      },
      (error, stdout, stderr) =>
        error
          ? reject(new Error(`${command} ${args.join(' ')}: ${stderr || error.message}`))
          : resolve(stdout),
    );
  });
}

/** A promise of the first value passed to `hit` (an observer calls it); rejects after `timeoutMs`. */
function nextOccurrence<T>(
  what: string,
  timeoutMs: number,
): { promise: Promise<T>; hit: (value: T) => void } {
  let hit!: (value: T) => void;
  const promise = new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)),
      timeoutMs,
    );
    hit = (value) => {
      clearTimeout(timer);
      resolve(value);
    };
  });
  return { promise, hit };
}

/** Runs the section. */
export async function benchReaction(): Promise<BenchRow[]> {
  const restoreEnvironment = await functionEnvironment();
  const { startSandbox } = await import('../sandbox/server.ts');
  const { PROJECT_ROOT } = await import('../infra/constructs/stackpilot-function.ts');
  const { stageNames } = await import('../shared/naming.ts');
  const dir = mkdtempSync(join(tmpdir(), 'stackpilot-bench-reaction-'));
  const sandbox = await startSandbox({
    dataDir: join(dir, 'data'),
    port: 0,
    timeScale: TIME_SCALE,
    configPath: join(PROJECT_ROOT, 'stackpilot.yml'),
    reset: true,
    // The server's one-line notes (pushes, executions) are not part of the table.
    log: () => undefined,
  });
  const { clients } = await import('#shared/aws/clients.ts');
  const names = stageNames(APP, STAGE);

  // What the observers are waiting for next; each is set just before the action it times.
  let onSourceWritten: ((at: number) => void) | undefined;
  let onUpdateService: ((at: number) => void) | undefined;
  let onWebhook: ((at: number) => void) | undefined;
  const s3Observer: Middleware = (next, context) => async (args) => {
    const result = await next(args);
    const command = context.commandName;
    if (
      (command === 'PutObjectCommand' || command === 'CompleteMultipartUploadCommand') &&
      args.input.Bucket === sandbox.account.sourceBucket &&
      args.input.Key === names.sourceKey
    ) {
      const at = performance.now();
      const versionId = result.output.VersionId as string | undefined;
      // The effect must be visible in the emulated account, not only answered.
      if (versionId && sandbox.account.s3.locate(sandbox.account.sourceBucket, names.sourceKey, versionId)) {
        onSourceWritten?.(at);
      }
    }
    return result;
  };
  const ecsObserver: Middleware = (next, context) => async (args) => {
    if (context.commandName === 'UpdateServiceCommand' && args.input.service === names.service) {
      onUpdateService?.(performance.now());
    }
    return next(args);
  };
  const observed: [ObservableClient, Middleware][] = [
    [clients.s3 as unknown as ObservableClient, s3Observer],
    [clients.ecs as unknown as ObservableClient, ecsObserver],
  ];
  for (const [client, middleware] of observed) {
    client.middlewareStack.addRelativeTo(middleware as never, {
      relation: 'before',
      toMiddleware: 'stackpilotSandbox',
      name: OBSERVER,
      override: true,
    });
  }
  const onRequest = (message: unknown) => {
    const { request } = message as { request: IncomingMessage };
    if (
      request.method === 'POST' &&
      request.url === '/webhooks/github' &&
      request.socket.localPort === sandbox.port
    ) {
      onWebhook?.(performance.now());
    }
  };
  subscribe('http.server.request.start', onRequest);

  /** Until no execution runs (a push's deploy starts its release through the pipeline). */
  const idle = async () => {
    await sandbox.settled();
    for (;;) {
      const running = sandbox.runner.list({ status: 'RUNNING' });
      if (running.length === 0) return;
      await Promise.all(running.map((r) => sandbox.runner.wait(r.executionArn)));
    }
  };

  try {
    const health: number[] = [];
    // One round trip first: the connection and the route's first run are not the steady state.
    for (let i = -1; i < RUNS; i++) {
      const started = performance.now();
      const response = await fetch(`${sandbox.url}/health`);
      await response.text();
      if (!response.ok) throw new Error(`GET /health answered ${response.status}`);
      if (i >= 0) health.push(performance.now() - started);
    }

    // Alarm event -> UpdateService: alternately out and in, so the service stays within its bounds.
    const alarmSample = JSON.parse(
      readFileSync(join(PROJECT_ROOT, 'events', 'samples', 'cloudwatch-alarm-state-change.json'), 'utf8'),
    );
    const alarm: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      await idle();
      const direction = i % 2 === 0 ? 'out' : 'in';
      const alarmName = names.alarm('service', direction);
      const event = structuredClone(alarmSample);
      event.account = sandbox.account.accountId;
      event.region = sandbox.account.region;
      event.time = new Date().toISOString();
      event.resources = [
        `arn:aws:cloudwatch:${sandbox.account.region}:${sandbox.account.accountId}:alarm:${alarmName}`,
      ];
      event.detail.alarmName = alarmName;
      event.detail.state.value = 'ALARM';
      // A new transition each time: the same event twice is handled once.
      event.detail.state.timestamp = new Date(Date.now() + i).toISOString().replace('Z', '+0000');
      const seen = nextOccurrence<number>(`UpdateService after alarm ${alarmName}`, 30_000);
      onUpdateService = seen.hit;
      const started = performance.now();
      const response = await fetch(`${sandbox.url}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(event),
      });
      const answer = await response.text();
      if (!response.ok) throw new Error(`POST /events answered ${response.status}: ${answer}`);
      alarm.push((await seen.promise) - started);
      onUpdateService = undefined;
    }
    await idle();

    // Webhook received -> source object written, after a real git push.
    const repository = sandbox.repositories.find((r) => r.apps.includes(APP));
    if (!repository) throw new Error(`the sandbox hosts no repository of app ${APP}`);
    const work = join(dir, 'work');
    await sh('git', ['clone', '--quiet', repository.cloneUrl, work], dir);
    const webhook: number[] = [];
    const pushToObject: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      await idle();
      writeFileSync(join(work, 'bench.txt'), `change ${i} at ${new Date().toISOString()}\n`);
      await sh('git', ['add', 'bench.txt'], work);
      await sh('git', ['commit', '--quiet', '-m', `Bench change ${i}`], work);
      const received = nextOccurrence<number>('the push webhook', 30_000);
      const written = nextOccurrence<number>(`a new version of ${names.sourceKey}`, 60_000);
      onWebhook = received.hit;
      onSourceWritten = written.hit;
      const pushed = performance.now();
      await sh('git', ['push', '--quiet', 'origin', repository.branch], work);
      const [at, done] = await Promise.all([received.promise, written.promise]);
      webhook.push(done - at);
      pushToObject.push(done - pushed);
      onWebhook = undefined;
      onSourceWritten = undefined;
    }
    await idle();

    const healthMs = median(health);
    return [
      {
        name: 'sandbox: webhook received -> source object written (ref: GET /health round trip)',
        unit: 'ms',
        ours: median(webhook),
        reference: healthMs,
      },
      {
        name: 'sandbox: git push started -> source object written (ref: GET /health round trip)',
        unit: 'ms',
        ours: median(pushToObject),
        reference: healthMs,
      },
      {
        name: 'sandbox: alarm event posted -> UpdateService issued (ref: GET /health round trip)',
        unit: 'ms',
        ours: median(alarm),
        reference: healthMs,
      },
    ];
  } finally {
    unsubscribe('http.server.request.start', onRequest);
    for (const [client] of observed) client.middlewareStack.remove(OBSERVER);
    await sandbox.close();
    restoreEnvironment();
    rmSync(dir, { recursive: true, force: true });
  }
}
