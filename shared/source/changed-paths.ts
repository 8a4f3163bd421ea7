/**
 * Monorepos, when the push payload could not tell which files changed (GitHub cut the commit
 * list, a forced push): compares the tree of the pushed commit with the tree of the commit the
 * branch was at before, and says whether any path the app watches changed.
 *
 * The pushed commit is already in Package Source's repository; the commit before is fetched
 * the same way (depth 1) into a folder of its own, so the source zip never carries it. Equal
 * subtrees are skipped by id, so the walk costs what changed, not the size of the repository.
 * Whatever cannot be compared (the commit before is gone after a force-push, the server will
 * not send it) counts as changed: a deploy is never skipped on a guess.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { logger } from '#shared/powertools.ts';
import { fetchCommit, type GitCredentials } from './fetch-commit.ts';
import { ObjectStore, type RawTreeEntry } from './object-store.ts';

export interface WatchedChangeOptions {
  /** HTTPS clone URL, without credentials. */
  readonly url: string;
  readonly branch: string;
  /** The repository folder holding the pushed commit (`<dir>/.git`). */
  readonly dir: string;
  readonly commit: string;
  /** The commit the branch was at before the push. */
  readonly before: string;
  /** Whether a repository path concerns the app (`shared/source/watch.ts`). */
  readonly matches: (path: string) => boolean;
  readonly credentials?: GitCredentials;
  /** Parent of the folder the commit before is fetched into. */
  readonly workDir: string;
}

export type WatchedChange =
  | { readonly changed: true; readonly reason: string; readonly path?: string }
  | { readonly changed: false; readonly reason: string; readonly changedPaths: number };

const TREE_MODE = /^0?40000$/;
const isTree = (e: RawTreeEntry | undefined) => e !== undefined && TREE_MODE.test(e.mode);

/** One side of the comparison: a store and the tree to read, absent when the side has no such folder. */
interface Side {
  readonly store: ObjectStore;
  readonly tree?: string;
}

async function entries(side: Side): Promise<Map<string, RawTreeEntry>> {
  if (!side.tree) return new Map();
  return new Map((await side.store.readTree(side.tree)).map((e) => [e.name.toString('utf8'), e]));
}

/**
 * The paths under `prefix` that differ between the two trees, depth first, lazily (the caller
 * stops at the first one it needs). A folder that appeared or went yields each of its files.
 */
async function* differences(a: Side, b: Side, prefix: string): AsyncGenerator<string> {
  const [left, right] = await Promise.all([entries(a), entries(b)]);
  const names = [...new Set([...left.keys(), ...right.keys()])].sort();
  for (const name of names) {
    const l = left.get(name);
    const r = right.get(name);
    if (l && r && l.oid === r.oid && l.mode === r.mode) continue;
    const path = `${prefix}${name}`;
    if (isTree(l) || isTree(r)) {
      // A file replaced by a folder (or the reverse): the file's path changed too.
      if ((l && !isTree(l)) || (r && !isTree(r))) yield path;
      yield* differences(
        { store: a.store, ...(isTree(l) ? { tree: l?.oid } : {}) },
        { store: b.store, ...(isTree(r) ? { tree: r?.oid } : {}) },
        `${path}/`,
      );
    } else {
      yield path;
    }
  }
}

/**
 * Whether the push changed a watched path: compares the trees of `commit` and `before`,
 * stopping at the first watched path that differs.
 */
export async function watchedPathChanged(options: WatchedChangeOptions): Promise<WatchedChange> {
  const { commit, before } = options;
  if (commit === before)
    return { changed: false, reason: `commit ${commit} is the commit before the push`, changedPaths: 0 };
  const beforeDir = await mkdtemp(join(options.workDir, 'stackpilot-source-before-'));
  try {
    try {
      await fetchCommit({
        url: options.url,
        branch: options.branch,
        commit: before,
        dir: beforeDir,
        credentials: options.credentials,
      });
    } catch (error) {
      logger.warn('cannot fetch the commit before the push; deploying', { before, error: error as Error });
      return {
        changed: true,
        reason: `the commit before the push (${before}) cannot be fetched (${(error as Error).message}), so the push counts as changing everything`,
      };
    }
    const [pushed, previous] = await Promise.all([
      ObjectStore.open(join(options.dir, '.git')),
      ObjectStore.open(join(beforeDir, '.git')),
    ]);
    try {
      const [pushedCommit, previousCommit] = await Promise.all([
        pushed.readCommit(commit),
        previous.readCommit(before),
      ]);
      let changedPaths = 0;
      for await (const path of differences(
        { store: previous, tree: previousCommit.tree },
        { store: pushed, tree: pushedCommit.tree },
        '',
      )) {
        changedPaths += 1;
        if (options.matches(path)) return { changed: true, reason: `${path} changed since ${before}`, path };
      }
      return {
        changed: false,
        reason: `none of the ${changedPaths} paths changed since ${before} is watched by the app`,
        changedPaths,
      };
    } finally {
      await Promise.all([pushed.close(), previous.close()]);
    }
  } finally {
    await rm(beforeDir, { recursive: true, force: true });
  }
}
