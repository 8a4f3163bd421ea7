/**
 * How a running execution shows while it is followed (`watch`, and `deploy`, `rollback`,
 * `redeploy`, `run` until their execution ends): on a terminal one block redrawn in place
 * (status, elapsed time, each step with its result and duration); in a pipe one line per
 * state as it happens, so a log file reads as the story of the execution.
 */
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { shortCause } from '../location.ts';
import type { HistoryEntry } from '../runner.ts';
import { duration } from './common.ts';

export interface Step {
  readonly state: string;
  status: 'running' | 'succeeded' | 'failed' | 'caught';
  readonly enteredAt: string;
  exitedAt?: string;
  retries: number;
  /** `Error: cause` of a failure. */
  detail?: string;
}

/** What the view shows of an execution. */
export interface ExecutionView {
  readonly title: string;
  readonly status: string;
  readonly startDate: string;
  readonly stopDate?: string;
  readonly steps: Step[];
}

/** The steps of a sandbox execution's history. */
export function stepsOfSandbox(history: HistoryEntry[]): Step[] {
  const steps: Step[] = [];
  const current = (state: string | undefined) => steps.findLast((s) => s.state === state);
  for (const entry of history) {
    if (entry.type === 'StateEntered' && entry.state)
      steps.push({ state: entry.state, status: 'running', enteredAt: entry.timestamp, retries: 0 });
    const step = current(entry.state);
    if (!step) continue;
    if (entry.type === 'StateExited') {
      if (step.status === 'running') step.status = 'succeeded';
      step.exitedAt = entry.timestamp;
    } else if (entry.type === 'StateFailed') {
      step.status = 'failed';
      step.exitedAt = entry.timestamp;
      step.detail = `${entry.error ?? 'Error'}: ${shortCause(entry.cause)}`;
    } else if (entry.type === 'StateRetried') {
      step.retries += 1;
      step.status = 'running';
    } else if (entry.type === 'StateCaught') {
      step.status = 'caught';
    }
  }
  return steps;
}

/** The steps of a Step Functions execution history (`GetExecutionHistory` events, oldest first). */
export function stepsOfAws(events: HistoryEvent[]): Step[] {
  const steps: Step[] = [];
  for (const event of events) {
    const at = (event.timestamp ?? new Date(0)).toISOString();
    const entered = event.stateEnteredEventDetails?.name;
    if (entered) {
      steps.push({ state: entered, status: 'running', enteredAt: at, retries: 0 });
      continue;
    }
    const step = steps.at(-1);
    if (!step) continue;
    const exited = event.stateExitedEventDetails?.name;
    if (exited && exited === step.state) {
      if (step.status === 'running') step.status = 'succeeded';
      step.exitedAt = at;
      continue;
    }
    const failure =
      event.taskFailedEventDetails ??
      event.lambdaFunctionFailedEventDetails ??
      event.executionFailedEventDetails ??
      event.taskTimedOutEventDetails;
    if (failure) {
      step.status = 'failed';
      step.exitedAt = at;
      step.detail = `${failure.error ?? 'Error'}: ${shortCause(failure.cause)}`;
    }
  }
  return steps;
}

const MARK = { running: '…', succeeded: '✓', failed: '✗', caught: '↪' } as const;

/** The block a terminal shows (no trailing newline). */
export function renderBlock(view: ExecutionView, now = new Date().toISOString()): string {
  const end = view.stopDate ?? now;
  const lines = [`${view.title}  ${view.status}  ${duration(view.startDate, end)}`];
  const width = Math.max(0, ...view.steps.map((s) => s.state.length));
  for (const step of view.steps) {
    const took = duration(
      step.enteredAt,
      step.exitedAt ?? (step.status === 'running' ? end : step.enteredAt),
    );
    const retries = step.retries > 0 ? `  (${step.retries} ${step.retries === 1 ? 'retry' : 'retries'})` : '';
    const detail = step.detail ? `  ${step.detail.slice(0, 100)}` : '';
    lines.push(`  ${MARK[step.status]} ${step.state.padEnd(width)}  ${took.padStart(6)}${retries}${detail}`);
  }
  return lines.join('\n');
}

/** Writes the view of an execution as it changes: a redrawn block on a terminal, new lines in a pipe. */
export class ProgressWriter {
  private drawnLines = 0;
  private printedStates = 0;
  private printedEvents = new Set<string>();

  constructor(
    private readonly out: { write(text: string): unknown },
    private readonly tty: boolean,
  ) {}

  update(view: ExecutionView): void {
    if (this.tty) {
      const block = renderBlock(view);
      // Back to the start of the previous block, clear it, draw the new one.
      const up = this.drawnLines > 0 ? `\x1b[${this.drawnLines}F\x1b[0J` : '';
      this.out.write(`${up}${block}\n`);
      this.drawnLines = block.split('\n').length;
      return;
    }
    view.steps.forEach((step, i) => {
      if (i >= this.printedStates) this.out.write(`  -> ${step.state}\n`);
      const key = `${i}:${step.status}:${step.retries}`;
      if (this.printedEvents.has(key)) return;
      this.printedEvents.add(key);
      if (step.retries > 0 && step.status === 'running')
        this.out.write(`     ${step.state} retried (attempt ${step.retries})\n`);
      if (step.status === 'failed') this.out.write(`     ${step.state} failed: ${step.detail ?? ''}\n`);
      if (step.status === 'caught') this.out.write(`     ${step.state}: error caught\n`);
    });
    this.printedStates = view.steps.length;
  }
}

/** True when `out` is a terminal that takes cursor movements. */
export function isTty(out: unknown): boolean {
  return Boolean((out as { isTTY?: boolean }).isTTY) && process.env.TERM !== 'dumb';
}
