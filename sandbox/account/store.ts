/**
 * The emulated account's state on disk: one JSON file per service, written atomically
 * (a temporary file renamed over the old one), so a crash never leaves half a file and a
 * restart finds the account as it was.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** A JSON document kept at `path`; `value` is mutated in place and written by `save()`. */
export class JsonFile<T> {
  value: T;

  constructor(
    readonly path: string,
    initial: () => T,
  ) {
    this.value = JsonFile.read<T>(path) ?? initial();
  }

  private static read<T>(path: string): T | undefined {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      throw new Error(
        `the sandbox state file ${path} is not valid JSON (${(error as Error).message}); remove it or start with --reset`,
      );
    }
  }

  save(): void {
    writeFileAtomic(this.path, `${JSON.stringify(this.value, null, 1)}\n`);
  }
}

let counter = 0;

/** Writes a file atomically: a temporary sibling, then a rename over the target. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  counter += 1;
  const temporary = join(dirname(path), `.${process.pid}.${counter}.tmp`);
  writeFileSync(temporary, data);
  renameSync(temporary, path);
}
