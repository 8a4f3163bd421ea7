import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { indexPack } from '../../../shared/source/index-pack.ts';
import { commitFiles, createRepo } from '../../integration/support/git-repo.ts';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'index-pack-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The single pack of a repository after `git repack -a -d` with `args`. */
async function repack(repo: string, args: string[]): Promise<string> {
  execFileSync('git', ['repack', '-a', '-d', '-q', ...args], { cwd: repo });
  const packDir = join(repo, '.git', 'objects', 'pack');
  const pack = (await readdir(packDir)).find((name) => name.endsWith('.pack'));
  if (!pack) throw new Error('no pack');
  return join(packDir, pack);
}

async function ourIndex(packPath: string, cacheBytes?: number): Promise<Buffer> {
  const file = await open(packPath, 'r');
  try {
    return await indexPack(file, (await stat(packPath)).size, cacheBytes);
  } finally {
    await file.close();
  }
}

describe('indexPack', () => {
  it('writes byte for byte the .idx git index-pack writes, for a pack full of delta chains', async () => {
    const repo = join(root, 'deltas');
    // Each version edits the previous one a little more, so git packs them as a chain of deltas.
    let lines = Array.from({ length: 300 }, (_, i) => `line ${i}: ${'y'.repeat(i % 40)}\n`);
    await createRepo(repo, { 'a.txt': lines.join(''), 'b.bin': Buffer.alloc(30_000, 7) });
    for (let version = 1; version <= 8; version++) {
      lines = lines.map((line, i) => (i % 37 === version ? `edited ${version}\n` : line));
      lines.push(`appended ${version}\n`);
      await commitFiles(repo, { 'a.txt': lines.join('') }, `v${version}`);
    }
    const packPath = await repack(repo, ['-f', '--depth=50', '--window=50']);
    // ofs-deltas (as a fetch asks for) and chains longer than one, so the base cache and re-reads both run.
    const verify = execFileSync('git', ['verify-pack', '-v', packPath.replace(/\.pack$/, '.idx')], {
      encoding: 'utf8',
    });
    expect(verify).toMatch(/chain length = [2-9]/);

    const expected = await readFile(packPath.replace(/\.pack$/, '.idx'));
    expect((await ourIndex(packPath)).equals(expected)).toBe(true);
    // Without a cache every base is read again from the file, down its whole chain.
    expect((await ourIndex(packPath, 0)).equals(expected)).toBe(true);
  });

  it('indexes a blob larger than its read window as a stream, also when a later delta uses it as its base', async () => {
    const repo = join(root, 'big');
    // 6 MB that do not compress (so the deflated object is larger than the 4 MiB window too).
    const big = Buffer.alloc(6 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 32) createHash('sha256').update(String(i)).digest().copy(big, i);
    await createRepo(repo, { 'big.bin': big, 'small.txt': 'small\n' });
    const edited = Buffer.from(big);
    edited.write('edited', 1000);
    await commitFiles(repo, { 'big.bin': edited }, 'edit the big file');
    const packPath = await repack(repo, ['-f', '--window=10']);
    const verify = execFileSync('git', ['verify-pack', '-v', packPath.replace(/\.pack$/, '.idx')], {
      encoding: 'utf8',
    });
    // One version of the big file is stored whole and the other as a delta against it.
    expect(verify).toMatch(/ blob +\d+ \d+ \d+ 1 [0-9a-f]{40}\n/);
    expect(verify).toMatch(/ blob +6291456 /);

    const expected = await readFile(packPath.replace(/\.pack$/, '.idx'));
    expect((await ourIndex(packPath)).equals(expected)).toBe(true);
  });

  it('indexes streamed blobs that end at a read boundary, inside the pack and as its last object', async () => {
    const repo = join(root, 'boundary');
    const random = (seed: string, size: number) => {
      const bytes = Buffer.alloc(size);
      for (let i = 0; i < size; i += 32)
        createHash('sha256')
          .update(seed + i)
          .digest()
          .copy(bytes, i);
      return bytes;
    };
    // Random bytes do not compress, so each blob's deflated data is longer than its 1 KiB threshold.
    const commit = await createRepo(repo, { 'a.bin': random('a', 3000), 'b.bin': random('b', 5000) });
    // The pack a fetch receives: commit, tree, then the blobs, so the last blob ends where the
    // pack's checksum starts (the case that failed for one big file after `git repack -a -d`).
    const pack = execFileSync('git', ['pack-objects', '--stdout', '--revs', '-q'], {
      cwd: repo,
      input: `${commit}\n`,
    });
    const packPath = join(root, 'boundary.pack');
    await writeFile(packPath, pack);
    execFileSync('git', ['index-pack', packPath], { cwd: repo });
    const expected = await readFile(packPath.replace(/\.pack$/, '.idx'));
    const verify = execFileSync('git', ['verify-pack', '-v', packPath], { encoding: 'utf8' }).split('\n');
    const last = verify.filter((line) => / blob /.test(line)).at(-1) ?? '';
    const [, , , inPack, at] = last.split(/ +/);
    expect(Number(at) + Number(inPack)).toBe(pack.length - 20);
    // The first blob's deflated data, without its header: a read of exactly this size ends
    // where its zlib stream does.
    const first = verify.find((line) => / blob /.test(line)) ?? '';
    const [, , , firstInPack, firstAt] = first.split(/ +/);
    let headerLength = 1;
    while (((pack[Number(firstAt) + headerLength - 1] as number) & 0x80) !== 0) headerLength++;
    const exact = Number(firstInPack) - headerLength;

    for (const streamReadBytes of [1, 7, 1024, exact, exact + 1, 1 << 20]) {
      const file = await open(packPath, 'r');
      try {
        const idx = await indexPack(file, pack.length, undefined, {
          streamAboveBytes: 1024,
          streamReadBytes,
        });
        expect(idx.equals(expected), `read size ${streamReadBytes}`).toBe(true);
      } finally {
        await file.close();
      }
    }
  });

  it('refuses data that is not a pack, and a pack cut short', async () => {
    const notPack = join(root, 'not-a-pack');
    await writeFile(notPack, Buffer.alloc(64, 1));
    await expect(ourIndex(notPack)).rejects.toThrow(/not a git pack/);

    const repo = join(root, 'cut');
    await createRepo(repo, { 'a.txt': 'a\n', 'b.txt': 'b\n' });
    const whole = await readFile(await repack(repo, []));
    const cut = join(root, 'cut.pack');
    // The header still announces every object; the last ones are missing.
    await writeFile(cut, Buffer.concat([whole.subarray(0, 40), whole.subarray(whole.length - 20)]));
    await expect(ourIndex(cut)).rejects.toThrow();
  });
});
