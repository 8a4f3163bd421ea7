/**
 * Fetches exactly one commit of a remote repository without a git binary (Lambda has none):
 * a smart-HTTP exchange (`smart-http.ts`, protocol v2 or v0/v1, whichever the server
 * speaks) wants the pushed commit at depth 1, the pack is streamed to `.git/objects/pack`
 * and indexed from the file (`index-pack.ts`), so memory does not grow with the repository.
 * When the branch has moved on (or was deleted) since the push, the commit is still wanted
 * by id (git over HTTP, GitHub and GitLab serve reachable commits by id, protocol v2 any
 * commit they hold). isomorphic-git only writes the small files of `.git` (config, refs).
 * Nothing is checked out: the zip is written straight from the object store (`zip-commit.ts`).
 */
import * as nodeFs from 'node:fs';
import { mkdir, open, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import git from 'isomorphic-git';
import { InvalidInput, TransientError } from '#shared/errors.ts';
import {
  brief,
  CommitNotFound,
  RepositoryAccessDenied,
  RepositoryUnreachable,
  RepositoryUnsupported,
} from './errors.ts';
import { indexPack } from './index-pack.ts';
import { ObjectStore } from './object-store.ts';
import {
  type Advertisement,
  discover,
  failure,
  fetchPackTo,
  MAX_REDIRECTS,
  type ReceivedPack,
  type SmartHttpSession,
  smartHttpSession,
} from './smart-http.ts';

/** HTTP Basic credentials for a private repository (a token as the password). */
export interface GitCredentials {
  readonly username: string;
  readonly password: string;
}

export interface FetchCommitOptions {
  /** HTTPS clone URL, without credentials. */
  readonly url: string;
  /** Branch name (`main`, not `refs/heads/main`). */
  readonly branch: string;
  /** The full commit id that must be fetched. */
  readonly commit: string;
  /** Empty folder to create the repository in (`<dir>/.git`). */
  readonly dir: string;
  /** Sent only when the server asks for credentials (HTTP 401), never stored in `.git/config`. */
  readonly credentials?: GitCredentials;
}

export interface FetchedCommit {
  readonly commit: string;
  /** `branch`: the branch tip was the commit; `commit`: the branch had moved on and the commit was fetched by id. */
  readonly fetchedBy: 'branch' | 'commit';
}

/**
 * Git's rules for a branch name (`git check-ref-format --branch`): no control characters,
 * spaces or `~^:?*[\`, no `..`, `@{` or `//`, no component starting with `.` or ending with
 * `.lock`, not ending with `/` or `.`, not `@`. Checked before any git work, so a bad ref is
 * refused as bad input rather than failing somewhere inside git.
 */
export function isValidBranchName(name: string): boolean {
  if (name.length === 0 || name === '@' || name.startsWith('-')) return false;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(name)) return false;
  if (name.includes('..') || name.includes('@{') || name.includes('//')) return false;
  if (name.endsWith('/') || name.endsWith('.')) return false;
  return name.split('/').every((part) => part.length > 0 && !part.startsWith('.') && !part.endsWith('.lock'));
}

/** The username a provider expects with a token as the password. */
export function tokenCredentials(provider: 'github' | 'gitlab', token: string): GitCredentials {
  return { username: provider === 'github' ? 'x-access-token' : 'oauth2', password: token };
}

/** The URL without user info, so no credential can reach `.git/config`, a log line or an error message. */
export function stripCredentials(url: string): string {
  const parsed = new URL(url);
  parsed.username = '';
  parsed.password = '';
  return parsed.toString();
}

/**
 * Fetches `commit` of `url` into `dir` and points `HEAD` (`refs/heads/<branch>`) at it, so
 * `git rev-parse HEAD` prints the commit. Throws {@link CommitNotFound},
 * {@link RepositoryUnreachable}, {@link RepositoryAccessDenied},
 * {@link RepositoryUnsupported}, `InvalidInput` or `TransientError`.
 */
export async function fetchCommit(options: FetchCommitOptions): Promise<FetchedCommit> {
  try {
    return await fetchExactCommit(options);
  } catch (error) {
    throw classifyGitError(error, {
      url: stripCredentials(options.url),
      commit: options.commit,
      branch: options.branch,
    });
  }
}

const SHA1_ID = /^[0-9a-f]{40}$/;
const SHA256_ID = /^[0-9a-f]{64}$/;

async function fetchExactCommit(options: FetchCommitOptions): Promise<FetchedCommit> {
  if (!isValidBranchName(options.branch)) {
    throw new InvalidInput(`refs/heads/${brief(options.branch)} is not a valid git branch name`);
  }
  const { dir, branch, commit } = options;
  const url = stripCredentials(options.url);
  // Refused before any request: the pack of a SHA-256 repository cannot be indexed here.
  if (SHA256_ID.test(commit)) {
    throw new RepositoryUnsupported(
      `commit ${commit} is a SHA-256 id: ${brief(url)} is a SHA-256 repository, and only SHA-1 repositories can be packaged`,
    );
  }
  if (!SHA1_ID.test(commit)) throw new InvalidInput(`commit ${brief(commit)} is not a full SHA-1 commit id`);
  const fs = nodeFs;
  // Credentials only go out once the repository's host has challenged (401); a refused token is not retried.
  const session = smartHttpSession(url, options.credentials);
  const advertisement = await discover(session, url);
  const branches = [...advertisement.refs.keys()].filter((name) => name.startsWith('refs/heads/'));
  if (branches.length === 0) {
    throw new CommitNotFound(
      `${brief(url)} is an empty repository (it has no branches), so commit ${commit} cannot be fetched from it`,
    );
  }
  const tip = advertisement.refs.get(`refs/heads/${branch}`);
  // A branch that moved on (or was deleted) since the push: the commit is wanted by id all the
  // same; over HTTP, git serves any commit reachable from a ref, and so do GitHub and GitLab.
  const fetchedBy: FetchedCommit['fetchedBy'] = tip === commit ? 'branch' : 'commit';

  await initRepository(dir, url, branch);
  try {
    await receivePack(session, advertisement, commit, join(dir, '.git'));
  } catch (error) {
    if (fetchedBy === 'commit' && refusedWant(error)) {
      throw new CommitNotFound(unreachableCommitMessage(url, branch, commit, tip), { cause: error });
    }
    throw error;
  }

  await git.writeRef({ fs, dir, ref: `refs/heads/${branch}`, value: commit, force: true });
  if (fetchedBy === 'branch') {
    await git.writeRef({ fs, dir, ref: `refs/remotes/origin/${branch}`, value: commit, force: true });
  }
  await git.writeRef({ fs, dir, ref: 'HEAD', value: `refs/heads/${branch}`, symbolic: true, force: true });
  return { commit, fetchedBy };
}

/** The server refused to send the wanted commit (`not our ref`): it has no such commit a ref reaches. */
function refusedWant(error: unknown): boolean {
  const e = error as GitLikeError;
  return e?.code === 'UploadPackError' && /not our ref|not valid|want .*not/i.test(e.message ?? '');
}

/**
 * What a refused commit means, as far as the server tells: git's protocol does not say
 * whether a commit it will not send never existed or was taken off its branch by a
 * force-push (servers that serve any object they hold by id, as GitHub does, still send a
 * force-pushed commit, which is then packaged like any other).
 */
function unreachableCommitMessage(
  url: string,
  branch: string,
  commit: string,
  tip: string | undefined,
): string {
  const where = `${brief(url)}`;
  if (tip === undefined) {
    return `commit ${commit} is unknown to ${where}: branch ${brief(branch)} does not exist there (any more) and no other branch or tag reaches the commit`;
  }
  return `commit ${commit} is unknown to ${where}: it is not on branch ${brief(branch)} (now at ${tip}) nor on any other branch or tag, and the server will not send it by id. Either it never was in this repository, or a force-push took it off the branch since it was pushed`;
}

/**
 * Downloads the pack of `commit` into `<gitdir>/objects/pack` and indexes it from the file,
 * and records the depth-1 cut in `.git/shallow` so a native git does not look for parents.
 */
async function receivePack(
  session: SmartHttpSession,
  advertisement: Advertisement,
  commit: string,
  gitdir: string,
): Promise<void> {
  const packDir = join(gitdir, 'objects', 'pack');
  await mkdir(packDir, { recursive: true });
  const incoming = join(packDir, 'incoming.pack');
  const file = await open(incoming, 'w+');
  let received: ReceivedPack;
  try {
    received = await fetchPackTo(session, advertisement, commit, file);
    const idx = await indexPack(file, received.bytes).catch((error: unknown) => {
      throw failure(`the pack ${advertisement.url} sent cannot be read: ${describe(error)}`, 'CorruptPack');
    });
    await writeFile(join(packDir, `pack-${received.checksum}.idx`), idx);
  } finally {
    await file.close();
  }
  await rename(incoming, join(packDir, `pack-${received.checksum}.pack`));
  if (received.shallow.length > 0)
    await writeFile(join(gitdir, 'shallow'), `${received.shallow.join('\n')}\n`);
  const store = await ObjectStore.open(gitdir);
  try {
    await store.readCommit(commit);
  } catch (error) {
    throw failure(
      `the pack ${advertisement.url} sent does not hold commit ${commit}: ${describe(error)}`,
      'CorruptPack',
    );
  } finally {
    await store.close();
  }
}

/** `git init` with the settings a native git expects in the unzipped folder (modes and symlinks honoured). */
async function initRepository(dir: string, url: string, branch: string): Promise<void> {
  const fs = nodeFs;
  await git.init({ fs, dir, defaultBranch: branch });
  await git.addRemote({ fs, dir, remote: 'origin', url, force: true });
  await git.setConfig({ fs, dir, path: 'core.filemode', value: true });
  await git.setConfig({ fs, dir, path: 'core.symlinks', value: true });
  await git.setConfig({ fs, dir, path: `branch.${branch}.remote`, value: 'origin' });
  await git.setConfig({ fs, dir, path: `branch.${branch}.merge`, value: `refs/heads/${branch}` });
}

interface GitLikeError {
  code?: string;
  name?: string;
  message?: string;
  data?: { statusCode?: number; statusMessage?: string; foreignOrigin?: string };
}

/** Network error codes worth retrying: the server or the path to it is down for now, or the connection broke. */
const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ECONNABORTED',
  'ESOCKETTIMEDOUT',
]);

/** TLS failures no retry fixes (an untrusted or mismatched certificate). */
const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
]);

function describe(error: unknown): string {
  const e = error as GitLikeError;
  return e?.message ? e.message : String(error);
}

/**
 * Maps a smart-HTTP or network error to the error the state machine acts on. Only what a
 * retry can fix is `TransientError`: 408/429/5xx, a connection that failed or broke, a server
 * that failed while sending. 401/403 -> {@link RepositoryAccessDenied}; 404, an unknown host,
 * not a git server -> {@link RepositoryUnreachable}; a SHA-256 repository, a refused fetch,
 * a pack that does not verify -> {@link RepositoryUnsupported}.
 */
export function classifyGitError(
  error: unknown,
  context: { url: string; commit: string; branch: string },
): Error {
  const { commit } = context;
  const url = brief(context.url);
  if (
    error instanceof InvalidInput ||
    error instanceof CommitNotFound ||
    error instanceof RepositoryAccessDenied ||
    error instanceof RepositoryUnreachable ||
    error instanceof RepositoryUnsupported ||
    error instanceof TransientError
  ) {
    return error;
  }
  const e = (error ?? {}) as GitLikeError;
  const code = e.code ?? e.name ?? '';
  const options = { cause: error };
  if (code === 'HttpError') {
    const status = e.data?.statusCode ?? 0;
    const what = `${status} ${e.data?.statusMessage ?? ''}`.trim();
    const foreign = e.data?.foreignOrigin;
    if (foreign && (status === 401 || status === 403)) {
      return new RepositoryAccessDenied(
        `${url} redirected to ${brief(foreign)}, which asked for credentials (HTTP ${what}): the repository token is only ever sent to the repository's own host`,
        options,
      );
    }
    if (status === 401 || status === 403) {
      return new RepositoryAccessDenied(
        `${url} refused access (HTTP ${what}): check the repository token of this app`,
        options,
      );
    }
    if (status === 408 || status === 429 || status >= 500) {
      return new TransientError(`${url} answered HTTP ${what} while fetching commit ${commit}`, options);
    }
    if (status >= 300 && status < 400) {
      return new RepositoryUnreachable(
        `${url} answered HTTP ${what}, a redirect not followed (git follows at most ${MAX_REDIRECTS} redirects, and those of its first request only)`,
        options,
      );
    }
    return new RepositoryUnreachable(
      `${url} answered HTTP ${what}: the repository does not exist or the token cannot see it`,
      options,
    );
  }
  if (TRANSIENT_NETWORK_CODES.has(code)) {
    return new TransientError(
      `the connection to ${url} failed while fetching commit ${commit} (${code}: ${describe(error)})`,
      options,
    );
  }
  if (code === 'UploadPackFailed') {
    return new TransientError(
      `the git server of ${url} failed while sending commit ${commit}: ${describe(error)}`,
      options,
    );
  }
  if (TLS_CODES.has(code) || code.startsWith('ERR_TLS_') || code.startsWith('CERT_')) {
    return new RepositoryUnreachable(
      `the TLS certificate of ${url} is not trusted (${code}): ${describe(error)}`,
      options,
    );
  }
  if (code === 'ENOSPC') {
    return new RepositoryUnsupported(
      `commit ${commit} of ${url} does not fit in the function's temporary storage (ENOSPC)`,
      options,
    );
  }
  if (code === 'ENOTFOUND') {
    return new RepositoryUnreachable(`the host of ${url} does not resolve (ENOTFOUND)`, options);
  }
  if (code === 'SmartHttpError') {
    return new RepositoryUnreachable(`${url} is not a git smart-HTTP server: ${describe(error)}`, options);
  }
  if (code === 'UnsupportedRepository') {
    return new RepositoryUnsupported(describe(error), options);
  }
  if (code === 'UploadPackError') {
    return new RepositoryUnsupported(`${url} refused to send commit ${commit}: ${describe(error)}`, options);
  }
  if (code === 'CorruptPack') {
    return new RepositoryUnsupported(`${describe(error)} (commit ${commit})`, options);
  }
  return error instanceof Error ? error : new Error(describe(error));
}
