/**
 * moto_server (Python moto, an AWS implementation this project does not own) as a child
 * process on a free loopback port: started, awaited until `GET /moto-api/` answers, and
 * stopped by its pid, on success and on failure alike.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';

/** The moto release the suite is checked with; other 5.x releases may differ in what they implement. */
export const MOTO_VERSION = '5.2.1';
export const INSTALL_HINT = `pip install "moto[server]==${MOTO_VERSION}"`;

/** How long moto may take to answer after it was started (it imports every service lazily). */
const START_TIMEOUT_MS = 60_000;

export interface MotoServer {
  readonly endpoint: string;
  readonly pid: number;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s); resolves once it has exited. */
  stop(): Promise<void>;
}

/** moto_server is not installed (not on the PATH). */
export class MotoNotInstalled extends Error {
  override readonly name = 'MotoNotInstalled';
}

/** A TCP port nobody listens on now (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Starts moto_server on 127.0.0.1 with `env` added to this process's environment (moto reads
 * settings such as `MOTO_ECS_SERVICE_RUNNING` from it). Fails with moto's own output when it
 * exits or does not answer in time; the process is stopped before the error is thrown.
 */
export async function startMoto(env: Readonly<Record<string, string>> = {}): Promise<MotoServer> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let spawnError: Error | undefined;
  child.once('error', (error) => {
    spawnError = error;
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    // Only the start of its output matters (why it failed to start); the request log is dropped.
    if (output.length < 8_000) output += chunk.toString();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const pid = child.pid;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited(child);
    clearTimeout(timer);
  };
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (spawnError) {
      throw (spawnError as NodeJS.ErrnoException).code === 'ENOENT'
        ? new MotoNotInstalled(`moto_server is not installed (${INSTALL_HINT})`)
        : spawnError;
    }
    if (child.exitCode !== null) {
      throw new Error(`moto_server exited with code ${child.exitCode} before answering:\n${output}`);
    }
    try {
      const response = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(2_000) });
      if (response.ok && pid !== undefined) return { endpoint, pid, stop };
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await stop();
  throw new Error(
    `moto_server did not answer on ${endpoint} within ${START_TIMEOUT_MS / 1000} s:\n${output}`,
  );
}

/** Forgets every resource of every account (moto's reset), so the next test file starts empty. */
export async function resetMoto(endpoint: string): Promise<void> {
  const response = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
  if (!response.ok) throw new Error(`moto reset answered HTTP ${response.status}`);
}

/** The version moto_server reports (`GET /moto-api/data.json` has none; the CLI does). */
export function motoVersion(): string | undefined {
  const out = spawnSync('python3', ['-c', 'import moto; print(moto.__version__)'], { encoding: 'utf8' });
  return out.status === 0 ? out.stdout.trim() : undefined;
}
