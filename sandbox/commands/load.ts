/** `stackpilot load <app> <stage> --cpu <percent>`: sets the emulated CPU load of a stage's service. */
import {
  api,
  type CliIo,
  CommandError,
  EXIT,
  parse,
  SANDBOX_FLAGS,
  sandboxUrl,
  UsageError,
} from './common.ts';

export const LOAD_USAGE = `usage: stackpilot load <app> <stage> --cpu <percent> [--url URL | --data DIR]
  drives the CPU metric of the stage's service (0-100); the stage alarms follow it`;

const options = { ...SANDBOX_FLAGS, cpu: { type: 'string' } } as const;

export async function loadCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv, options);
  if (values.help) {
    io.stdout.write(`${LOAD_USAGE}\n`);
    return EXIT.ok;
  }
  const [app, stage, extra] = positionals;
  if (!app || !stage)
    throw new UsageError('load needs <app> <stage>, e.g. stackpilot load starter dev --cpu 95');
  if (extra) throw new UsageError(`unexpected argument ${extra}`);
  if (values.cpu === undefined) throw new UsageError('load needs --cpu <percent>');
  const cpu = Number(values.cpu);
  if (!(Number.isFinite(cpu) && cpu >= 0 && cpu <= 100))
    throw new UsageError(`--cpu must be a percentage from 0 to 100, got ${values.cpu}`);
  const { status, body } = await api<{ message?: string }>(sandboxUrl(values), '/load', {
    method: 'POST',
    body: { app, stage, cpu },
  });
  if (status !== 200) throw new CommandError(body.message ?? `the sandbox answered ${status}`);
  io.stdout.write(`${app}/${stage}: service CPU now ${cpu}%; watch it with \`stackpilot status\`\n`);
  return EXIT.ok;
}
