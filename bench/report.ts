/** Rows of `npm run bench` and how they are printed and saved. */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { arch, cpus, totalmem } from 'node:os';
import { dirname } from 'node:path';

export interface BenchRow {
  readonly name: string;
  readonly unit: string;
  /** Our figure. */
  readonly ours: number;
  /** The reference figure, measured in the same run (absent where there is none). */
  readonly reference?: number;
  /** Peak resident set size of ours, in MB, where it applies. */
  readonly peakRssMb?: number;
  /** The target, in words (`ratio <= 2`, `< 300 KB`). */
  readonly target?: string;
  /** Whether the target is met; undefined where there is no target. */
  readonly met?: boolean;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

const fmt = (n: number | undefined, digits = 1) => (n === undefined ? '' : n.toFixed(digits));

export function ratioOf(row: BenchRow): number | undefined {
  return row.reference ? row.ours / row.reference : undefined;
}

/** The markdown table printed at the end of the run. */
export function toMarkdown(rows: readonly BenchRow[]): string {
  const lines = [
    '| benchmark | ours | reference | ratio | peak RSS (MB) | target | met |',
    '| --- | ---: | ---: | ---: | ---: | --- | --- |',
  ];
  for (const row of rows) {
    const met = row.met === undefined ? '' : row.met ? 'yes' : '**no**';
    lines.push(
      `| ${row.name} | ${fmt(row.ours)} ${row.unit} | ${row.reference === undefined ? '' : `${fmt(row.reference)} ${row.unit}`} | ${fmt(ratioOf(row), 2)} | ${fmt(row.peakRssMb, 0)} | ${row.target ?? ''} | ${met} |`,
    );
  }
  return lines.join('\n');
}

/** The machine the figures were measured on, recorded with them. */
export function machine() {
  const cpu = cpus();
  return {
    node: process.version,
    arch: arch(),
    cpus: cpu.length,
    cpuModel: cpu[0]?.model ?? 'unknown',
    memoryGb: Math.round(totalmem() / 2 ** 30),
  };
}

/** A row as saved: with its ratio and the section that measured it. */
export interface SavedRow extends BenchRow {
  readonly section: string;
  readonly ratio?: number;
}

/**
 * Writes the rows of the sections just run into `path`, keeping the rows that other sections
 * measured in an earlier run (each with the date it was measured), so that running one section
 * refreshes its rows without dropping the others.
 */
export function writeResults(path: string, sections: ReadonlyMap<string, readonly BenchRow[]>): void {
  mkdirSync(dirname(path), { recursive: true });
  const date = new Date().toISOString();
  const earlier: (SavedRow & { date?: string })[] = existsSync(path)
    ? (JSON.parse(readFileSync(path, 'utf8')).rows ?? [])
    : [];
  const kept = earlier.filter((r) => r.section !== undefined && !sections.has(r.section));
  const fresh = [...sections].flatMap(([section, rows]) =>
    rows.map((r) => ({ ...r, ratio: ratioOf(r), section, date })),
  );
  const results = { date, machine: machine(), rows: [...kept, ...fresh] };
  writeFileSync(path, `${JSON.stringify(results, null, 2)}\n`);
}
