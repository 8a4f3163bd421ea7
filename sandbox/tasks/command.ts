/**
 * The local command of an app's task: `sandbox.command` of stackpilot.yml, else the `start`
 * script of the source's package.json. Pure: the supervisor reads the files.
 */

export type LocalCommand = { ok: true; command: string; how: string } | { ok: false; reason: string };

/**
 * Which command runs the app, from the configured one and the text of the source's
 * package.json (undefined when there is none).
 */
export function localCommand(configured: string | undefined, packageJson: string | undefined): LocalCommand {
  if (configured) return { ok: true, command: configured, how: 'sandbox.command of stackpilot.yml' };
  if (packageJson === undefined) {
    return {
      ok: false,
      reason:
        'its source has no package.json and stackpilot.yml sets no sandbox.command for the app (the command that runs it on this machine)',
    };
  }
  let scripts: unknown;
  try {
    scripts = (JSON.parse(packageJson) as { scripts?: unknown }).scripts;
  } catch (error) {
    return { ok: false, reason: `its package.json is not JSON (${(error as Error).message})` };
  }
  const start = (scripts as Record<string, unknown> | undefined)?.start;
  if (typeof start !== 'string' || start.trim() === '') {
    return {
      ok: false,
      reason: 'its package.json has no "start" script and stackpilot.yml sets no sandbox.command for the app',
    };
  }
  return { ok: true, command: start.trim(), how: 'the start script of package.json' };
}

/** A simple command (words, no shell syntax) runs as `exec <command>`: the app is the task's process. */
export function shellLine(command: string): string {
  return /^[\w./@:=+,%-]+( +[\w./@:=+,%-]+)*$/.test(command) ? `exec ${command}` : command;
}

/** Docker's exit code for a process a signal ended: 128 + the signal's number. */
export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const numbers: Partial<Record<NodeJS.Signals, number>> = {
    SIGHUP: 1,
    SIGINT: 2,
    SIGQUIT: 3,
    SIGABRT: 6,
    SIGKILL: 9,
    SIGSEGV: 11,
    SIGTERM: 15,
  };
  return 128 + (signal ? (numbers[signal] ?? 0) : 0);
}
