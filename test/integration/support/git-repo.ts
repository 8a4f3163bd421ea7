/**
 * Builds real git repositories with the git CLI, deterministically (fixed author, dates and
 * content), for the git server of `git-server.ts`.
 */
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** What a file of a generated repository holds. */
export type RepoFile =
  | string
  | Buffer
  | { readonly content: string | Buffer; readonly executable: true }
  | { readonly symlink: string };

const FIXED_ENV = {
  GIT_AUTHOR_NAME: 'Stackpilot Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Stackpilot Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
  GIT_AUTHOR_DATE: '2026-01-01T00:00:00Z',
  GIT_COMMITTER_DATE: '2026-01-01T00:00:00Z',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
};

/** Runs git in `cwd` with a fixed identity and no user configuration; returns trimmed stdout. */
export function git(cwd: string, args: string[], env: Record<string, string> = {}): string {
  return execFileSync('git', args, {
    cwd,
    env: { ...process.env, ...FIXED_ENV, ...env },
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  }).trim();
}

/** Writes files (paths relative to `dir`, `/`-separated) including executables and symlinks. */
export async function writeFiles(dir: string, files: Record<string, RepoFile>): Promise<void> {
  for (const [path, file] of Object.entries(files)) {
    const target = join(dir, path);
    await mkdir(dirname(target), { recursive: true });
    if (typeof file === 'string' || Buffer.isBuffer(file)) {
      await writeFile(target, file);
    } else if ('symlink' in file) {
      await symlink(file.symlink, target);
    } else {
      await writeFile(target, file.content);
      await chmod(target, 0o755);
    }
  }
}

/** Creates a repository at `dir` on `branch` with one commit of `files`; returns the commit id. */
export async function createRepo(
  dir: string,
  files: Record<string, RepoFile>,
  branch = 'main',
): Promise<string> {
  await mkdir(dir, { recursive: true });
  git(dir, ['init', '--quiet', `--initial-branch=${branch}`]);
  git(dir, ['config', 'core.symlinks', 'true']);
  git(dir, ['config', 'core.filemode', 'true']);
  // Lets a client fetch a commit by id once its branch moved on (GitHub allows this too).
  git(dir, ['config', 'uploadpack.allowReachableSHA1InWant', 'true']);
  return commitFiles(dir, files, 'initial commit');
}

/** Adds (or overwrites) files and commits them on the current branch; returns the new commit id. */
export async function commitFiles(
  dir: string,
  files: Record<string, RepoFile>,
  message: string,
): Promise<string> {
  await writeFiles(dir, files);
  git(dir, ['add', '--all']);
  git(dir, ['commit', '--quiet', '--allow-empty', '-m', message]);
  return git(dir, ['rev-parse', 'HEAD']);
}
