/** `stackpilot start` (`npm start`): runs the sandbox until Ctrl-C. */
import { ConfigError } from '#shared/config.ts';
import { DEFAULT_PORT, type Sandbox, startBanner, startSandbox } from '../server.ts';
import { type CliIo, CommandError, EXIT, parse, UsageError } from './common.ts';

export const START_USAGE = `usage: stackpilot start [--data DIR] [--reset] [--port N] [--time-scale N] [--config FILE]
  --data DIR        state folder (default .stackpilot); a restart keeps the state
  --reset           start over from an empty state folder
  --port N          port on 127.0.0.1 (default PORT or 4010; 0 picks a free one)
  --time-scale N    emulated time runs N times faster (default 60: a 5-minute cooldown takes 5 s)
  --config FILE     the configuration (default STACKPILOT_CONFIG or stackpilot.yml)`;

const options = {
  data: { type: 'string' },
  reset: { type: 'boolean' },
  port: { type: 'string' },
  'time-scale': { type: 'string' },
  config: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The Node.js major version the AWS SDK requires from its releases after the first week of January 2027. */
export const SDK_NODE_MAJOR = 22;

/**
 * One line, once per start, instead of the AWS SDK's multi-line warning on every process
 * (bin.mjs turns that off): stackpilot runs on this Node, but later SDK releases will not.
 */
export function nodeVersionNote(version: string): string | undefined {
  const major = Number(version.split('.')[0]);
  if (major >= SDK_NODE_MAJOR) return undefined;
  return `note: Node ${version} runs stackpilot today, but AWS SDK releases after the first week of January 2027 need Node ${SDK_NODE_MAJOR} or later (the functions already run on Lambda's nodejs22.x): upgrade Node to ${SDK_NODE_MAJOR} LTS`;
}

/** Starts the sandbox and resolves with the exit code once SIGINT or SIGTERM stopped it. */
export async function startCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv, options);
  if (values.help) {
    io.stdout.write(`${START_USAGE}\n`);
    return EXIT.ok;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port < 65536))
    throw new UsageError(`--port must be a port number, got ${values.port}`);
  const timeScale = values['time-scale'] === undefined ? undefined : Number(values['time-scale']);
  if (timeScale !== undefined && !(timeScale > 0))
    throw new UsageError(`--time-scale must be a positive number, got ${values['time-scale']}`);

  let sandbox: Sandbox;
  try {
    sandbox = await startSandbox({
      dataDir: values.data,
      reset: values.reset,
      port,
      timeScale,
      configPath: values.config,
      log: (line) => io.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`),
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new CommandError(
        `port ${port ?? process.env.PORT ?? DEFAULT_PORT} is in use (another sandbox?): stop it, or pick another with --port or PORT`,
      );
    }
    if (error instanceof ConfigError) throw new CommandError(error.message);
    throw error;
  }
  io.stdout.write(`${startBanner(sandbox)}\n`);
  const note = nodeVersionNote(process.versions.node);
  if (note) io.stdout.write(`${note}\n`);

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      // Ctrl-C reaches both a wrapper (npm, tsx) and this process: one stop is enough.
      if (stopping) return;
      stopping = true;
      io.stdout.write(`\n${signal}: stopping the sandbox\n`);
      sandbox.close().then(
        () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          io.stdout.write(`state saved in ${sandbox.dataDir}\n`);
          resolve(EXIT.ok);
        },
        (error: unknown) => {
          io.stderr.write(`stackpilot start: stopping failed: ${(error as Error).message}\n`);
          resolve(EXIT.failed);
        },
      );
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
