/**
 * Which function runs each Task state: the sandbox runner's table (`TASK_FUNCTIONS`, from
 * the ASL's `${…FunctionArn}` placeholders to `functions/<folder>/handler.ts`), and the
 * Task states of every state machine read from the ASL files themselves, so a new state or
 * a new placeholder shows up here without anyone listing it.
 */

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Context } from 'aws-lambda';
import { localLambdaContext } from '../../../sandbox/lambda-context.ts';
import { TASK_FUNCTIONS } from '../../../sandbox/runner.ts';
import {
  type AslDefinition,
  allStates,
  STATE_MACHINES_DIR,
  type StateMachineName,
} from '../../../sandbox/state-machines.ts';

export const STATE_MACHINES: readonly StateMachineName[] = ['deploy', 'release', 'scale', 'preview'];

const FUNCTIONS_DIR = fileURLToPath(new URL('../../../functions/', import.meta.url));

/** One Task state and the function behind it. */
export interface TaskState {
  readonly machine: StateMachineName;
  readonly state: string;
  /** `PackageSourceFunctionArn` for `"Resource": "${PackageSourceFunctionArn}"`. */
  readonly placeholder: string;
  /** `package-source`, or undefined when the table has no entry for the placeholder. */
  readonly folder: string | undefined;
}

/** The definition as written, placeholders unfilled (they sit inside strings, so it parses). */
export function rawDefinition(machine: StateMachineName): AslDefinition {
  return JSON.parse(readFileSync(`${STATE_MACHINES_DIR}${machine}.asl.json`, 'utf8')) as AslDefinition;
}

/** Every Task state of a state machine, nested ones included, in the file's order. */
export function taskStates(machine: StateMachineName): TaskState[] {
  return Object.entries(allStates(rawDefinition(machine)))
    .filter(([, state]) => state.Type === 'Task')
    .map(([state, definition]) => {
      // A `.waitForTaskToken` Task names its function in its Parameters.
      const resource = String(definition.Parameters?.FunctionName ?? definition.Resource);
      const placeholder = /^\$\{([A-Za-z0-9_]+)\}$/.exec(resource)?.[1] ?? resource;
      return { machine, state, placeholder, folder: TASK_FUNCTIONS[placeholder] };
    });
}

/** The handler file of a function folder. */
export function handlerPath(folder: string): string {
  return `${FUNCTIONS_DIR}${folder}/handler.ts`;
}

export function handlerExists(folder: string): boolean {
  return existsSync(handlerPath(folder));
}

/** A deployed Lambda handler: middy-wrapped, `(event, context)`. */
export type LambdaHandler = (event: unknown, context: Context) => Promise<unknown>;

const loaded = new Map<string, LambdaHandler>();

/** Imports `functions/<folder>/handler.ts` and returns its `handler` export. */
export async function loadHandler(folder: string): Promise<LambdaHandler> {
  const cached = loaded.get(folder);
  if (cached) return cached;
  const module = (await import(handlerPath(folder))) as { handler?: LambdaHandler };
  if (typeof module.handler !== 'function')
    throw new Error(`functions/${folder}/handler.ts exports no handler`);
  loaded.set(folder, module.handler);
  return module.handler;
}

/** The Lambda context an invocation of `folder` gets: enough for middy and the Powertools logger. */
export function lambdaContext(folder: string): Context {
  return localLambdaContext(folder, { logStreamName: 'faults', memoryLimitInMB: '1024' });
}
