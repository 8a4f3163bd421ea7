/**
 * What the suite injected and how the executions ended, for the closing summary line:
 * `faults: N injected, N survived, executions lost: 0`. An execution is lost when it
 * neither succeeded nor failed cleanly: the runner threw, it hung or ran away, or it failed
 * with `States.Runtime`.
 */
import { KNOWN_FINDINGS, type KnownFinding } from './findings.ts';
import type { Outcome } from './run.ts';

export class Ledger {
  /** Faults that reached the system: AWS calls made to fail (scenarios whose fault fired) and bad inputs. */
  injected = 0;
  /** Of those, the ones the system came through as it should. */
  survived = 0;
  executions = 0;
  readonly lost: string[] = [];
  readonly breakdown = new Map<string, { injected: number; survived: number }>();
  /** Known findings met, with how many scenarios showed each. */
  readonly known = new Map<KnownFinding, number>();

  /** Records one execution and, when it carried a fault, whether the system survived it. */
  record(
    kind: string,
    label: string,
    outcome: Outcome,
    fault: { injected: boolean; survived: boolean; known?: readonly KnownFinding[] },
  ): void {
    this.executions += 1;
    if (outcome.lost) this.lost.push(`${label}: ${outcome.lost}`);
    for (const finding of new Set(fault.known ?? []))
      this.known.set(finding, (this.known.get(finding) ?? 0) + 1);
    if (!fault.injected) return;
    this.injected += 1;
    const entry = this.breakdown.get(kind) ?? { injected: 0, survived: 0 };
    entry.injected += 1;
    if (fault.survived) {
      this.survived += 1;
      entry.survived += 1;
    }
    this.breakdown.set(kind, entry);
  }

  summary(): string {
    return `faults: ${this.injected} injected, ${this.survived} survived, executions lost: ${this.lost.length}`;
  }

  details(): string {
    const parts = [...this.breakdown].map(([kind, e]) => `${kind} ${e.survived}/${e.injected}`);
    return `(${this.executions} executions; ${parts.join(', ')})`;
  }

  /**
   * The known findings met (open) and, after a complete run (`planned` faults all injected),
   * those that matched nothing: fixed, to be removed from `findings.ts`.
   */
  findings(planned: number): string[] {
    const lines = [...this.known].map(([f, n]) => `  open finding (${n} scenarios): ${f.note}`);
    if (this.injected < planned) return lines;
    for (const f of KNOWN_FINDINGS)
      if (!this.known.has(f)) lines.push(`  no longer seen, remove from findings.ts: ${f.note}`);
    return lines;
  }
}
