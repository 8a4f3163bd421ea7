/**
 * Runs one execution of a state machine with the REAL handlers (the function behind each
 * Task's `${…FunctionArn}`, from the sandbox runner's table) against a {@link World}, and
 * judges how it ended: succeeded, failed cleanly (a readable Error and Cause), or lost
 * (the runner threw, the execution hung or ran away, or it failed with `States.Runtime`).
 */
import { TASK_FUNCTIONS } from '../../../sandbox/runner.ts';
import {
  type AslDefinition,
  type ExecutionResult,
  loadDefinition,
  runStateMachine,
  type StateMachineName,
  type TaskHandlers,
  WAIT_FOR_TASK_TOKEN,
} from '../../../sandbox/state-machines.ts';
import { type FaultInjector, runInState } from './faults.ts';
import { lambdaContext, loadHandler, taskStates } from './tasks.ts';
import type { World } from './world.ts';

/** Emulated time that passes before each Task invocation (the Wait before it, a Lambda's run). */
export const STEP_MS = 20_000;
/** More invocations than this in one execution is a runaway loop: the execution is lost. */
export const MAX_INVOCATIONS = 250;
/** Wall-clock limit of one execution: past it, the execution hung. */
export const EXECUTION_TIMEOUT_MS = 45_000;

export interface Outcome {
  readonly machine: StateMachineName;
  readonly result?: ExecutionResult;
  /** Why the execution is lost; undefined when it succeeded or failed cleanly. */
  readonly lost?: string;
  /** Task invocations, retries included. */
  readonly invocations: number;
  /** The Task states in the order they were invoked. */
  readonly invoked: string[];
}

const definitions = new Map<StateMachineName, AslDefinition>();
/** One definition object per state machine: the engine validates each object once. */
function definitionOf(machine: StateMachineName): AslDefinition {
  let definition = definitions.get(machine);
  if (!definition) {
    definition = loadDefinition(machine);
    definitions.set(machine, definition);
  }
  return definition;
}

class Runaway extends Error {
  override readonly name = 'Runaway';
}

/** Runs `input` through `machine` to its end. Never throws: whatever goes wrong is in `lost`. */
export async function runExecution(
  world: World,
  machine: StateMachineName,
  input: unknown,
  options: { injector?: FaultInjector; executionName?: string; stepMs?: number } = {},
): Promise<Outcome> {
  const executionName = options.executionName ?? `faults-${Math.random().toString(36).slice(2, 10)}`;
  const definition = definitionOf(machine);
  const invoked: string[] = [];
  let runaway = false;
  const tasks: TaskHandlers = {};
  for (const { state, placeholder } of taskStates(machine)) {
    const folder = TASK_FUNCTIONS[placeholder];
    if (!folder) throw new Error(`no function for \${${placeholder}} (Task "${state}" of ${machine})`);
    tasks[state] = async (payload: unknown) => {
      invoked.push(state);
      if (invoked.length > MAX_INVOCATIONS) {
        runaway = true;
        throw new Runaway(`more than ${MAX_INVOCATIONS} Task invocations`);
      }
      world.advance(options.stepMs ?? STEP_MS);
      const refused = options.injector?.invokeFault(state);
      if (refused) throw refused;
      const handler = await loadHandler(folder);
      return runInState(state, () => handler(payload, lambdaContext(folder)));
    };
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), EXECUTION_TIMEOUT_MS);
  });
  try {
    const result = await Promise.race([
      runStateMachine(definition, input, {
        tasks,
        executionName,
        // No relay runs here: every token wait ends by its fallback check (HeartbeatSeconds, shortened).
        heartbeats: Object.fromEntries(
          taskStates(machine)
            .filter(({ state }) => definition.States[state]?.Resource === WAIT_FOR_TASK_TOKEN)
            .map(({ state }) => [state, 20]),
        ),
      }),
      timeout,
    ]);
    const base = { machine, invocations: invoked.length, invoked };
    if (result === 'timeout') return { ...base, lost: `hung: no end after ${EXECUTION_TIMEOUT_MS} ms` };
    if (runaway) return { ...base, result, lost: `ran away: ${invoked.length} Task invocations` };
    if (
      result.status === 'FAILED' &&
      (result.error === 'States.Runtime' || /States\.Runtime/.test(result.cause ?? ''))
    )
      return { ...base, result, lost: `States.Runtime: ${result.cause}` };
    return { ...base, result };
  } catch (error) {
    return {
      machine,
      invocations: invoked.length,
      invoked,
      lost: `the runner threw ${(error as Error).name}: ${(error as Error).message}`,
    };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * What is wrong with a failed execution's Error and Cause, for the operator who reads them
 * in the console; empty when they are readable: an error code of our own (not `States.*`),
 * and a Cause that is one plain message, not a Lambda error document or a stack trace.
 */
export function unreadable(error: string | undefined, cause: string | undefined): string[] {
  const problems: string[] = [];
  if (!error) problems.push('no Error');
  else if (error.startsWith('States.')) problems.push(`Error is ${error}`);
  else if (!/^[A-Z][A-Za-z0-9.]+$/.test(error)) problems.push(`Error "${error}" is not an error code`);
  if (!cause) problems.push('no Cause');
  else {
    if (cause.length < 15) problems.push(`Cause "${cause}" says too little`);
    if (cause.length > 4000) problems.push(`Cause is ${cause.length} characters long`);
    if (/\n\s+at\s/.test(cause) || /"trace"\s*:/.test(cause)) problems.push('Cause holds a stack trace');
    if (/"errorType"\s*:/.test(cause)) problems.push('Cause is a raw Lambda error document');
    if (/\[object Object\]/.test(cause)) problems.push('Cause holds [object Object]');
  }
  return problems;
}
