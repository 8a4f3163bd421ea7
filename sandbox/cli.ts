/**
 * The `stackpilot` CLI: `start` (what `npm start` runs), `status`, `run`, `load`, `logs`
 * and `cost`. Errors are one line on stderr; bad usage exits with code 2, a failed
 * execution or command with 1.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type CliIo, CommandError, EXIT, UsageError } from './commands/common.ts';
import { costCommand } from './commands/cost.ts';
import { loadCommand } from './commands/load.ts';
import { logsCommand } from './commands/logs.ts';
import { runCommand } from './commands/run.ts';
import { startCommand } from './commands/start.ts';
import { statusCommand } from './commands/status.ts';

export const USAGE = `usage: stackpilot <command> [flags]    (stackpilot <command> --help for its flags)

  start                           run the sandbox: the control plane on this machine (npm start)
  status [--json]                 stages and recent executions of the running sandbox
  run <machine> --input <file|->  one deploy, release or scale execution; prints its output
  run <machine> --input F --aws   the same against the state machine deployed in your AWS account
  load <app> <stage> --cpu <pct>  drive the emulated CPU of a stage (the alarms follow)
  logs <execution>                the state-by-state history of an execution
  cost [--app A --stage S]        monthly cost estimate of a stage, both scale tiers`;

type Command = (argv: string[], io: CliIo) => number | Promise<number>;

const COMMANDS: Record<string, Command> = {
  start: startCommand,
  status: statusCommand,
  run: runCommand,
  load: loadCommand,
  logs: logsCommand,
  cost: costCommand,
};

/** Runs the CLI with `argv` (without node and the script) and returns the exit code. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    (name === undefined ? io.stderr : io.stdout).write(`${USAGE}\n`);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    io.stderr.write(
      `stackpilot: unknown command ${name}; the commands are ${Object.keys(COMMANDS).join(', ')}\n`,
    );
    return EXIT.usage;
  }
  try {
    return await command(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`stackpilot ${name}: ${error.message} (stackpilot ${name} --help)\n`);
      return EXIT.usage;
    }
    const message =
      error instanceof CommandError ? error.message : `${(error as Error).name}: ${(error as Error).message}`;
    io.stderr.write(`stackpilot ${name}: ${message.split('\n').join(' ')}\n`);
    return EXIT.failed;
  }
}

/** True when this module is the program (`tsx sandbox/cli.ts`), not an import. */
function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  process.exitCode = await main(process.argv.slice(2), process);
}
