/**
 * What the sandbox and CLI tests share: a command run the way a newcomer would run it (the real
 * `git`, no prompts, a fixed author), and a CLI `io` that keeps what a command printed.
 */
import { execFile } from 'node:child_process';

/** Runs `command` in `cwd`; never rejects: the exit code says how it ended. */
export function sh(
  command: string,
  args: string[],
  cwd: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      {
        cwd,
        env: {
          ...process.env,
          GIT_TERMINAL_PROMPT: '0',
          GIT_AUTHOR_NAME: 'Newcomer',
          GIT_AUTHOR_EMAIL: 'newcomer@example.com',
          GIT_COMMITTER_NAME: 'Newcomer',
          GIT_COMMITTER_EMAIL: 'newcomer@example.com',
        },
      },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** A CLI `io` (`io.stdout`, `io.stderr`) and what was written to each. */
export function captureIo() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { stdout: { write: (t: string) => out.push(t) }, stderr: { write: (t: string) => err.push(t) } },
    out: () => out.join(''),
    err: () => err.join(''),
  };
}
