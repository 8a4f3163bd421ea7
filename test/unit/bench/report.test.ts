import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeResults } from '../../../bench/report.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const rowsOf = (path: string) =>
  (
    JSON.parse(readFileSync(path, 'utf8')).rows as {
      name: string;
      section: string;
      ours: number;
      ratio?: number;
    }[]
  ).map(({ name, section, ours, ratio }) => ({ name, section, ours, ratio }));

describe('writeResults', () => {
  it('replaces the rows of the sections run now and keeps the others from their last run', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stackpilot-bench-'));
    dirs.push(dir);
    const file = join(dir, 'latest.json');
    writeResults(
      file,
      new Map([
        ['cli', [{ name: 'status', unit: 'ms', ours: 200, reference: 100 }]],
        ['scaling', [{ name: 'overload', unit: 'min', ours: 208 }]],
      ]),
    );
    writeResults(
      file,
      new Map([['cli', [{ name: 'status (new name)', unit: 'ms', ours: 150, reference: 100 }]]]),
    );
    expect(rowsOf(file)).toEqual([
      { name: 'overload', section: 'scaling', ours: 208, ratio: undefined },
      { name: 'status (new name)', section: 'cli', ours: 150, ratio: 1.5 },
    ]);
  });
});
