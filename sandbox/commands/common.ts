/**
 * What the CLI commands share: their I/O, flag parsing with one-line usage errors (exit
 * code 2), and the client of a running sandbox's HTTP API.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { DEFAULT_DATA_DIR, DEFAULT_PORT, serverFile } from '../location.ts';
import type { CommandIo } from './cost.ts';

/** Standard streams of a command (the process's, or a test's). */
export interface CliIo extends CommandIo {
  readonly stdin?: NodeJS.ReadableStream;
}

/** Exit codes of every command: 0 done, 1 failed (an execution, the sandbox), 2 bad usage. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** Bad usage: unknown flag, missing argument, bad value. Printed as one line; exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A failure to report as one line with exit code 1. */
export class CommandError extends Error {
  override readonly name = 'CommandError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** parseArgs, strict, with its multi-line messages folded into one {@link UsageError}. */
export function parse<T extends Options>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError((error as Error).message.replaceAll(/\s*\n\s*/g, ' '));
  }
}

/** `--timeout S` in seconds (undefined without it); anything but a positive number is bad usage. */
export function parseTimeout(value: string | undefined): number | undefined {
  const timeout = value === undefined ? undefined : Number(value);
  if (timeout !== undefined && !(timeout > 0))
    throw new UsageError(`--timeout must be a positive number of seconds, got ${value}`);
  return timeout;
}

/** Flags every command that talks to a sandbox takes. */
export const SANDBOX_FLAGS = {
  url: { type: 'string' },
  data: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * The URL of the sandbox to talk to: `--url`, else the one a sandbox started on the data
 * folder recorded (`<data>/server.json`), else `http://127.0.0.1:$PORT` (4010).
 */
export function sandboxUrl(values: { url?: string; data?: string }): string {
  if (values.url) return values.url.replace(/\/+$/, '');
  try {
    const recorded = JSON.parse(readFileSync(serverFile(values.data ?? DEFAULT_DATA_DIR), 'utf8')) as {
      url?: string;
    };
    if (recorded.url) return recorded.url;
  } catch {
    // no sandbox recorded there
  }
  return `http://127.0.0.1:${process.env.PORT ?? DEFAULT_PORT}`;
}

/**
 * One HTTP exchange with node:http. Not fetch: its HTTP client loads on first use and costs
 * more than the rest of a `stackpilot status` call (about 3x the wall time of the request).
 */
function exchange(
  url: string,
  init: { method: string; body?: string; timeoutMs?: number },
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: init.method,
        headers: init.body === undefined ? {} : { 'content-type': 'application/json' },
        timeout: init.timeoutMs,
        // A new connection per request: a kept-alive socket that the server closed while the
        // follow loops waited (a busy sandbox) fails the next request with ECONNRESET.
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} in ${init.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(init.body);
  });
}

/** True when a sandbox answers at `url`. */
export async function sandboxRunning(url: string): Promise<boolean> {
  try {
    return (await exchange(`${url}/health`, { method: 'GET', timeoutMs: 2000 })).status === 200;
  } catch {
    return false;
  }
}

/** Calls the sandbox's HTTP API; a sandbox that does not answer is one clear line. */
export async function api<T>(
  url: string,
  path: string,
  init: { method?: string; body?: unknown } = {},
): Promise<{ status: number; body: T }> {
  let response: { status: number; text: string };
  try {
    response = await exchange(`${url}${path}`, {
      method: init.method ?? 'GET',
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
  } catch {
    throw new CommandError(`no sandbox answers at ${url}: start one with \`npm start\` (or pass --url)`);
  }
  let body: unknown;
  try {
    body = JSON.parse(response.text);
  } catch {
    body = { message: response.text };
  }
  return { status: response.status, body: body as T };
}

/** Reads `--input`: a file path, or `-` for standard input. */
export async function readInput(source: string, io: CliIo): Promise<unknown> {
  let text: string;
  if (source === '-') {
    if (!io.stdin) throw new UsageError('--input - needs standard input');
    const chunks: Buffer[] = [];
    for await (const chunk of io.stdin) chunks.push(Buffer.from(chunk as Buffer));
    text = Buffer.concat(chunks).toString('utf8');
  } else {
    try {
      text = readFileSync(source, 'utf8');
    } catch (error) {
      throw new UsageError(
        `cannot read --input ${source}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      );
    }
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(
      `--input ${source === '-' ? '(stdin)' : source} is not JSON: ${(error as Error).message}`,
    );
  }
}

/** Left-aligned text table. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** `12s`, `3m04s`: how long something took. */
export function duration(fromIso: string | undefined, toIso?: string): string {
  if (!fromIso) return '';
  const ms = (toIso ? Date.parse(toIso) : Date.now()) - Date.parse(fromIso);
  const seconds = Math.max(0, Math.round(ms / 1000));
  return seconds < 60
    ? `${seconds}s`
    : `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
}

export { DEFAULT_DATA_DIR, join };
