import { mkdir, mkdtemp, readdir, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { removeStaleWorkDirs } from '../../../shared/source/package-source.ts';

describe('removeStaleWorkDirs', () => {
  let parent: string;
  beforeEach(async () => {
    parent = await mkdtemp(join(tmpdir(), 'work-dirs-'));
  });
  afterEach(() => rm(parent, { recursive: true, force: true }));

  it('removes work folders older than a Lambda can run and keeps recent ones and other folders', async () => {
    const now = Date.now();
    const old = new Date(now - 60 * 60 * 1000);
    await mkdir(join(parent, 'stackpilot-source-old'));
    await utimes(join(parent, 'stackpilot-source-old'), old, old);
    await mkdir(join(parent, 'stackpilot-source-running'));
    await mkdir(join(parent, 'someone-else'));
    await utimes(join(parent, 'someone-else'), old, old);

    const removed = await removeStaleWorkDirs(parent, now);

    expect(removed).toEqual([join(parent, 'stackpilot-source-old')]);
    expect((await readdir(parent)).sort()).toEqual(['someone-else', 'stackpilot-source-running']);
  });

  it('does nothing when the parent folder does not exist', async () => {
    expect(await removeStaleWorkDirs(join(parent, 'missing'))).toEqual([]);
  });
});
