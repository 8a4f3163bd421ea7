/**
 * Runs the project's ASL files locally with aws-local-stepfunctions: used by the path
 * tests and by the sandbox. The ASL files are the deployed ones, with their
 * `${Placeholder}` substitutions filled in, and each Task state is mapped to an
 * in-process handler by state name.
 *
 * Errors thrown by a handler reach the state machine exactly as AWS Lambda reports
 * them: `Error` is the error's name and `Cause` is the JSON document
 * `{"errorType", "errorMessage", "trace"}`, so Retry, Catch and the Fail states
 * behave locally as they do in the account.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InvalidOutput, InvalidToken, TaskTimedOut } from '@aws-sdk/client-sfn';
import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import { awsError } from './account/errors.ts';

/** One entry of a local execution's history. */
export type EventLog = Awaited<ReturnType<ReturnType<StateMachine['run']>['eventLogs']['next']>>['value'] &
  object;

// aws-local-stepfunctions uses Promise.withResolvers (Node 22); Node 20 lacks it.
if (typeof (Promise as { withResolvers?: unknown }).withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value<T>() {
      let resolve!: (value: T | PromiseLike<T>) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

/** The Resource of a Task that invokes a Lambda function and then waits for its task token. */
export const WAIT_FOR_TASK_TOKEN = 'arn:aws:states:::lambda:invoke.waitForTaskToken';

/** What Step Functions reports when a waiting task got no heartbeat (nor result) within HeartbeatSeconds. */
export class HeartbeatTimeout extends Error {
  override readonly name = 'States.HeartbeatTimeout';
}

interface OpenTask {
  readonly settled: Promise<unknown>;
  resolve(output: unknown): void;
  reject(error: Error): void;
  /** Restarts the heartbeat timer while the task waits. */
  beat?: () => void;
}

/**
 * Task tokens of `.waitForTaskToken` states, answering SendTaskSuccess, SendTaskFailure and
 * SendTaskHeartbeat with Step Functions' semantics: a token resumes its task once; a token of
 * a task that has ended is `TaskTimedOut`, one never issued `InvalidToken`. A token may be
 * answered before its task starts waiting (the invoked function resumes it itself).
 */
export class TaskTokens {
  private readonly open = new Map<string, OpenTask>();
  private readonly issued = new Set<string>();
  /** Tokens answered before their task started waiting: the answer. */
  private readonly answered = new Map<string, Promise<unknown>>();
  private count = 0;

  /** A new token, open until answered (or its task times out). */
  issue(): string {
    const token = Buffer.from(`local-task-token:${++this.count}:${randomUUID()}`).toString('base64');
    let resolve!: (output: unknown) => void;
    let reject!: (error: Error) => void;
    const settled = new Promise<unknown>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // Answered before anyone waits (a failure) is not an unhandled rejection: wait() reads it.
    settled.catch(() => undefined);
    this.open.set(token, { settled, resolve, reject });
    this.issued.add(token);
    return token;
  }

  /** Whether the token's task still waits for its answer. */
  isOpen(token: string): boolean {
    return this.open.has(token);
  }

  /**
   * Ends the task with {@link HeartbeatTimeout}, as Step Functions does when HeartbeatSeconds
   * pass without a heartbeat: for callers that keep their own (emulated) time.
   */
  timeOut(token: string): void {
    this.take(token).reject(new HeartbeatTimeout('The task did not send a heartbeat (or a result) in time.'));
  }

  /**
   * The task's result: the output of SendTaskSuccess, or the error of SendTaskFailure, or
   * {@link HeartbeatTimeout} after `heartbeatMs` without a heartbeat.
   */
  async wait(token: string, heartbeatMs?: number, signal?: AbortSignal): Promise<unknown> {
    const answered = this.answered.get(token);
    if (answered) {
      // Answered before the task started waiting (the invoked function resumed it itself).
      this.answered.delete(token);
      return answered;
    }
    const task = this.open.get(token);
    if (!task) throw new Error(`task token ${token} is not open`);
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      if (heartbeatMs === undefined) return;
      clearTimeout(timer);
      timer = setTimeout(() => {
        this.open.delete(token);
        task.reject(new HeartbeatTimeout('The task did not send a heartbeat (or a result) in time.'));
      }, heartbeatMs);
    };
    task.beat = arm;
    arm();
    const abort = () => {
      this.open.delete(token);
      task.reject(new Error('the execution was stopped'));
    };
    signal?.addEventListener('abort', abort, { once: true });
    try {
      return await task.settled;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', abort);
    }
  }

  /** SendTaskSuccess: `output` is JSON text. */
  success(token: string, output: string): void {
    let value: unknown;
    try {
      value = JSON.parse(output);
    } catch (error) {
      throw awsError(InvalidOutput, `Invalid Output: '${(error as Error).message}'`);
    }
    this.take(token).resolve(value);
  }

  /** SendTaskFailure: the task fails with `error` (default `States.TaskFailed`) and `cause`. */
  failure(token: string, error?: string, cause?: string): void {
    const failure = new Error(cause ?? '');
    failure.name = error || 'States.TaskFailed';
    this.take(token).reject(failure);
  }

  /** SendTaskHeartbeat: restarts the task's HeartbeatSeconds. */
  heartbeat(token: string): void {
    const task = this.open.get(token);
    if (!task) throw this.closedError(token);
    task.beat?.();
  }

  private take(token: string): OpenTask {
    const task = this.open.get(token);
    if (!task) throw this.closedError(token);
    this.open.delete(token);
    // Until its task waits: an answer before the wait is read by wait().
    if (!task.beat) this.answered.set(token, task.settled);
    return task;
  }

  private closedError(token: string): Error {
    return this.issued.has(token)
      ? awsError(TaskTimedOut, 'Task Timed Out: Provided task does not exist anymore')
      : awsError(InvalidToken, 'Invalid Token: the task token is not one Step Functions issued');
  }
}

/** Folder of the ASL files. */
export const STATE_MACHINES_DIR = fileURLToPath(new URL('../state-machines/', import.meta.url));

export type StateMachineName = 'deploy' | 'release' | 'scale' | 'preview';

// biome-ignore lint/suspicious/noExplicitAny: ASL documents are untyped JSON.
export type AslDefinition = Record<string, any>;

/** Replaces every `${Name}` with its value; throws naming any placeholder left without one. */
export function substitute(text: string, substitutions: Readonly<Record<string, string>>): string {
  const missing = new Set<string>();
  const result = text.replace(/\$\{([A-Za-z0-9_]+)\}/g, (whole, key: string) => {
    const value = substitutions[key];
    if (value === undefined) {
      missing.add(key);
      return whole;
    }
    return value;
  });
  if (missing.size > 0)
    throw new Error(`no substitution for ${[...missing].map((k) => `\${${k}}`).join(', ')}`);
  return result;
}

/** The placeholders a definition file uses, e.g. `["PackageSourceFunctionArn"]`. */
export function placeholdersOf(name: StateMachineName): string[] {
  const text = readFileSync(`${STATE_MACHINES_DIR}${name}.asl.json`, 'utf8');
  return [...new Set([...text.matchAll(/\$\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1] as string))];
}

/**
 * Loads `state-machines/<name>.asl.json` with its placeholders filled. Placeholders
 * missing from `substitutions` get a local stand-in: a Lambda-style ARN for names
 * ending in `Arn`, the placeholder's own name otherwise.
 */
export function loadDefinition(
  name: StateMachineName,
  substitutions: Readonly<Record<string, string>> = {},
): AslDefinition {
  const text = readFileSync(`${STATE_MACHINES_DIR}${name}.asl.json`, 'utf8');
  const filled: Record<string, string> = {};
  for (const key of placeholdersOf(name)) {
    filled[key] =
      substitutions[key] ??
      (key.endsWith('Arn') ? `arn:aws:lambda:us-east-1:000000000000:function:stackpilot-${key}` : key);
  }
  return JSON.parse(substitute(text, filled)) as AslDefinition;
}

/** An error as AWS Lambda reports it to Step Functions. */
export class LambdaFunctionError extends Error {
  constructor(error: unknown) {
    const e = error instanceof Error ? error : new Error(String(error));
    super(JSON.stringify({ errorType: e.name, errorMessage: e.message, trace: e.stack?.split('\n') ?? [] }));
    this.name = e.name;
  }
}

/** Wraps an in-process handler so that its failures look like a Lambda function's. */
export function asLambdaTask<TInput, TOutput>(
  handler: (input: TInput) => Promise<TOutput> | TOutput,
): (input: unknown) => Promise<TOutput> {
  return async (input) => {
    try {
      // Lambda hands the function a JSON copy of its input and Step Functions gets a JSON copy of the output.
      const output = await handler(JSON.parse(JSON.stringify(input ?? null)) as TInput);
      return JSON.parse(JSON.stringify(output ?? null)) as TOutput;
    } catch (error) {
      throw new LambdaFunctionError(error);
    }
  };
}

// biome-ignore lint/suspicious/noExplicitAny: handlers take and return JSON.
export type TaskHandlers = Record<string, (input: any) => unknown>;

export interface RunOptions {
  /** Task state name -> in-process handler (wrapped with {@link asLambdaTask}). */
  readonly tasks: TaskHandlers;
  /** Wait state name -> milliseconds; by default every Wait state takes 0 ms. */
  readonly waits?: Readonly<Record<string, number>>;
  /** Retry waits in milliseconds per state; by default retries are immediate. */
  readonly retryIntervals?: Readonly<Record<string, number | number[]>>;
  /** Execution name, as Step Functions would give it in the context object. */
  readonly executionName?: string;
  /** Execution ARN for the context object's `Execution.Id` (a local stand-in by default). */
  readonly executionArn?: string;
  /**
   * Real time divided by this factor: Wait states (`Seconds` and, computed when the state
   * is entered, `SecondsPath`) and Retry intervals take their ASL duration / timeScale
   * instead of 0 ms. Explicit `waits` and `retryIntervals` still win.
   */
  readonly timeScale?: number;
  /** Called with each history event as it happens (the sandbox shows running executions). */
  readonly onEvent?: (event: EventLog) => void;
  /** Aborts the execution (its waits and timers end at once): the sandbox stopping. */
  readonly signal?: AbortSignal;
  /**
   * The task tokens of `.waitForTaskToken` states (`$$.Task.Token`), answered with
   * SendTaskSuccess/Failure/Heartbeat through it. A new set per execution by default.
   */
  readonly taskTokens?: TaskTokens;
  /**
   * `.waitForTaskToken` state name -> milliseconds without a heartbeat before
   * `States.HeartbeatTimeout`. By default HeartbeatSeconds(Path) / timeScale, and no
   * heartbeat limit without a timeScale.
   */
  readonly heartbeats?: Readonly<Record<string, number>>;
}

export interface ExecutionResult {
  readonly status: 'SUCCEEDED' | 'FAILED';
  // biome-ignore lint/suspicious/noExplicitAny: execution output is JSON.
  readonly output?: any;
  readonly error?: string;
  readonly cause?: string;
  readonly events: EventLog[];
  /** State names in the order they were entered. */
  readonly statesEntered: string[];
  /** Step Functions bills standard workflows per state transition: one per state entered. */
  readonly transitions: number;
}

/** Every state of a definition by name, nested ones (Map, Parallel) included. */
export function allStates(definition: AslDefinition): Record<string, AslDefinition> {
  const out: Record<string, AslDefinition> = {};
  const walk = (states: AslDefinition) => {
    for (const [stateName, state] of Object.entries(states)) {
      out[stateName] = state;
      if (state.ItemProcessor?.States) walk(state.ItemProcessor.States);
      if (state.Iterator?.States) walk(state.Iterator.States);
      for (const branch of state.Branches ?? []) walk(branch.States);
    }
  };
  walk(definition.States ?? {});
  return out;
}

/** Definitions that aws-local-stepfunctions has already validated (the runner and tests reuse them). */
const validated = new WeakSet<AslDefinition>();

/** Runs one execution to its end and returns what happened. Never throws for a failed execution. */
export async function runStateMachine(
  definition: AslDefinition,
  input: unknown,
  options: RunOptions,
): Promise<ExecutionResult> {
  const states = allStates(definition);
  const waitTimeOverrides: Record<string, number> = {};
  const retryIntervalOverrides: Record<string, number | number[]> = {};
  const scale = options.timeScale;
  // Raw input of the state entered last, by name: what a SecondsPath wait is computed from.
  const enteredWith = new Map<string, unknown>();
  for (const [stateName, state] of Object.entries(states)) {
    if (state.Type === 'Wait') {
      const fixed = options.waits?.[stateName];
      if (fixed !== undefined || !scale) waitTimeOverrides[stateName] = fixed ?? 0;
      else if (typeof state.Seconds === 'number')
        waitTimeOverrides[stateName] = (state.Seconds * 1000) / scale;
      else if (typeof state.SecondsPath === 'string') {
        // The engine reads the override when the Wait starts, right after the state was entered.
        Object.defineProperty(waitTimeOverrides, stateName, {
          enumerable: true,
          get: () => {
            const input = readPath(state.InputPath ?? '$', enteredWith.get(stateName));
            const seconds = Number(readPath(state.SecondsPath, input));
            return Number.isFinite(seconds) && seconds > 0 ? (seconds * 1000) / scale : 0;
          },
        });
      } else waitTimeOverrides[stateName] = 0;
    }
    if (state.Retry) {
      retryIntervalOverrides[stateName] =
        options.retryIntervals?.[stateName] ??
        (scale
          ? (state.Retry as { IntervalSeconds?: number }[]).map(
              (r) => ((r.IntervalSeconds ?? 1) * 1000) / scale,
            )
          : 0);
    }
  }
  const taskTokens = options.taskTokens ?? new TaskTokens();
  // The context object's `Task`: the engine copies this object's reference into the context
  // of the execution, so the token set here when a state is entered is what `$$.Task.Token` reads.
  const task: { Token?: string } = {};
  const taskResourceLocalHandlers: Record<string, (input: unknown) => Promise<never>> = {};
  for (const [stateName, handler] of Object.entries(options.tasks)) {
    if (!(stateName in states)) throw new Error(`no state named "${stateName}" in the definition`);
    const state = states[stateName] as AslDefinition;
    const invoke = asLambdaTask(handler);
    taskResourceLocalHandlers[stateName] = (
      state.Resource === WAIT_FOR_TASK_TOKEN
        ? async (parameters: { Payload?: unknown }) => {
            const token = task.Token;
            if (!token) throw new Error(`no task token for "${stateName}"`);
            await invoke(parameters?.Payload);
            return taskTokens.wait(token, heartbeatMs(stateName, state), options.signal);
          }
        : invoke
    ) as (input: unknown) => Promise<never>;
  }
  /** Milliseconds without a heartbeat before the state fails with States.HeartbeatTimeout. */
  const heartbeatMs = (stateName: string, state: AslDefinition): number | undefined => {
    const fixed = options.heartbeats?.[stateName];
    if (fixed !== undefined || !scale) return fixed;
    const seconds =
      typeof state.HeartbeatSeconds === 'number'
        ? state.HeartbeatSeconds
        : typeof state.HeartbeatSecondsPath === 'string'
          ? Number(
              readPath(
                state.HeartbeatSecondsPath,
                readPath(state.InputPath ?? '$', enteredWith.get(stateName)),
              ),
            )
          : undefined;
    return seconds !== undefined && Number.isFinite(seconds) && seconds > 0
      ? (seconds * 1000) / scale
      : undefined;
  };
  const tokenStates = new Set(
    Object.entries(states)
      .filter(([, state]) => state.Type === 'Task' && state.Resource === WAIT_FOR_TASK_TOKEN)
      .map(([name]) => name),
  );
  // Validating a definition costs about half a second: each definition object is validated once.
  const machine = new StateMachine(definition as never, {
    validationOptions: validated.has(definition)
      ? { noValidate: true }
      : { checkArn: true, checkPaths: true },
  });
  validated.add(definition);
  recordEnteredStates(machine, (name, input) => {
    enteredWith.set(name, input);
    if (tokenStates.has(name)) task.Token = taskTokens.issue();
  });
  const executionName = options.executionName ?? `local-${Date.now()}`;
  const execution = machine.run(input as never, {
    overrides: {
      taskResourceLocalHandlers: taskResourceLocalHandlers as never,
      waitTimeOverrides,
      retryIntervalOverrides,
    },
    context: {
      Execution: {
        Id: options.executionArn ?? `arn:aws:states:us-east-1:000000000000:execution:local:${executionName}`,
        Name: executionName,
        StartTime: new Date().toISOString(),
        Input: input,
      },
      Task: task,
    } as never,
  });
  if (options.signal?.aborted) execution.abort();
  else options.signal?.addEventListener('abort', () => execution.abort(), { once: true });
  const events: EventLog[] = [];
  const collecting = (async () => {
    for await (const event of execution.eventLogs) {
      events.push(event);
      options.onEvent?.(event);
    }
  })();
  let result: ExecutionResult;
  try {
    const output = await execution.result;
    await collecting;
    result = { status: 'SUCCEEDED', output, ...summarize(events) };
  } catch (error) {
    await collecting;
    const failed = events.find((e) => e.type === 'ExecutionFailed') as
      | { Error?: string; Cause?: string }
      | undefined;
    if (!(error instanceof ExecutionError) && !failed) throw error;
    result = {
      status: 'FAILED',
      error: failed?.Error ?? (error as Error).name,
      cause: failed?.Cause ?? (error as Error).message,
      ...summarize(events),
    };
  }
  return result;
}

/**
 * Calls `onEnter` with the raw input of each state as it is entered (top-level states). The engine has no
 * public hook for it: its event logger is handed to the private `execute`, so this wraps
 * that logger's StateEntered dispatch, which runs synchronously just before the state.
 */
function recordEnteredStates(machine: StateMachine, onEnter: (name: string, input: unknown) => void): void {
  type Logger = { dispatchStateEnteredEvent: (name: string, type: string, input: unknown) => void };
  const target = machine as unknown as {
    execute: (input: unknown, options: { eventLogger: Logger }, ...rest: unknown[]) => unknown;
  };
  const execute = target.execute;
  target.execute = function (input, options, ...rest) {
    const dispatch = options.eventLogger.dispatchStateEnteredEvent.bind(options.eventLogger);
    options.eventLogger.dispatchStateEnteredEvent = (name, type, stateInput) => {
      onEnter(name, stateInput);
      dispatch(name, type, stateInput);
    };
    return execute.call(this, input, options, ...rest);
  };
}

/** Reads a reference path such as `$`, `$.a.b` or `$.a[0].b` (what Wait states and InputPath use here). */
function readPath(path: string, document: unknown): unknown {
  let value: unknown = document;
  for (const part of path.replace(/^\$/, '').match(/[^.[\]'"]+/g) ?? []) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function summarize(events: EventLog[]) {
  const statesEntered = events.flatMap((e) => (e.type === 'StateEntered' ? [e.state.name] : []));
  return { events, statesEntered, transitions: statesEntered.length };
}
