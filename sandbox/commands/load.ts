/**
 * `stackpilot load <app> <stage> --rps N [--duration 5m]`: real HTTP requests to the stage's
 * front door, at a bounded rate for a bounded time; the tasks' measured CPU drives the
 * stage's alarms. `--cpu <percent>` is the shortcut that sets the CPU metric directly.
 */
import { Agent, request } from 'node:http';
import {
  api,
  type CliIo,
  CommandError,
  EXIT,
  parse,
  SANDBOX_FLAGS,
  sandboxUrl,
  UsageError,
} from './common.ts';

export const LOAD_USAGE = `usage: stackpilot load <app> <stage> --rps N [--duration 1m] [--path /work?ms=20] [--url URL | --data DIR]
       stackpilot load <app> <stage> --cpu <percent>
  --rps N          real requests a second to the stage's URL (at most ${1000}); the tasks' CPU drives the alarms
  --duration D     how long: 90s, 5m, 1h (default 1m, at most 30m); it stops by itself
  --path P         what each request asks for (default /work?ms=20: 20 ms of CPU in the starter app)
  --cpu <percent>  sets the stage's CPU metric instead (0-100), until the next load --rps`;

const options = {
  ...SANDBOX_FLAGS,
  cpu: { type: 'string' },
  rps: { type: 'string' },
  duration: { type: 'string' },
  path: { type: 'string' },
} as const;

export const MAX_RPS = 1000;
export const MAX_DURATION_MS = 30 * 60_000;
/** Requests in flight at most: past it, a slow stage gets no more (counted as skipped). */
const MAX_IN_FLIGHT = 256;

/** `90s`, `5m`, `1h` or plain seconds, to milliseconds; undefined when it is none of those. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) return undefined;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? 's'] ?? 1000;
  const ms = Number(match[1]) * unit;
  return ms > 0 ? ms : undefined;
}

/** The p-th percentile (0-100) of a list of numbers, or 0 for none. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

export async function loadCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv, options);
  if (values.help) {
    io.stdout.write(`${LOAD_USAGE}\n`);
    return EXIT.ok;
  }
  const [app, stage, extra] = positionals;
  if (!app || !stage)
    throw new UsageError('load needs <app> <stage>, e.g. stackpilot load starter dev --rps 20');
  if (extra) throw new UsageError(`unexpected argument ${extra}`);
  if (values.cpu !== undefined && values.rps !== undefined)
    throw new UsageError('load takes --cpu or --rps, not both');
  if (values.cpu === undefined && values.rps === undefined)
    throw new UsageError('load needs --cpu <percent> or --rps <requests a second>');
  const url = sandboxUrl(values);
  if (values.rps !== undefined) return realLoad(url, app, stage, values, io);

  const cpu = Number(values.cpu);
  if (!(Number.isFinite(cpu) && cpu >= 0 && cpu <= 100))
    throw new UsageError(`--cpu must be a percentage from 0 to 100, got ${values.cpu}`);
  const { status, body } = await api<{ message?: string }>(url, '/load', {
    method: 'POST',
    body: { app, stage, cpu },
  });
  if (status !== 200) throw new CommandError(body.message ?? `the sandbox answered ${status}`);
  io.stdout.write(`${app}/${stage}: service CPU now ${cpu}%; watch it with \`stackpilot status\`\n`);
  return EXIT.ok;
}

async function realLoad(
  url: string,
  app: string,
  stage: string,
  values: { rps?: string; duration?: string; path?: string },
  io: CliIo,
): Promise<number> {
  const rps = Number(values.rps);
  if (!(Number.isFinite(rps) && rps > 0 && rps <= MAX_RPS))
    throw new UsageError(
      `--rps must be a number of requests a second from 1 to ${MAX_RPS}, got ${values.rps}`,
    );
  const durationMs = values.duration === undefined ? 60_000 : parseDuration(values.duration);
  if (durationMs === undefined || durationMs > MAX_DURATION_MS)
    throw new UsageError(`--duration must be like 90s, 5m or 1h, at most 30m, got ${values.duration}`);
  const path = values.path ?? '/work?ms=20';
  if (!path.startsWith('/')) throw new UsageError(`--path must start with /, got ${path}`);

  const { body } = await api<{ stages?: { app: string; stage: string; url?: string }[] }>(url, '/stages');
  const target = body.stages?.find((s) => s.app === app && s.stage === stage);
  if (!target) throw new CommandError(`the sandbox has no stage ${stage} of app ${app}`);
  if (!target.url) throw new CommandError(`stage ${app}/${stage} has no URL (a sandbox before front doors?)`);
  // The knob would hide what the requests do: the measured CPU drives the metric from now on.
  const cleared = await api<{ message?: string }>(url, '/load', {
    method: 'POST',
    body: { app, stage, cpu: null },
  });
  if (cleared.status !== 200)
    throw new CommandError(cleared.body.message ?? `the sandbox answered ${cleared.status}`);

  io.stdout.write(
    `${app}/${stage}: ${rps} requests a second to ${target.url}${path} for ${Math.round(durationMs / 1000)} s; watch it with \`stackpilot status\`\n`,
  );
  const stats = await sendLoad(`${target.url}${path}`, rps, durationMs, (line) =>
    io.stdout.write(`${line}\n`),
  );
  io.stdout.write(`done: ${summarize(stats)}\n`);
  return EXIT.ok;
}

interface LoadStats {
  sent: number;
  ok: number;
  failed: number;
  skipped: number;
  latencies: number[];
}

function summarize(s: LoadStats): string {
  return `${s.sent} sent, ${s.ok} answered 2xx/3xx, ${s.failed} failed${s.skipped ? `, ${s.skipped} skipped (${MAX_IN_FLIGHT} in flight)` : ''}, latency p50 ${percentile(s.latencies, 50)} ms p95 ${percentile(s.latencies, 95)} ms`;
}

/** Sends `rps` requests a second to `target` for `durationMs`, then waits for the last answers. */
function sendLoad(
  target: string,
  rps: number,
  durationMs: number,
  progress: (line: string) => void,
): Promise<LoadStats> {
  const agent = new Agent({ keepAlive: true, maxSockets: MAX_IN_FLIGHT });
  const stats: LoadStats = { sent: 0, ok: 0, failed: 0, skipped: 0, latencies: [] };
  let inFlight = 0;
  const started = Date.now();
  const one = () => {
    if (inFlight >= MAX_IN_FLIGHT) {
      stats.skipped += 1;
      return;
    }
    inFlight += 1;
    stats.sent += 1;
    const at = Date.now();
    const done = (ok: boolean) => {
      inFlight -= 1;
      if (ok) stats.ok += 1;
      else stats.failed += 1;
      stats.latencies.push(Date.now() - at);
    };
    const req = request(target, { agent, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => done((res.statusCode ?? 500) < 400));
      res.on('error', () => done(false));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => done(false));
    req.end();
  };
  return new Promise((resolve) => {
    // Requests due so far, whatever the timer's jitter: the rate holds on a busy machine.
    let due = 0;
    const timer = setInterval(() => {
      const elapsed = Math.min(Date.now() - started, durationMs);
      const target = Math.floor((elapsed / 1000) * rps);
      while (due < target) {
        due += 1;
        one();
      }
      if (Date.now() - started >= durationMs) {
        clearInterval(timer);
        clearInterval(report);
        const finish = () => {
          if (inFlight > 0) return setTimeout(finish, 50);
          agent.destroy();
          resolve(stats);
        };
        finish();
      }
    }, 10);
    let last = 0;
    const report = setInterval(() => {
      const window = stats.latencies.slice(last);
      last = stats.latencies.length;
      progress(
        `  ${Math.round((Date.now() - started) / 1000)} s: ${stats.sent} sent, ${stats.failed} failed, p95 ${percentile(window, 95)} ms`,
      );
    }, 10_000);
  });
}
