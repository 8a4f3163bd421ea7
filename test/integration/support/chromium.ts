/**
 * Headless Chromium driven over the DevTools protocol through a pipe (`--remote-debugging-pipe`:
 * the browser reads commands on its fd 3 and writes answers and events on its fd 4, each a JSON
 * message ended by a NUL byte), so no WebSocket client and no npm package are needed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';

/** Debian's `chromium` package. */
export const CHROMIUM = '/usr/bin/chromium';

interface Message {
  id?: number;
  method?: string;
  // biome-ignore lint/suspicious/noExplicitAny: DevTools protocol payloads of many shapes.
  params?: any;
  // biome-ignore lint/suspicious/noExplicitAny: DevTools protocol payloads of many shapes.
  result?: any;
  error?: { message: string };
  sessionId?: string;
}

/** A browser process and its DevTools protocol connection. */
export class Browser {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (m: Message) => void; reject: (e: Error) => void }>();
  private readonly listeners: ((message: Message) => void)[] = [];
  private stderr = '';

  private constructor(
    private readonly child: ChildProcess,
    private readonly input: Writable,
    output: Readable,
    private readonly profile: string,
  ) {
    let buffered = Buffer.alloc(0);
    output.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (let end = buffered.indexOf(0); end !== -1; end = buffered.indexOf(0)) {
        const message = JSON.parse(buffered.subarray(0, end).toString('utf8')) as Message;
        buffered = buffered.subarray(end + 1);
        this.dispatch(message);
      }
    });
    child.stderr?.on('data', (chunk) => {
      this.stderr = `${this.stderr}${chunk}`.slice(-4000);
    });
    child.once('exit', (code, signal) => {
      const error = new Error(`chromium exited (${code ?? signal}): ${this.stderr.trim().slice(-1000)}`);
      for (const { reject } of this.pending.values()) reject(error);
      this.pending.clear();
    });
  }

  /** Starts headless Chromium with a throwaway profile. */
  static launch(executable = CHROMIUM): Browser {
    const profile = mkdtempSync(join(tmpdir(), 'chromium-profile-'));
    const args = [
      '--headless',
      '--remote-debugging-pipe',
      `--user-data-dir=${profile}`,
      '--no-first-run',
      '--no-default-browser-check',
      '--disable-gpu',
      '--disable-extensions',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--mute-audio',
      // Chromium refuses to run its sandbox as root (containers, CI runners).
      ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
      'about:blank',
    ];
    const child = spawn(executable, args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
    return new Browser(child, child.stdio[3] as Writable, child.stdio[4] as Readable, profile);
  }

  /** Sends a command (to a page when `sessionId` is given) and resolves with its result. */
  // biome-ignore lint/suspicious/noExplicitAny: DevTools protocol results of many shapes.
  send(method: string, params: object = {}, sessionId?: string): Promise<any> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, {
        resolve: (message) =>
          message.error
            ? reject(new Error(`${method}: ${message.error.message}`))
            : resolve(message.result ?? {}),
        reject,
      });
      this.input.write(`${JSON.stringify({ id, method, params, sessionId })}\0`);
    });
  }

  /** Calls `listener` with every event the browser sends. */
  onEvent(listener: (message: Message) => void): void {
    this.listeners.push(listener);
  }

  /** Opens a new tab on `url`; resolves with its session id once the tab's load event fired. */
  async open(url: string): Promise<string> {
    const { targetId } = await this.send('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await this.send('Target.attachToTarget', { targetId, flatten: true });
    await this.send('Runtime.enable', {}, sessionId);
    await this.send('Log.enable', {}, sessionId);
    await this.send('Page.enable', {}, sessionId);
    const loaded = new Promise<void>((resolve) =>
      this.onEvent((m) => {
        if (m.sessionId === sessionId && m.method === 'Page.loadEventFired') resolve();
      }),
    );
    const { errorText } = await this.send('Page.navigate', { url }, sessionId);
    if (errorText) throw new Error(`opening ${url} failed: ${errorText}`);
    await loaded;
    return sessionId as string;
  }

  /** Evaluates `expression` in the page and resolves with its value (JSON). */
  async evaluate<T>(sessionId: string, expression: string): Promise<T> {
    const { result, exceptionDetails } = await this.send(
      'Runtime.evaluate',
      { expression, returnByValue: true, awaitPromise: true },
      sessionId,
    );
    if (exceptionDetails) {
      throw new Error(`the page threw: ${exceptionDetails.exception?.description ?? exceptionDetails.text}`);
    }
    return result.value as T;
  }

  /** Stops the browser and removes its profile. */
  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.send('Browser.close').catch(() => undefined);
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.profile, { recursive: true, force: true });
  }

  private dispatch(message: Message): void {
    if (message.id !== undefined) {
      this.pending.get(message.id)?.resolve(message);
      this.pending.delete(message.id);
      return;
    }
    for (const listener of this.listeners) listener(message);
  }
}
