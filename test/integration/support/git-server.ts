/**
 * A real git smart-HTTP server on loopback: `git http-backend` run as a CGI program behind
 * `node:http`, serving every repository under a root folder at `<url>/<name>.git`.
 *
 * Used by the integration tests, the sandbox and the benchmarks, so that isomorphic-git
 * talks to the same protocol implementation GitHub and GitLab speak.
 */
import { spawn } from 'node:child_process';
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GitServerOptions {
  /** Require HTTP Basic credentials (as GitHub and GitLab do for private repositories). */
  readonly auth?: { readonly username: string; readonly password: string };
  /**
   * The git protocol versions the server speaks: `any` (v2 when asked, else v0, as GitHub),
   * `v2-only` (a request that does not ask for v2 is refused with HTTP 400), `v0-only` (the
   * `Git-Protocol` header is ignored), `v1` (answers v1 whatever is asked).
   */
  readonly protocol?: 'any' | 'v2-only' | 'v0-only' | 'v1';
}

/** One request the server answered. */
export interface LoggedRequest {
  readonly method: string;
  readonly url: string;
  readonly status: number;
  /** The request carried an `Authorization` header. */
  readonly authorization: boolean;
  /** Its `Git-Protocol` header. */
  readonly gitProtocol?: string;
}

export interface GitServer {
  /** `http://127.0.0.1:<port>` */
  readonly baseUrl: string;
  /** Clone URL of the repository folder `<rootDir>/<name>` (a bare `x.git` or a working `x` folder). */
  url(name: string): string;
  /** Answer every request with this HTTP status until called again with `undefined` (fault injection). */
  setFault(status: number | undefined): void;
  /** Requests answered so far, as `METHOD path?query status`. */
  readonly requests: string[];
  /** The same requests with the headers that matter to the protocol and credentials. */
  readonly log: LoggedRequest[];
  close(): Promise<void>;
}

/** Starts `git http-backend` for `rootDir` on 127.0.0.1, on a free port. */
export async function startGitServer(rootDir: string, options: GitServerOptions = {}): Promise<GitServer> {
  let fault: number | undefined;
  const requests: string[] = [];
  const log: LoggedRequest[] = [];
  const protocol = options.protocol ?? 'any';
  const server = createServer((req, res) => {
    res.on('finish', () => {
      requests.push(`${req.method} ${req.url} ${res.statusCode}`);
      const gitProtocol = req.headers['git-protocol'];
      log.push({
        method: req.method ?? '',
        url: req.url ?? '',
        status: res.statusCode,
        authorization: req.headers.authorization !== undefined,
        ...(typeof gitProtocol === 'string' ? { gitProtocol } : {}),
      });
    });
    if (fault !== undefined) {
      res.writeHead(fault, { 'content-type': 'text/plain' }).end(`injected fault ${fault}\n`);
      return;
    }
    if (options.auth && !authorized(req, options.auth)) {
      res
        .writeHead(401, { 'www-authenticate': 'Basic realm="git"', 'content-type': 'text/plain' })
        .end('authentication required\n');
      return;
    }
    const asked = req.headers['git-protocol'];
    if (protocol === 'v2-only' && !(typeof asked === 'string' && asked.includes('version=2'))) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('only git protocol version 2 is served\n');
      return;
    }
    const served =
      protocol === 'v0-only'
        ? undefined
        : protocol === 'v1'
          ? 'version=1'
          : typeof asked === 'string'
            ? asked
            : undefined;
    runBackend(rootDir, req, res, options.auth?.username, served);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    baseUrl,
    url: (name) => `${baseUrl}/${encodeURI(name)}`,
    setFault: (status) => {
      fault = status;
    },
    requests,
    log,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function authorized(req: IncomingMessage, auth: { username: string; password: string }): boolean {
  const header = req.headers.authorization ?? '';
  if (!header.startsWith('Basic ')) return false;
  const given = Buffer.from(header.slice('Basic '.length), 'base64');
  const expected = Buffer.from(`${auth.username}:${auth.password}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Runs one request through `git http-backend` (CGI/1.1: request in env + stdin, response headers then body on stdout). */
function runBackend(
  rootDir: string,
  req: IncomingMessage,
  res: ServerResponse,
  user?: string,
  gitProtocol?: string,
): void {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    GIT_PROJECT_ROOT: rootDir,
    GIT_HTTP_EXPORT_ALL: '1',
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_PROTOCOL: 'HTTP/1.1',
    REQUEST_METHOD: req.method ?? 'GET',
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.slice(1),
    REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
    CONTENT_TYPE: req.headers['content-type'] ?? '',
  };
  if (req.headers['content-length']) env.CONTENT_LENGTH = req.headers['content-length'];
  if (req.headers['content-encoding']) env.HTTP_CONTENT_ENCODING = req.headers['content-encoding'];
  if (gitProtocol) env.GIT_PROTOCOL = gitProtocol;
  if (user) env.REMOTE_USER = user;

  const child = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  req.pipe(child.stdin);
  child.stdin.on('error', () => undefined);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });

  let head = Buffer.alloc(0);
  let headersDone = false;
  child.stdout.on('data', (chunk: Buffer) => {
    if (headersDone) {
      if (!res.write(chunk)) {
        child.stdout.pause();
        res.once('drain', () => child.stdout.resume());
      }
      return;
    }
    head = Buffer.concat([head, chunk]);
    const end = findHeaderEnd(head);
    if (!end) return;
    headersDone = true;
    let status = 200;
    for (const line of head.subarray(0, end.index).toString('latin1').split(/\r?\n/)) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
      else res.setHeader(name, value);
    }
    res.statusCode = status;
    const rest = head.subarray(end.index + end.length);
    if (rest.length > 0) res.write(rest);
  });
  child.on('close', (code) => {
    if (!headersDone) {
      res.statusCode = 500;
      res.end(`git http-backend exited with ${code}: ${stderr}`);
      return;
    }
    res.end();
  });
  child.on('error', (error) => {
    if (!res.headersSent) res.statusCode = 500;
    res.end(String(error));
  });
}

function findHeaderEnd(buffer: Buffer): { index: number; length: number } | undefined {
  const crlf = buffer.indexOf('\r\n\r\n');
  const lf = buffer.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { index: crlf, length: 4 };
  if (lf >= 0) return { index: lf, length: 2 };
  return undefined;
}
