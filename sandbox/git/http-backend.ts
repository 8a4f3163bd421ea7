/**
 * The sandbox's git server: real smart HTTP, served by git's own `git http-backend` CGI
 * program, so `git clone` and `git push` behave exactly as against a hosted remote.
 *
 * The server reads the ref updates of each push from the receive-pack request (the
 * pkt-line commands before the pack) and, once git has accepted them, reports them to
 * `onPush`: the sandbox turns that into a signed GitHub push webhook.
 */

import { spawn } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { buffer } from 'node:stream/consumers';
import { gunzipSync } from 'node:zlib';
import { git } from './repo.ts';

/** One ref update of a push, as git's receive-pack reports it. */
export interface RefUpdate {
  readonly ref: string;
  /** Commit before the push; 40 zeros for a new ref. */
  readonly before: string;
  /** Commit after the push; 40 zeros for a deleted ref. */
  readonly after: string;
}

/** A push that git accepted. */
export interface PushNotice {
  /** Repository name under `/git/`, e.g. `starter.git`. */
  readonly repository: string;
  /** Absolute path of the bare repository. */
  readonly gitDir: string;
  readonly updates: RefUpdate[];
}

export interface GitHttpOptions {
  /** Folder holding the bare repositories (`<name>.git`). */
  readonly root: string;
  /** Called after each accepted push, after the response was sent. */
  readonly onPush?: (push: PushNotice) => void;
}

const ZERO = '0000000000000000000000000000000000000000';

/**
 * Handles one request whose path (after the `/git` prefix) is `pathInfo`, for instance
 * `/starter.git/info/refs?service=git-upload-pack`.
 */
export async function serveGit(
  options: GitHttpOptions,
  req: IncomingMessage,
  res: ServerResponse,
  pathInfo: string,
): Promise<void> {
  const url = new URL(pathInfo, 'http://localhost');
  const path = decodeURIComponent(url.pathname);
  if (path.split('/').includes('..')) {
    res.writeHead(400, { 'content-type': 'text/plain' }).end('bad path\n');
    return;
  }
  const body = await buffer(req);
  const receivePack = req.method === 'POST' && path.endsWith('/git-receive-pack');
  const updates = receivePack
    ? parseRefUpdates(req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body)
    : [];

  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    GIT_PROJECT_ROOT: options.root,
    // Every repository under the root is served; no git-daemon-export-ok files needed.
    GIT_HTTP_EXPORT_ALL: '1',
    // receive-pack is refused to anonymous users; the sandbox's pusher is its only user.
    REMOTE_USER: 'sandbox',
    REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
    REQUEST_METHOD: req.method ?? 'GET',
    PATH_INFO: path,
    QUERY_STRING: url.search.replace(/^\?/, ''),
    CONTENT_TYPE: req.headers['content-type'] ?? '',
    CONTENT_LENGTH: String(body.length),
    HTTP_CONTENT_ENCODING: req.headers['content-encoding'] ?? '',
    GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
  };
  const child = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  const stderr: Buffer[] = [];
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  child.stdin.on('error', () => undefined);
  child.stdin.end(body);

  let headerBuffer = Buffer.alloc(0);
  let headersSent = false;
  child.stdout.on('data', (chunk: Buffer) => {
    if (headersSent) {
      res.write(chunk);
      return;
    }
    headerBuffer = Buffer.concat([headerBuffer, chunk]);
    const end = headerEnd(headerBuffer);
    if (!end) return;
    const { status, headers } = parseCgiHeaders(headerBuffer.subarray(0, end.index).toString('latin1'));
    res.writeHead(status, headers);
    headersSent = true;
    const rest = headerBuffer.subarray(end.index + end.length);
    if (rest.length > 0) res.write(rest);
  });
  // A client that goes away must not leave git running.
  res.on('close', () => {
    if (child.exitCode === null) child.kill();
  });

  const code = await new Promise<number | null>((resolve) => {
    child.on('error', () => resolve(-1));
    child.on('close', (exitCode) => resolve(exitCode));
  });
  if (!headersSent) {
    const message = Buffer.concat(stderr).toString('utf8').trim() || `git http-backend exited with ${code}`;
    res.writeHead(500, { 'content-type': 'text/plain' }).end(`${message}\n`);
    return;
  }
  res.end();

  if (receivePack && code === 0 && updates.length > 0 && options.onPush) {
    const repository = path.split('/').filter(Boolean)[0] ?? '';
    const gitDir = `${options.root}/${repository}`;
    const accepted = await acceptedUpdates(gitDir, updates);
    if (accepted.length > 0) options.onPush({ repository, gitDir, updates: accepted });
  }
}

function headerEnd(buffer: Buffer): { index: number; length: number } | undefined {
  const crlf = buffer.indexOf('\r\n\r\n');
  if (crlf >= 0) return { index: crlf, length: 4 };
  const lf = buffer.indexOf('\n\n');
  return lf >= 0 ? { index: lf, length: 2 } : undefined;
}

function parseCgiHeaders(text: string): { status: number; headers: Record<string, string> } {
  let status = 200;
  const headers: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const key = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (key.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 500;
    else headers[key] = value;
  }
  return { status, headers };
}

/**
 * The ref update commands at the start of a receive-pack request:
 * pkt-lines `<old> <new> <ref>` (the first followed by NUL and the capabilities), then a flush.
 */
export function parseRefUpdates(body: Buffer): RefUpdate[] {
  const updates: RefUpdate[] = [];
  let offset = 0;
  while (offset + 4 <= body.length) {
    const length = Number.parseInt(body.subarray(offset, offset + 4).toString('ascii'), 16);
    if (Number.isNaN(length)) break;
    if (length === 0) break; // flush: the pack follows
    if (length < 4) break;
    const line = body
      .subarray(offset + 4, offset + length)
      .toString('utf8')
      .split('\0')[0]
      ?.replace(/\n$/, '');
    offset += length;
    const match = line?.match(/^([0-9a-f]{40,64}) ([0-9a-f]{40,64}) (\S+)$/);
    if (match)
      updates.push({ before: match[1] as string, after: match[2] as string, ref: match[3] as string });
    else if (line?.startsWith('push-cert')) break;
  }
  return updates;
}

/** The updates git applied (a hook or a non-fast-forward refusal may reject some). */
async function acceptedUpdates(gitDir: string, updates: RefUpdate[]): Promise<RefUpdate[]> {
  const accepted: RefUpdate[] = [];
  for (const update of updates) {
    const current = await git(['rev-parse', '--verify', '--quiet', update.ref], { gitDir }).catch(() => '');
    const deleted = /^0+$/.test(update.after);
    if (deleted ? current === '' : current === update.after) accepted.push(update);
  }
  return accepted;
}

export { ZERO as ZERO_COMMIT };
