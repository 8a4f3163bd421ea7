/**
 * The arithmetic of the workflow-cost benchmark: what one execution's history bills
 * (state transitions, Lambda requests, Lambda GB-seconds), what the same flow would bill
 * if it polled at a fixed interval, and the price of both at the list prices of
 * `bench/prices.json`. Pure: histories and tables in, numbers out.
 */
import { readFileSync } from 'node:fs';
import * as z from 'zod';

const pricesSchema = z.object({
  date: z.iso.date(),
  region: z.string().min(1),
  currency: z.literal('USD'),
  source: z.string().min(1),
  stepFunctions: z.object({
    workflowType: z.literal('STANDARD'),
    perThousandStateTransitions: z.number().positive(),
  }),
  lambda: z.object({
    architecture: z.literal('arm64'),
    perMillionRequests: z.number().positive(),
    perGbSecond: z.number().positive(),
  }),
});

/** The dated list prices the benchmark prices executions with. */
export type WorkflowPrices = z.output<typeof pricesSchema>;

/** Reads and checks `bench/prices.json` (or another table of the same shape). */
export function loadPrices(path: string | URL = new URL('./prices.json', import.meta.url)): WorkflowPrices {
  return pricesSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
}

/** The part of a history event this module reads (aws-local-stepfunctions' event logs). */
export interface HistoryEvent {
  readonly type: string;
  readonly state?: { readonly name: string; readonly type: string };
}

/** What one execution bills, before prices. */
export interface ExecutionCount {
  /** Billed state transitions: each state entered, and each retry of a state. */
  readonly transitions: number;
  /** Lambda invocations: each Task state entered, and each retry of one. */
  readonly invocations: number;
  /** Lambda invocations by function (the folder under `functions/`). */
  readonly invocationsByFunction: Readonly<Record<string, number>>;
}

/**
 * Counts what an execution bills from its history. Step Functions bills a Standard
 * workflow per state transition, retries included; every attempt of a Task state is one
 * Lambda invocation. `functionOf` names the function a Task state invokes.
 */
export function countExecution(
  events: readonly HistoryEvent[],
  functionOf: (taskState: string) => string | undefined,
): ExecutionCount {
  let transitions = 0;
  let invocations = 0;
  const invocationsByFunction: Record<string, number> = {};
  for (const event of events) {
    if (event.type !== 'StateEntered' && event.type !== 'StateRetried') continue;
    transitions++;
    if (event.state?.type !== 'Task') continue;
    const fn = functionOf(event.state.name);
    if (!fn) throw new Error(`Task state "${event.state.name}" invokes no known function`);
    invocations++;
    invocationsByFunction[fn] = (invocationsByFunction[fn] ?? 0) + 1;
  }
  return { transitions, invocations, invocationsByFunction };
}

/** The waiting loop of an execution: how many times it waited, and when what it waited for was done. */
export interface PollLoop {
  /** Wait states entered in the loop. */
  readonly waits: number;
  /** Seconds from the start of the loop until the awaited thing (rollout, pipeline) was done. */
  readonly doneAfterSeconds: number;
  /** States entered per turn of the loop (Wait, Check, Choice). */
  readonly statesPerTurn: number;
}

/** The poll interval of the reference: a fixed 15-second poll, the simple way to write the loop. */
export const REFERENCE_POLL_SECONDS = 15;

/**
 * The same execution if its loop polled every `intervalSeconds` instead of backing off:
 * it turns `ceil(done / interval)` times (the turn that sees it done included) instead of
 * `waits`, each turn one Lambda invocation and `statesPerTurn` transitions.
 */
export function fixedPollCount(
  count: ExecutionCount,
  loop: PollLoop,
  checkFunction: string,
  intervalSeconds = REFERENCE_POLL_SECONDS,
): ExecutionCount {
  if (!(intervalSeconds > 0)) throw new Error(`poll interval must be positive, got ${intervalSeconds}`);
  const turns = Math.ceil(loop.doneAfterSeconds / intervalSeconds);
  const extra = turns - loop.waits;
  return {
    transitions: count.transitions + extra * loop.statesPerTurn,
    invocations: count.invocations + extra,
    invocationsByFunction: {
      ...count.invocationsByFunction,
      [checkFunction]: (count.invocationsByFunction[checkFunction] ?? 0) + extra,
    },
  };
}

/** Adds counts (a deploy is its deploy execution plus its release execution). */
export function addCounts(...counts: readonly ExecutionCount[]): ExecutionCount {
  const invocationsByFunction: Record<string, number> = {};
  for (const c of counts) {
    for (const [fn, n] of Object.entries(c.invocationsByFunction)) {
      invocationsByFunction[fn] = (invocationsByFunction[fn] ?? 0) + n;
    }
  }
  return {
    transitions: counts.reduce((sum, c) => sum + c.transitions, 0),
    invocations: counts.reduce((sum, c) => sum + c.invocations, 0),
    invocationsByFunction,
  };
}

/**
 * Billed duration of one invocation, in milliseconds, by function; `default` for the rest.
 * Stated, not measured on AWS: a step function makes one or two AWS API calls from inside
 * the region (tens of milliseconds each) on a warm runtime; Package Source clones, zips and
 * uploads a small repository on one vCPU (the source-packaging section measures that path).
 */
export const ASSUMED_BILLED_MS: Readonly<Record<string, number>> = {
  default: 150,
  'package-source': 4000,
};

/** Lambda GB-seconds of the invocations: memory (MB / 1024) times billed duration, per invocation. */
export function gbSeconds(
  invocationsByFunction: Readonly<Record<string, number>>,
  memoryMb: Readonly<Record<string, number>>,
  billedMs: Readonly<Record<string, number>> = ASSUMED_BILLED_MS,
): number {
  let total = 0;
  for (const [fn, n] of Object.entries(invocationsByFunction)) {
    const memory = memoryMb[fn];
    if (memory === undefined) throw new Error(`no configured memory for function ${fn}`);
    const ms = billedMs[fn] ?? billedMs.default;
    if (ms === undefined) throw new Error(`no billed duration for function ${fn} and no default`);
    total += n * (memory / 1024) * (ms / 1000);
  }
  return total;
}

/** The price of a count, in USD, by line. */
export interface WorkflowPrice {
  readonly stepFunctions: number;
  readonly lambdaRequests: number;
  readonly lambdaCompute: number;
  readonly total: number;
}

/** Prices `times` executions of `count` at the list prices. */
export function priceOf(
  count: ExecutionCount,
  memoryMb: Readonly<Record<string, number>>,
  prices: WorkflowPrices,
  times = 1,
  billedMs: Readonly<Record<string, number>> = ASSUMED_BILLED_MS,
): WorkflowPrice {
  const stepFunctions = (times * count.transitions * prices.stepFunctions.perThousandStateTransitions) / 1e3;
  const lambdaRequests = (times * count.invocations * prices.lambda.perMillionRequests) / 1e6;
  const lambdaCompute =
    times * gbSeconds(count.invocationsByFunction, memoryMb, billedMs) * prices.lambda.perGbSecond;
  return {
    stepFunctions,
    lambdaRequests,
    lambdaCompute,
    total: stepFunctions + lambdaRequests + lambdaCompute,
  };
}

/** `CheckDeploymentFunctionArn` -> `check-deployment`: the folder of the function a placeholder names. */
export function functionFolderOf(placeholder: string): string {
  const base = placeholder.replace(/FunctionArn$/, '');
  if (base === placeholder || base === '')
    throw new Error(`${placeholder} is not a function ARN placeholder`);
  return base.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}
