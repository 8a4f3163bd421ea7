/**
 * The run's summary: every command the production clients sent to moto (with how often moto
 * accepted it or answered with an AWS error the adapter handles), and every command moto could
 * not check, with the reason. A command of the inventory that was neither checked nor listed
 * as moto's gap is an error: nothing goes unchecked silently.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FileRecord } from './connect.ts';
import { INVENTORY, inventoryKey } from './inventory.ts';

export interface Summary {
  readonly text: string;
  /** Inventory commands neither checked nor explained. */
  readonly unchecked: readonly string[];
  readonly checkedCount: number;
}

interface Tally {
  accepted: number;
  awsErrors: Map<string, number>;
  serverErrors: number;
}

export function readRecords(dir: string): FileRecord[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as FileRecord);
}

/** `complete`: every file of the suite ran, so a command nobody sent is reported missing. */
export function summarize(records: readonly FileRecord[], complete: boolean): Summary {
  const tallies = new Map<string, Tally>();
  const gaps = new Map<string, Set<string>>();
  for (const record of records) {
    for (const call of record.calls) {
      const key = inventoryKey(call);
      const tally = tallies.get(key) ?? { accepted: 0, awsErrors: new Map(), serverErrors: 0 };
      const status = call.status ?? 0;
      if (status >= 200 && status < 300 && !call.error) tally.accepted++;
      else if (status >= 400 && status < 500 && call.error)
        tally.awsErrors.set(call.error, (tally.awsErrors.get(call.error) ?? 0) + 1);
      else tally.serverErrors++;
      tallies.set(key, tally);
    }
    for (const gap of record.gaps) {
      const key = inventoryKey(gap);
      gaps.set(key, (gaps.get(key) ?? new Set()).add(gap.reason));
    }
  }
  const checked = [...tallies].filter(([, t]) => t.accepted > 0 || t.awsErrors.size > 0);
  const lines = [
    '',
    `AWS conformance (moto): ${checked.length} distinct AWS calls of the production adapters checked`,
  ];
  for (const [key, t] of checked.sort(([a], [b]) => a.localeCompare(b))) {
    const errors = [...t.awsErrors].map(([name, n]) => `${name} x${n}`).join(', ');
    lines.push(`  ok    ${key.padEnd(48)} accepted x${t.accepted}${errors ? `; answered ${errors}` : ''}`);
  }
  lines.push(`Not checkable on moto (${gaps.size}):`);
  for (const [key, reasons] of [...gaps].sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`  gap   ${key.padEnd(48)} ${[...reasons].join('; ')}`);
  }
  const checkedKeys = new Set(checked.map(([key]) => key));
  const unchecked = complete
    ? INVENTORY.map(inventoryKey).filter((key) => !checkedKeys.has(key) && !gaps.has(key))
    : [];
  for (const key of unchecked)
    lines.push(`  MISSING ${key}: sent by production code, neither checked nor explained`);
  return { text: lines.join('\n'), unchecked, checkedCount: checked.length };
}
