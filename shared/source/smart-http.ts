/**
 * The exchanges of git's smart HTTP protocol that packaging a commit needs, in whichever
 * version the server speaks: `GET info/refs` asks for protocol version 2 (`Git-Protocol:
 * version=2`); a v2 server answers with its capabilities and the refs come from `ls-refs`, an
 * older one (or one that ignores the header) answers with the v0/v1 advertisement. Then one
 * `POST git-upload-pack` wants the commit at depth 1 (v2 `command=fetch`, or the v0/v1
 * negotiation). The pack is demultiplexed from its side-band and written straight to a file,
 * so memory stays at one packet whatever the size of the pack.
 *
 * Credentials go to the repository's own origin (scheme, host, port) only, as native git's
 * do: a redirect to another host is followed without them, and that host's 401 is not
 * answered with the token.
 *
 * Errors carry the codes `classifyGitError` maps: `HttpError` (with `data.statusCode`),
 * `SmartHttpError` (not a git server), `UnsupportedRepository` (an object format other than
 * SHA-1, no side-band), `CorruptPack` (a complete answer whose pack does not verify),
 * `UploadPackError` (the server refused the request, e.g. a commit it will not send),
 * `UploadPackFailed` (the server failed while sending) and Node's network codes (a
 * connection that failed or closed early).
 */
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { collectEvery } from './memory.ts';

/** HTTP Basic credentials, sent only after the repository's own host answered 401. */
export interface BasicCredentials {
  readonly username: string;
  readonly password: string;
}

export type ProtocolVersion = 0 | 1 | 2;

/** What the server told about the repository before any pack was asked for. */
export interface Advertisement {
  /** The repository URL requests go to (after the redirects of the first request). */
  readonly url: string;
  readonly version: ProtocolVersion;
  /** Branches (`refs/heads/*`) and, for v0/v1, every other advertised ref: name -> object id. */
  readonly refs: ReadonlyMap<string, string>;
  /** v0/v1: the capabilities of the first ref line; v2: the capability lines (`fetch=shallow`, ...). */
  readonly capabilities: ReadonlySet<string>;
  /** `sha1` unless the server announced another `object-format`. */
  readonly objectFormat: string;
}

export interface SmartHttpSession {
  /** Origin (`scheme://host:port`) of the repository URL: the only one credentials are sent to. */
  readonly origin: string;
  readonly credentials?: BasicCredentials;
  /** Set once the repository's host asked for credentials: later requests to it send them straight away. */
  authorize?: boolean;
}

/** A session for the repository at `repoUrl`. */
export function smartHttpSession(repoUrl: string, credentials?: BasicCredentials): SmartHttpSession {
  return { origin: new URL(repoUrl).origin, credentials };
}

const USER_AGENT = 'git/stackpilot';
/** A connection silent for this long is dropped (and the fetch retried by the state machine). */
const IDLE_TIMEOUT_MS = 60_000;
/** Redirects of the first request followed at most. */
export const MAX_REDIRECTS = 5;
/** Pack bytes received between two garbage collections: each socket chunk is garbage once written (see `memory.ts`). */
const COLLECT_EVERY_BYTES = 16 * 1024 * 1024;
/** Object formats whose pack this client can verify and index. */
const SUPPORTED_OBJECT_FORMATS = new Set(['sha1']);

export function failure(message: string, code: string, data?: object): Error {
  return Object.assign(new Error(message), { code, ...(data ? { data } : {}) });
}

/**
 * One HTTP request. A 401 from the repository's own origin, with credentials at hand, is
 * answered once with them. Redirects are followed for GET only (native git follows those of
 * its first request only, `http.followRedirects=initial`), never carrying credentials to
 * another origin.
 */
async function send(
  session: SmartHttpSession,
  url: URL,
  init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: Buffer },
): Promise<{ response: IncomingMessage; url: URL }> {
  for (let redirects = 0; ; ) {
    const ownHost = url.origin === session.origin;
    const headers: Record<string, string> = { 'user-agent': USER_AGENT, ...init.headers };
    if (ownHost && session.authorize && session.credentials) {
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
    if (status === 401 && ownHost && session.credentials && !session.authorize) {
      response.resume();
      session.authorize = true;
      continue;
    }
    const location = response.headers.location;
    if (
      init.method === 'GET' &&
      [301, 302, 303, 307, 308].includes(status) &&
      location &&
      redirects++ < MAX_REDIRECTS
    ) {
      response.resume();
      url = new URL(location, url);
      continue;
    }
    if (status < 200 || status >= 300) {
      response.resume();
      const elsewhere = ownHost
        ? ''
        : ` (from ${url.origin}, where the repository's credentials are never sent)`;
      throw failure(`HTTP Error: ${status} ${response.statusMessage ?? ''}`.trim() + elsewhere, 'HttpError', {
        statusCode: status,
        statusMessage: response.statusMessage ?? '',
        ...(ownHost ? {} : { foreignOrigin: url.origin }),
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

const FLUSH = Buffer.from('0000');
const DELIM = Buffer.from('0001');

/** The special packets: flush (`0000`), delimiter (`0001`, v2) and response end (`0002`, v2). */
export const Special = { flush: 0, delim: 1, responseEnd: 2 } as const;
type Packet = Buffer | 0 | 1 | 2;

/**
 * Splits pkt-lines out of a byte stream without copying them: a packet comes as the pieces
 * of the socket chunks it spans (one or two for a 64 KiB side-band packet), so a pack passes
 * through without a second copy of every byte.
 */
export async function* pktPieces(body: AsyncIterable<Buffer>): AsyncGenerator<number | Buffer[]> {
  let header: Buffer = Buffer.alloc(0);
  let pieces: Buffer[] = [];
  let remaining = 0;
  for await (const chunk of body) {
    let pos = 0;
    while (pos < chunk.length) {
      if (remaining > 0) {
        const take = Math.min(remaining, chunk.length - pos);
        pieces.push(chunk.subarray(pos, pos + take));
        pos += take;
        remaining -= take;
        if (remaining === 0) {
          yield pieces;
          pieces = [];
        }
        continue;
      }
      const part = chunk.subarray(pos, pos + 4 - header.length);
      pos += part.length;
      header = header.length === 0 ? part : Buffer.concat([header, part]);
      if (header.length < 4) break;
      const digits = header.toString('latin1');
      header = Buffer.alloc(0);
      const length = /^[0-9a-f]{4}$/i.test(digits) ? Number.parseInt(digits, 16) : Number.NaN;
      if (Number.isNaN(length) || length === 3) {
        throw failure('the server sent a malformed pkt-line', 'SmartHttpError');
      }
      if (length < 3) yield length;
      else if (length === 4) yield [];
      else remaining = length - 4;
    }
  }
  if (remaining > 0 || header.length > 0) {
    throw failure('the server closed the connection mid-packet', 'ECONNRESET');
  }
}

/** Whole pkt-lines (for the short lines of advertisements and listings). */
async function* pktLines(body: AsyncIterable<Buffer>): AsyncGenerator<Packet> {
  for await (const packet of pktPieces(body)) {
    yield typeof packet === 'number'
      ? (packet as 0 | 1 | 2)
      : packet.length === 1
        ? (packet[0] as Buffer)
        : Buffer.concat(packet);
  }
}

function text(line: Buffer): string {
  return line.toString('utf8').replace(/\n$/, '');
}

/** The value of a `key=value` capability (v2 lines or v0 words), or undefined. */
function capabilityValue(capabilities: ReadonlySet<string>, key: string): string | undefined {
  for (const capability of capabilities) {
    if (capability === key) return '';
    if (capability.startsWith(`${key}=`)) return capability.slice(key.length + 1);
  }
  return undefined;
}

/**
 * Asks the server for the repository's refs (at least its branches) and capabilities, in
 * protocol v2 when it speaks it. Refuses an object format this client cannot read before any
 * pack is asked for.
 */
export async function discover(session: SmartHttpSession, repoUrl: string): Promise<Advertisement> {
  const base = repoUrl.replace(/\/+$/, '');
  const { response, url } = await send(session, new URL(`${base}/info/refs?service=git-upload-pack`), {
    method: 'GET',
    headers: { accept: 'application/x-git-upload-pack-advertisement', 'git-protocol': 'version=2' },
  });
  const finalBase = url.toString().replace(/\/info\/refs\?service=git-upload-pack$/, '');
  if (!response.headers['content-type']?.startsWith('application/x-git-upload-pack-advertisement')) {
    response.resume();
    throw failure(`${base} did not answer with the smart HTTP protocol`, 'SmartHttpError');
  }
  const refs = new Map<string, string>();
  let capabilities = new Set<string>();
  let version: ProtocolVersion | undefined;
  let service = false;
  let lines = 0;
  for await (const line of pktLines(response)) {
    if (typeof line === 'number') {
      // Flushes end the `# service=...` line and the advertisement.
      if (line === Special.flush) continue;
      throw failure(`${base} sent a packet that does not belong in an advertisement`, 'SmartHttpError');
    }
    lines++;
    const value = text(line);
    if (lines === 1 && value === '# service=git-upload-pack') {
      service = true;
      continue;
    }
    if (version === undefined) {
      if (value === 'version 2') {
        version = 2;
        continue;
      }
      if (value === 'version 1') {
        version = 1;
        continue;
      }
      version = 0;
    }
    if (version === 2) {
      capabilities.add(value);
      continue;
    }
    const nul = value.indexOf('\0');
    if (nul >= 0) capabilities = new Set(value.slice(nul + 1).split(' '));
    const [oid, name] = (nul >= 0 ? value.slice(0, nul) : value).split(' ');
    if (oid && name && name !== 'capabilities^{}') refs.set(name, oid);
  }
  if (lines === 0) throw failure(`${base} sent an empty advertisement`, 'SmartHttpError');
  // A v0 server announces its service first; a v2 one may skip it (git http-backend does).
  if (version !== 2 && !service) {
    throw failure(`${base} did not announce the git-upload-pack service`, 'SmartHttpError');
  }
  const objectFormat = capabilityValue(capabilities, 'object-format') || 'sha1';
  const advertisement = { url: finalBase, version: version ?? 0, refs, capabilities, objectFormat };
  if (!SUPPORTED_OBJECT_FORMATS.has(objectFormat)) {
    throw failure(
      `${base} is a ${objectFormat.toUpperCase()} repository (object-format=${objectFormat}); only SHA-1 repositories can be packaged`,
      'UnsupportedRepository',
    );
  }
  if (version === 2) {
    if (
      capabilityValue(capabilities, 'ls-refs') === undefined ||
      capabilityValue(capabilities, 'fetch') === undefined
    ) {
      throw failure(`${base} speaks git protocol v2 without ls-refs and fetch`, 'SmartHttpError');
    }
    await listBranches(session, advertisement, refs);
  }
  return advertisement;
}

/** The request body of a v2 command: command, capabilities, delimiter, arguments, flush. */
function commandBody(advertisement: Advertisement, command: string, args: string[]): Buffer {
  const announced = capabilityValue(advertisement.capabilities, 'object-format') !== undefined;
  return Buffer.concat([
    pktLine(`command=${command}\n`),
    pktLine(`agent=${USER_AGENT}\n`),
    ...(announced ? [pktLine(`object-format=${advertisement.objectFormat}\n`)] : []),
    DELIM,
    ...args.map((arg) => pktLine(`${arg}\n`)),
    FLUSH,
  ]);
}

async function postUploadPack(session: SmartHttpSession, advertisement: Advertisement, body: Buffer) {
  const { response } = await send(session, new URL(`${advertisement.url}/git-upload-pack`), {
    method: 'POST',
    headers: {
      'content-type': 'application/x-git-upload-pack-request',
      accept: 'application/x-git-upload-pack-result',
      ...(advertisement.version === 2 ? { 'git-protocol': 'version=2' } : {}),
    },
    body,
  });
  return response;
}

/** v2 `ls-refs` of the branches (the other refs are of no use to the fetch), into `refs`. */
async function listBranches(
  session: SmartHttpSession,
  advertisement: Advertisement,
  refs: Map<string, string>,
): Promise<void> {
  const response = await postUploadPack(
    session,
    advertisement,
    commandBody(advertisement, 'ls-refs', ['ref-prefix refs/heads/']),
  );
  let ended = false;
  for await (const line of pktLines(response)) {
    if (typeof line === 'number') {
      ended = true;
      continue;
    }
    const value = text(line);
    if (value.startsWith('ERR ')) throw failure(value.slice(4), 'UploadPackError');
    const [oid, name] = value.split(' ');
    if (oid && name) refs.set(name, oid);
  }
  if (!ended) throw failure(`${advertisement.url} closed the connection during ls-refs`, 'ECONNRESET');
}

export interface ReceivedPack {
  /** Commits the server cut the history at (`.git/shallow`). */
  readonly shallow: string[];
  /** The pack's own checksum (its last 20 bytes), verified. */
  readonly checksum: string;
  readonly bytes: number;
}

/** The request body wanting `commit` alone at depth 1, in the advertisement's protocol version. */
function fetchBody(advertisement: Advertisement, commit: string): Buffer {
  const offered = advertisement.capabilities;
  if (advertisement.version === 2) {
    const fetchFeatures = (capabilityValue(offered, 'fetch') ?? '').split(' ');
    return commandBody(advertisement, 'fetch', [
      'no-progress',
      'ofs-delta',
      ...(fetchFeatures.includes('shallow') ? ['deepen 1'] : []),
      `want ${commit}`,
      'done',
    ]);
  }
  const band = offered.has('side-band-64k')
    ? 'side-band-64k'
    : offered.has('side-band')
      ? 'side-band'
      : undefined;
  // Every git server of the last fifteen years offers a side-band; without one, pack and status share a stream.
  if (!band) throw failure(`${advertisement.url} offers no side-band`, 'UnsupportedRepository');
  const wanted = [band, ...['ofs-delta', 'shallow', 'no-progress'].filter((c) => offered.has(c))];
  const format =
    capabilityValue(offered, 'object-format') !== undefined
      ? [`object-format=${advertisement.objectFormat}`]
      : [];
  return Buffer.concat([
    pktLine(`want ${commit} ${[...wanted, ...format, `agent=${USER_AGENT}`].join(' ')}\n`),
    ...(offered.has('shallow') ? [pktLine('deepen 1\n')] : []),
    FLUSH,
    pktLine('done\n'),
  ]);
}

/**
 * Wants `commit` alone, at depth 1, and writes the pack to `file` as it arrives (awaiting each
 * write, so a slow disk slows the download instead of filling memory). Verifies the pack's
 * trailing checksum. A response that ends before its final flush is a broken connection
 * (`ECONNRESET`, retried); a complete one whose pack does not verify is `CorruptPack`.
 */
export async function fetchPackTo(
  session: SmartHttpSession,
  advertisement: Advertisement,
  commit: string,
  file: FileHandle,
): Promise<ReceivedPack> {
  const body = fetchBody(advertisement, commit);
  const response = await postUploadPack(session, advertisement, body);
  const v2 = advertisement.version === 2;

  const shallow: string[] = [];
  const hash = createHash(advertisement.objectFormat);
  const checksumBytes = hash.copy().digest().length;
  // The last bytes are the checksum, not part of what it hashes: held back until more comes.
  let tail = Buffer.alloc(0);
  const receive = (piece: Buffer) => {
    if (piece.length >= checksumBytes) {
      hash.update(tail);
      hash.update(piece.subarray(0, piece.length - checksumBytes));
      tail = Buffer.from(piece.subarray(piece.length - checksumBytes));
    } else {
      const joined = Buffer.concat([tail, piece]);
      hash.update(joined.subarray(0, Math.max(0, joined.length - checksumBytes)));
      tail = joined.subarray(Math.max(0, joined.length - checksumBytes));
    }
  };
  let bytes = 0;
  let inPack = false;
  let complete = false;
  const collect = collectEvery(COLLECT_EVERY_BYTES);
  for await (const packet of pktPieces(response)) {
    if (typeof packet === 'number') {
      // v0/v1: the flush after the side-band data ends the answer; v2: the flush ends the last section.
      if (packet === Special.flush && (inPack || v2)) complete = true;
      continue;
    }
    const first = packet[0];
    if (!first) continue;
    if (!inPack) {
      // Before the pack: `shallow <id>`, `NAK`, `ACK ...`, section headers (v2), or `ERR <message>`.
      const value = text(packet.length === 1 ? first : Buffer.concat(packet));
      if (value.startsWith('ERR ')) throw failure(value.slice(4), 'UploadPackError');
      if (value.startsWith('shallow ')) shallow.push(value.slice('shallow '.length));
      if (v2 ? value === 'packfile' : first[0] === 1 || first[0] === 2 || first[0] === 3) inPack = true;
      if (v2 || !inPack) continue;
    }
    const channel = first[0] as number;
    if (channel === 1) {
      for (const [index, whole] of packet.entries()) {
        const piece = index === 0 ? whole.subarray(1) : whole;
        if (piece.length === 0) continue;
        receive(piece);
        await file.write(piece, 0, piece.length, bytes);
        bytes += piece.length;
      }
      collect(bytes);
    } else if (channel === 3) {
      // The server failed while sending (the in-band equivalent of a 5xx).
      throw failure(Buffer.concat(packet).subarray(1).toString('utf8').trim(), 'UploadPackFailed');
    } else if (channel !== 2) {
      throw failure(`${advertisement.url} sent side-band channel ${channel}`, 'SmartHttpError');
    }
  }
  if (!complete)
    throw failure(`${advertisement.url} closed the connection before the pack was complete`, 'ECONNRESET');
  if (bytes < 12 + checksumBytes)
    throw failure(`${advertisement.url} answered without a pack`, 'CorruptPack');
  const checksum = tail.toString('hex');
  if (hash.digest('hex') !== checksum) {
    throw failure(`the pack ${advertisement.url} sent does not match its own checksum`, 'CorruptPack');
  }
  return { shallow, checksum, bytes };
}
