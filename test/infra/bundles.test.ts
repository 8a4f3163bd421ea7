import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bundle, functionEntry, functionFolders } from '../../bench/bundles.ts';

const work = mkdtempSync(join(tmpdir(), 'stackpilot-bundle-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('function bundles (the esbuild settings of StackpilotFunction)', () => {
  it('finds the functions', () => {
    expect(functionFolders()).toContain('webhook');
  });

  it.each(functionFolders())('bundles %s into an ESM file under 2 MB', async (folder) => {
    const built = await bundle(functionEntry(folder), join(work, folder));
    expect(built.bytes).toBeGreaterThan(0);
    expect(built.bytes).toBeLessThan(2 * 1024 * 1024);
  });
});
