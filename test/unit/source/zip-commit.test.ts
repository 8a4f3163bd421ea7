import { once } from 'node:events';
import * as fs from 'node:fs';
import { mkdtemp, readdir, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import git from 'isomorphic-git';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { NO_CONVERSION } from '../../../shared/source/checkout-conversion.ts';
import { ObjectStore } from '../../../shared/source/object-store.ts';
import type { TreeEntry } from '../../../shared/source/zip-commit.ts';
import { prepareAhead, walkCommitTree, zipCommit } from '../../../shared/source/zip-commit.ts';

interface ZipEntry {
  name: string;
  method: number;
  unixMode: number;
  size: number;
}

/** Reads a zip's central directory: entry names, compression methods, unix modes, sizes. */
function centralDirectory(zip: Buffer): ZipEntry[] {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = zip.readUInt16LE(end + 10);
  let pos = zip.readUInt32LE(end + 16);
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    const nameLength = zip.readUInt16LE(pos + 28);
    const extraLength = zip.readUInt16LE(pos + 30);
    const commentLength = zip.readUInt16LE(pos + 32);
    entries.push({
      method: zip.readUInt16LE(pos + 10),
      size: zip.readUInt32LE(pos + 24),
      unixMode: zip.readUInt32LE(pos + 38) >>> 16,
      name: zip.toString('utf8', pos + 46, pos + 46 + nameLength),
    });
    pos += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

let dir: string;
let commit: string;
const random = Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 2654435761) >>> 24));

/** A repository written with isomorphic-git (loose objects, no git binary): one commit. */
async function createRepository(): Promise<string> {
  const blob = (content: string | Buffer) =>
    git.writeBlob({ fs, dir, blob: typeof content === 'string' ? Buffer.from(content) : content });
  await git.init({ fs, dir, defaultBranch: 'main' });
  const nested = await git.writeTree({
    fs,
    dir,
    tree: [{ mode: '100644', path: 'café.md', oid: await blob('# café\n'), type: 'blob' }],
  });
  const tree = await git.writeTree({
    fs,
    dir,
    tree: [
      { mode: '100755', path: 'build.sh', oid: await blob('#!/bin/sh\necho hi\n'), type: 'blob' },
      { mode: '040000', path: 'docs', oid: nested, type: 'tree' },
      { mode: '100644', path: 'logo.png', oid: await blob(random), type: 'blob' },
      { mode: '120000', path: 'readme', oid: await blob('docs/café.md'), type: 'blob' },
      { mode: '100644', path: 'src.ts', oid: await blob('export const a = 1;\n'.repeat(100)), type: 'blob' },
    ],
  });
  const author = { name: 'Test', email: 't@example.com', timestamp: 1767225600, timezoneOffset: 0 };
  const oid = await git.writeCommit({
    fs,
    dir,
    commit: { tree, parent: [], author, committer: author, message: 'initial\n' },
  });
  await git.writeRef({ fs, dir, ref: 'refs/heads/main', value: oid, force: true });
  return oid;
}

async function zipToBuffer(options: { signal?: AbortSignal } = {}): Promise<Buffer> {
  const output = new PassThrough();
  const chunks: Buffer[] = [];
  output.on('data', (chunk: Buffer) => chunks.push(chunk));
  // zipCommit resolves once the output has all the bytes; reading them all takes until 'end'.
  const ended = once(output, 'end');
  ended.catch(() => undefined);
  await zipCommit({ dir, commit, output, signal: options.signal });
  await ended;
  return Buffer.concat(chunks);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zip-commit-'));
  commit = await createRepository();
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('walkCommitTree', () => {
  it('lists the files of every folder, depth first in git order', async () => {
    const store = await ObjectStore.open(join(dir, '.git'));
    const paths: string[] = [];
    for await (const entry of walkCommitTree(store, commit))
      paths.push(`${entry.mode.toString(8)} ${entry.path.toString('utf8')}`);
    await store.close();
    expect(paths).toEqual([
      '100755 build.sh',
      '100644 docs/café.md',
      '100644 logo.png',
      '120000 readme',
      '100644 src.ts',
    ]);
  });
});

describe('ObjectStore', () => {
  it('knows each object size before reading it (loose objects)', async () => {
    const store = await ObjectStore.open(join(dir, '.git'));
    for await (const entry of walkCommitTree(store, commit)) {
      expect(await store.size(entry.oid)).toBe((await store.read(entry.oid)).data.length);
    }
    await store.close();
  });
});

describe('zipCommit', () => {
  it('writes the tree with unix modes, symlinks and .git, storing incompressible files', async () => {
    const entries = centralDirectory(await zipToBuffer());
    const byName = new Map(entries.map((e) => [e.name, e]));
    expect(entries.filter((e) => !e.name.startsWith('.git/')).map((e) => e.name)).toEqual([
      'build.sh',
      'docs/café.md',
      'logo.png',
      'readme',
      'src.ts',
    ]);
    expect(byName.get('build.sh')?.unixMode).toBe(0o100755);
    expect(byName.get('src.ts')?.unixMode).toBe(0o100644);
    expect(byName.get('readme')?.unixMode).toBe(0o120777);
    expect(byName.get('logo.png')?.method).toBe(0);
    expect(byName.get('src.ts')?.method).toBe(8);
    expect(byName.has('.git/HEAD')).toBe(true);
    expect(byName.has('.git/config')).toBe(true);
    expect(entries.some((e) => e.name.startsWith('.git/objects/'))).toBe(true);
  });

  it('produces the same bytes for the same commit, whatever the clock and the file times', async () => {
    // Two runs a second apart could pass or fail by chance if the zip read the clock or the
    // files' mtimes; here the clock and every .git file's mtime differ by years between the runs.
    const touch = async (seconds: number) => {
      for (const entry of await readdir(join(dir, '.git'), { recursive: true, withFileTypes: true }))
        if (entry.isFile()) await utimes(join(entry.parentPath, entry.name), seconds, seconds);
    };
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(new Date('2001-02-03T04:05:06Z'));
      await touch(981_173_106);
      const first = await zipToBuffer();
      vi.setSystemTime(new Date('2031-12-31T23:59:59Z'));
      await touch(1_956_527_999);
      const second = await zipToBuffer();
      expect(second.equals(first)).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it('stops with the abort reason when the upload side gives up', async () => {
    const controller = new AbortController();
    const reason = new Error('upload failed');
    controller.abort(reason);
    await expect(zipToBuffer({ signal: controller.signal })).rejects.toBe(reason);
  });

  it('fails, and fails its output, when the commit is not in the repository', async () => {
    const output = new PassThrough();
    output.on('error', () => undefined);
    await expect(zipCommit({ dir, commit: 'ee'.repeat(20), output })).rejects.toThrow(
      /not in the repository/,
    );
    // The consumer (the upload) sees the failure instead of waiting for more bytes forever.
    expect(output.destroyed).toBe(true);
    expect(output.errored?.message).toMatch(/not in the repository/);
  });
});

describe('prepareAhead', () => {
  const entries = (sizes: number[]) =>
    (async function* () {
      for (const [i] of sizes.entries())
        yield { path: Buffer.from(`f${i}`), mode: 0o100644, oid: `${i}`, conversion: NO_CONVERSION };
    })();

  /** Prepares entries in reverse order of start, recording what was in flight. */
  function slowPrepare(sizes: number[]) {
    let inFlight = 0;
    const peak = { count: 0 };
    const prepare = async (entry: TreeEntry) => {
      inFlight++;
      peak.count = Math.max(peak.count, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 10 - (Number(entry.oid) % 10)));
      inFlight--;
      const raw = Buffer.alloc(sizes[Number(entry.oid)] as number);
      return { kind: 'entry' as const, entry, raw, data: raw, method: 0 };
    };
    return { peak, prepare };
  }

  it('keeps the order of the tree and prepares at most `window` entries ahead', async () => {
    const sizes = Array.from({ length: 30 }, (_, i) => i + 1);
    const { peak, prepare } = slowPrepare(sizes);
    const seen: string[] = [];
    for await (const item of prepareAhead(entries(sizes), prepare, 4, 1e9)) seen.push(item.entry.oid);
    expect(seen).toEqual(sizes.map((_, i) => `${i}`));
    expect(peak.count).toBeLessThanOrEqual(4);
  });

  it('stops reading ahead while the prepared bytes exceed the budget', async () => {
    const sizes = [10, 600, 700, 10, 10, 900, 10];
    const { peak, prepare } = slowPrepare(sizes);
    for await (const _ of prepareAhead(entries(sizes), prepare, 8, 500)) {
      // consume
    }
    expect(peak.count).toBeLessThan(8);
  });
});
