/**
 * The one exchange of git's smart HTTP protocol (version 0/1, which GitHub, GitLab and
 * `git http-backend` all speak) that packaging a commit needs: `GET info/refs` for the refs
 * and capabilities, then `POST git-upload-pack` wanting one commit at depth 1. The pack in
 * the answer is demultiplexed from its side-band and written straight to a file, so memory
 * stays at one packet whatever the size of the pack (isomorphic-git buffers it whole).
 * Only side-band servers are supported (every git server of the last fifteen years).
 *
 * Errors carry the codes `classifyGitError` maps: `HttpError` (with `data.statusCode`),
 * `SmartHttpError` (not a git server), Node's network codes, and `UploadPackError` (the
 * server refused the request, e.g. a commit it will not send).
 */
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { collectEvery } from './memory.ts';

/** HTTP Basic credentials, sent only after the server answered 401. */
export interface BasicCredentials {
  readonly username: string;
  readonly password: string;
}

/** What `info/refs` advertised: ref name -> commit id, and the server's capabilities. */
export interface Advertisement {
  /** The repository URL requests go to (after redirects). */
  readonly url: string;
  readonly refs: ReadonlyMap<string, string>;
  readonly capabilities: ReadonlySet<string>;
}

export interface SmartHttpSession {
  readonly credentials?: BasicCredentials;
  /** Set once the server asked for credentials: later requests send them straight away. */
  authorize?: boolean;
}

const USER_AGENT = 'git/stackpilot';
/** A connection silent for this long is dropped (and the fetch retried by the state machine). */
const IDLE_TIMEOUT_MS = 60_000;
const MAX_REDIRECTS = 5;
/** Pack bytes received between two garbage collections: each socket chunk is garbage once written (see `memory.ts`). */
const COLLECT_EVERY_BYTES = 16 * 1024 * 1024;

function failure(message: string, code: string, data?: object): Error {
  return Object.assign(new Error(message), { code, ...(data ? { data } : {}) });
}

/** One HTTP request; 401 with credentials at hand is answered once with them. Redirects are followed. */
async function send(
  session: SmartHttpSession,
  url: URL,
  init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: Buffer },
): Promise<{ response: IncomingMessage; url: URL }> {
  for (let redirects = 0; ; ) {
    const headers: Record<string, string> = { 'user-agent': USER_AGENT, ...init.headers };
    if (session.authorize && session.credentials) {
      const { username, password } = session.credentials;
      headers.authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
    }
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
        url,
        { method: init.method, headers },
        resolve,
      );
      request.setTimeout(IDLE_TIMEOUT_MS, () =>
        request.destroy(failure(`no answer from ${url.host} for ${IDLE_TIMEOUT_MS} ms`, 'ETIMEDOUT')),
      );
      request.on('error', reject);
      request.end(init.body);
    });
    const status = response.statusCode ?? 0;
    if (status === 401 && session.credentials && !session.authorize) {
      response.resume();
      session.authorize = true;
      continue;
    }
    const location = response.headers.location;
    if ([301, 302, 303, 307, 308].includes(status) && location && redirects++ < MAX_REDIRECTS) {
      response.resume();
      const next = new URL(location, url);
      // Credentials go to the repository's own host only.
      if (next.host !== url.host) session.authorize = false;
      url = next;
      continue;
    }
    if (status < 200 || status >= 300) {
      response.resume();
      throw failure(`HTTP Error: ${status} ${response.statusMessage ?? ''}`.trim(), 'HttpError', {
        statusCode: status,
        statusMessage: response.statusMessage ?? '',
      });
    }
    return { response, url };
  }
}

/** A pkt-line: 4 hex digits of length (itself included), then the payload. */
function pktLine(text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  return Buffer.concat([Buffer.from((payload.length + 4).toString(16).padStart(4, '0')), payload]);
}

/** Splits pkt-lines out of a byte stream; `undefined` stands for a flush packet (`0000`). */
async function* pktLines(body: AsyncIterable<Buffer>): AsyncGenerator<Buffer | undefined> {
  let pending: Buffer = Buffer.alloc(0);
  for await (const chunk of body) {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let pos = 0;
    while (pending.length - pos >= 4) {
      const length = Number.parseInt(pending.toString('latin1', pos, pos + 4), 16);
      if (Number.isNaN(length) || (length > 0 && length < 4)) {
        throw failure('the server sent a malformed pkt-line', 'SmartHttpError');
      }
      if (length === 0) {
        yield undefined;
        pos += 4;
        continue;
      }
      if (pending.length - pos < length) break;
      yield pending.subarray(pos + 4, pos + length);
      pos += length;
    }
    pending = pending.subarray(pos);
  }
  if (pending.length > 0) throw failure('the server closed the connection mid-packet', 'ECONNRESET');
}

/** `GET <url>/info/refs?service=git-upload-pack`: the refs and capabilities of the repository. */
export async function advertisedRefs(session: SmartHttpSession, repoUrl: string): Promise<Advertisement> {
  const base = repoUrl.replace(/\/+$/, '');
  const { response, url } = await send(session, new URL(`${base}/info/refs?service=git-upload-pack`), {
    method: 'GET',
    headers: { accept: 'application/x-git-upload-pack-advertisement' },
  });
  const finalBase = url.toString().replace(/\/info\/refs\?service=git-upload-pack$/, '');
  if (!response.headers['content-type']?.startsWith('application/x-git-upload-pack-advertisement')) {
    response.resume();
    throw failure(`${base} did not answer with the smart HTTP protocol`, 'SmartHttpError');
  }
  const refs = new Map<string, string>();
  let capabilities = new Set<string>();
  let first = true;
  for await (const line of pktLines(response)) {
    if (line === undefined) continue;
    const text = line.toString('utf8').replace(/\n$/, '');
    if (first) {
      first = false;
      if (text !== '# service=git-upload-pack') {
        throw failure(`${base} did not announce the git-upload-pack service`, 'SmartHttpError');
      }
      continue;
    }
    const nul = text.indexOf('\0');
    if (nul >= 0) capabilities = new Set(text.slice(nul + 1).split(' '));
    const [oid, name] = (nul >= 0 ? text.slice(0, nul) : text).split(' ');
    if (oid && name && name !== 'capabilities^{}') refs.set(name, oid);
  }
  if (first) throw failure(`${base} sent an empty advertisement`, 'SmartHttpError');
  return { url: finalBase, refs, capabilities };
}

export interface ReceivedPack {
  /** Commits the server cut the history at (`.git/shallow`). */
  readonly shallow: string[];
  /** The pack's own checksum (its last 20 bytes), verified. */
  readonly checksum: string;
  readonly bytes: number;
}

/**
 * `POST <url>/git-upload-pack` wanting `commit` alone, at depth 1, and writes the pack to
 * `file` as it arrives (awaiting each write, so a slow disk slows the download instead of
 * filling memory). Verifies the pack's trailing SHA-1.
 */
export async function fetchPackTo(
  session: SmartHttpSession,
  advertisement: Advertisement,
  commit: string,
  file: FileHandle,
): Promise<ReceivedPack> {
  const offered = advertisement.capabilities;
  const band = offered.has('side-band-64k')
    ? 'side-band-64k'
    : offered.has('side-band')
      ? 'side-band'
      : undefined;
  // Every git server of the last fifteen years offers a side-band; without one, pack and status share a stream.
  if (!band) throw failure(`${advertisement.url} offers no side-band`, 'SmartHttpError');
  const wanted = [band, ...['ofs-delta', 'shallow', 'no-progress'].filter((c) => offered.has(c))];
  const body = Buffer.concat([
    pktLine(`want ${commit} ${[...wanted, `agent=${USER_AGENT}`].join(' ')}\n`),
    ...(offered.has('shallow') ? [pktLine('deepen 1\n')] : []),
    Buffer.from('0000'),
    pktLine('done\n'),
  ]);
  const { response } = await send(session, new URL(`${advertisement.url}/git-upload-pack`), {
    method: 'POST',
    headers: {
      'content-type': 'application/x-git-upload-pack-request',
      accept: 'application/x-git-upload-pack-result',
    },
    body,
  });

  const shallow: string[] = [];
  const hash = createHash('sha1');
  // The last 20 bytes are the checksum, not part of what it hashes: held back until more comes.
  let tail = Buffer.alloc(0);
  let bytes = 0;
  const collect = collectEvery(COLLECT_EVERY_BYTES);
  for await (const line of pktLines(response)) {
    if (line === undefined || line.length === 0) continue;
    const channel = line[0] as number;
    if (channel === 1) {
      const data = line.subarray(1);
      const joined = tail.length === 0 ? data : Buffer.concat([tail, data]);
      if (joined.length > 20) hash.update(joined.subarray(0, joined.length - 20));
      tail = Buffer.from(joined.subarray(Math.max(0, joined.length - 20)));
      await file.write(data, 0, data.length, bytes);
      bytes += data.length;
      collect(bytes);
    } else if (channel === 3) {
      throw failure(line.subarray(1).toString('utf8').trim(), 'UploadPackError');
    } else if (channel !== 2) {
      // Before the pack: `shallow <id>`, `NAK`, `ACK ...`, or `ERR <message>`.
      const text = line.toString('utf8').replace(/\n$/, '');
      if (text.startsWith('ERR ')) throw failure(text.slice(4), 'UploadPackError');
      if (text.startsWith('shallow ')) shallow.push(text.slice('shallow '.length));
    }
  }
  if (bytes < 32) throw failure('the server sent no pack', 'UploadPackError');
  const checksum = tail.toString('hex');
  if (hash.digest('hex') !== checksum)
    throw failure('the received pack is corrupt (checksum mismatch)', 'ECONNRESET');
  return { shallow, checksum, bytes };
}
