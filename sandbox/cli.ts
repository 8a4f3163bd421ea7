/**
 * The `stackpilot` CLI: `start` (what `npm start` runs), `status`, `deploy`, `rollback`,
 * `redeploy`, `watch`, `run`, `load`, `logs`, `history`, `cost` and `schema`. Errors are one line on stderr; bad usage
 * exits with code 2, a failed execution or command with 1.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type CliIo, CommandError, EXIT, UsageError } from './commands/common.ts';
import { importCost, importStart } from './commands/from-source.ts';

export const USAGE = `usage: stackpilot <command> [flags]    (stackpilot <command> --help for its flags)

  start                           run the sandbox: the control plane on this machine (npm start)
  status [--json]                 stages and recent executions of the running sandbox
  deploy <app> <stage> [--commit SHA]      deploy a commit of the stage's branch, as a push would
  rollback <app> <stage> [--to REVISION]   back to the previous release, or to a revision
  redeploy <app> <stage> [--image IMAGE]   release the running image (or IMAGE) again
  promote <app> <from> <to>       release the image <from> runs to <to>, without a build
  pr open|update|close <app> --branch B   a pull request on the sandbox: its preview is built, updated, removed
  watch [<execution> | <app> <stage>]      follow a running execution live; exits with its outcome
  run <machine> --input <file|->  one deploy, release, scale or preview execution; prints its output
  load <app> <stage> --rps N [--duration D] | --cpu <pct>   real requests to the stage's URL, or a set CPU
  logs <app> <stage> [--follow] [--since 10m]   the output of the stage's tasks
  history <execution> [--json]    the state-by-state history of an execution (also: logs <execution>)
  cost [--app A --stage S]        monthly cost estimate of a stage, both scale tiers
  schema [--write FILE]           the JSON Schema of stackpilot.yml (for editors)

  deploy, rollback, redeploy and run follow their execution (--no-wait to detach).
  deploy, rollback, redeploy, promote, watch, run and logs take --aws: the state machines deployed in your AWS account.
  exit codes: 0 done, 1 the operation failed, 2 bad usage`;

type Command = (argv: string[], io: CliIo) => number | Promise<number>;

/**
 * Each command's module, loaded only when it runs: `status` must not pay for the sandbox
 * server, the CDK or the AWS SDK that `start` and `run` need.
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
  start: async () => (await importStart()).startCommand,
  status: async () => (await import('./commands/status.ts')).statusCommand,
  deploy: async () => (await import('./commands/release.ts')).deployCommand,
  rollback: async () => (await import('./commands/release.ts')).rollbackCommand,
  redeploy: async () => (await import('./commands/release.ts')).redeployCommand,
  promote: async () => (await import('./commands/promote.ts')).promoteCommand,
  pr: async () => (await import('./commands/pr.ts')).prCommand,
  watch: async () => (await import('./commands/watch.ts')).watchCommand,
  run: async () => (await import('./commands/run.ts')).runCommand,
  load: async () => (await import('./commands/load.ts')).loadCommand,
  logs: async () => (await import('./commands/logs.ts')).logsCommand,
  history: async () => (await import('./commands/logs.ts')).historyCommand,
  cost: async () => (await importCost()).costCommand,
  schema: async () => (await import('./commands/schema.ts')).schemaCommand,
};

/** Runs the CLI with `argv` (without node and the script) and returns the exit code. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    (name === undefined ? io.stderr : io.stdout).write(`${USAGE}\n`);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!load) {
    io.stderr.write(
      `stackpilot: unknown command ${name}; the commands are ${Object.keys(COMMANDS).join(', ')}\n`,
    );
    return EXIT.usage;
  }
  try {
    const command = await load();
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
