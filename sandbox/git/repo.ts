/**
 * Bare repositories of the sandbox's git server, and the starter app repository created
 * on first start from the files under `sandbox/starter-app/`.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Files of the starter app, committed as the first commit of each sandbox repository. */
export const STARTER_APP_DIR = fileURLToPath(new URL('../starter-app/', import.meta.url));

/** The identity of the sandbox's own commits. */
const SANDBOX_IDENTITY = {
  GIT_AUTHOR_NAME: 'stackpilot sandbox',
  GIT_AUTHOR_EMAIL: 'sandbox@stackpilot.invalid',
  GIT_COMMITTER_NAME: 'stackpilot sandbox',
  GIT_COMMITTER_EMAIL: 'sandbox@stackpilot.invalid',
};

/** Runs git and returns its trimmed standard output; rejects with git's own message. */
export function git(
  args: string[],
  options: { gitDir?: string; cwd?: string; env?: Record<string, string> } = {},
): Promise<string> {
  const fullArgs = options.gitDir ? [`--git-dir=${options.gitDir}`, ...args] : args;
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      fullArgs,
      {
        cwd: options.cwd,
        env: { ...process.env, GIT_TERMINAL_PROMPT: '0', ...options.env },
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`git ${args[0]} failed: ${stderr.trim() || error.message}`));
        else resolve(stdout.trim());
      },
    );
  });
}

/**
 * Creates `<root>/<name>.git` (a bare repository that accepts pushes over HTTP) with the
 * starter app as its first commit on `branch`, unless it exists already.
 * Returns true when it was created.
 */
export async function ensureStarterRepository(
  root: string,
  name: string,
  branch = 'main',
  seedDir = STARTER_APP_DIR,
): Promise<boolean> {
  const gitDir = join(root, `${name}.git`);
  if (existsSync(join(gitDir, 'HEAD'))) return false;
  const work = mkdtempSync(join(tmpdir(), 'stackpilot-starter-'));
  try {
    cpSync(seedDir, work, { recursive: true });
    await git(['init', '--quiet', `--initial-branch=${branch}`], { cwd: work });
    await git(['add', '--all'], { cwd: work });
    await git(['commit', '--quiet', '--message', 'Starter app: a small CRUD REST API'], {
      cwd: work,
      env: SANDBOX_IDENTITY,
    });
    await git(['init', '--quiet', '--bare', `--initial-branch=${branch}`, gitDir]);
    // Smart HTTP pushes need receive-pack enabled; the server is loopback-only.
    await git(['config', 'http.receivepack', 'true'], { gitDir });
    await git(['push', '--quiet', gitDir, `HEAD:refs/heads/${branch}`], { cwd: work });
  } catch (error) {
    rmSync(gitDir, { recursive: true, force: true });
    throw error;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return true;
}
