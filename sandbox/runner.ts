/**
 * The sandbox's Step Functions: runs the project's ASL files with aws-local-stepfunctions,
 * each Task state mapped to the in-process handler of the function its `${XxxFunctionArn}`
 * placeholder names, and keeps every execution (input, status, output or error, the
 * states visited, the history) as a JSON file under `<data>/executions/`.
 *
 * It answers the emulated Step Functions API (`StartExecution`, `DescribeExecution`) with
 * Step Functions' own semantics: the execution name is the idempotency key, so starting a
 * running execution again with the same input returns it, and any other reuse of a name
 * is `ExecutionAlreadyExists`.
 */

import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type DescribeExecutionCommandInput,
  type DescribeExecutionCommandOutput,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  InvalidArn,
  InvalidExecutionInput,
  InvalidName,
  type SendTaskFailureCommandInput,
  type SendTaskFailureCommandOutput,
  type SendTaskHeartbeatCommandInput,
  type SendTaskHeartbeatCommandOutput,
  type SendTaskSuccessCommandInput,
  type SendTaskSuccessCommandOutput,
  type StartExecutionCommandInput,
  type StartExecutionCommandOutput,
  StateMachineDoesNotExist,
} from '@aws-sdk/client-sfn';
import type { Context } from 'aws-lambda';
import { type StateMachineKind, stateMachineName } from '#shared/naming.ts';
import { awsError } from './account/errors.ts';
import { writeFileAtomic } from './account/store.ts';
import { localLambdaContext } from './lambda-context.ts';
import {
  type AslDefinition,
  allStates,
  type EventLog,
  placeholdersOf,
  runStateMachine,
  STATE_MACHINES_DIR,
  type StateMachineName,
  substitute,
  type TaskHandlers,
  TaskTokens,
  WAIT_FOR_TASK_TOKEN,
} from './state-machines.ts';

/**
 * The one table of which function backs each Task: placeholder of the ASL files ->
 * folder under `functions/` (its `handler.ts` exports `handler`).
 */
export const TASK_FUNCTIONS: Readonly<Record<string, string>> = {
  PackageSourceFunctionArn: 'package-source',
  StartPipelineFunctionArn: 'start-pipeline',
  CheckPipelineFunctionArn: 'check-pipeline',
  PrepareReleaseFunctionArn: 'prepare-release',
  RegisterTaskDefinitionFunctionArn: 'register-task-definition',
  UpdateServiceFunctionArn: 'update-service',
  CheckDeploymentFunctionArn: 'check-deployment',
  RollBackReleaseFunctionArn: 'roll-back-release',
  RecordReleaseFunctionArn: 'record-release',
  InterpretScalingEventFunctionArn: 'interpret-scaling-event',
  AcquireScalingLeaseFunctionArn: 'acquire-scaling-lease',
  ScaleServiceFunctionArn: 'scale-service',
  ScaleClusterOutFunctionArn: 'scale-cluster-out',
  ReadAlarmStateFunctionArn: 'read-alarm-state',
  RearmScalingAlarmsFunctionArn: 'rearm-scaling-alarms',
  DrainInstanceFunctionArn: 'drain-instance',
  CheckDrainFunctionArn: 'check-drain',
  TerminateInstanceFunctionArn: 'terminate-instance',
  RestoreInstanceFunctionArn: 'restore-instance',
  ReleaseScalingLeaseFunctionArn: 'release-scaling-lease',
  AwaitEventFunctionArn: 'await-event',
  LeaveReleaseStageFunctionArn: 'leave-release-stage',
  PreparePreviewFunctionArn: 'prepare-preview',
  DeployPreviewFunctionArn: 'deploy-preview',
  CheckPreviewFunctionArn: 'check-preview',
  RecordPreviewFunctionArn: 'record-preview',
  RemovePreviewFunctionArn: 'remove-preview',
};

/** The state machines of the control plane. */
export const STATE_MACHINE_KINDS: readonly StateMachineName[] = ['deploy', 'release', 'scale', 'preview'];

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';

/** One step of an execution's history, as `stackpilot logs` shows it. */
export interface HistoryEntry {
  readonly timestamp: string;
  readonly type: string;
  readonly state?: string;
  readonly stateType?: string;
  // biome-ignore lint/suspicious/noExplicitAny: inputs and outputs are JSON.
  readonly input?: any;
  // biome-ignore lint/suspicious/noExplicitAny: inputs and outputs are JSON.
  readonly output?: any;
  readonly error?: string;
  readonly cause?: string;
  readonly retryAttempt?: number;
}

/** An execution as the sandbox keeps it (`GET /executions/{name}`). */
export interface ExecutionRecord {
  name: string;
  stateMachine: StateMachineName;
  stateMachineArn: string;
  executionArn: string;
  status: ExecutionStatus;
  // biome-ignore lint/suspicious/noExplicitAny: inputs and outputs are JSON.
  input: any;
  // biome-ignore lint/suspicious/noExplicitAny: inputs and outputs are JSON.
  output?: any;
  error?: string;
  cause?: string;
  startDate: string;
  stopDate?: string;
  /** State names in the order they were entered. */
  statesEntered: string[];
  history: HistoryEntry[];
}

/** A Lambda handler as the functions export it (middy-wrapped: event and context). */
export type LambdaHandler = (event: unknown, context: Context) => Promise<unknown>;

export interface RunnerOptions {
  /** Executions are kept under `<dataDir>/executions/<state machine>/<name>.json`. */
  readonly dataDir: string;
  readonly accountId: string;
  readonly region: string;
  /** Waits and retry intervals of the ASL take their duration divided by this. */
  readonly timeScale: number;
  /** Loads `functions/<folder>/handler.ts`; by default a dynamic import, on first use. */
  readonly loadHandler?: (folder: string) => Promise<LambdaHandler>;
  /** Definitions by kind instead of the `state-machines/` files (tests). */
  readonly definitions?: Partial<Record<StateMachineName, AslDefinition>>;
  /** Called when an execution starts and when it ends. */
  readonly onChange?: (record: ExecutionRecord) => void;
}

const NAME = /^[A-Za-z0-9_-]{1,80}$/;

/** Runs and records state machine executions. */
export class Runner {
  private readonly records = new Map<string, ExecutionRecord>();
  private readonly done = new Map<string, Promise<ExecutionRecord>>();
  private readonly handlers = new Map<string, Promise<LambdaHandler>>();
  private readonly definitions = new Map<StateMachineName, AslDefinition>();
  private closed = false;
  /** Aborts the executions still running when the sandbox stops. */
  private readonly stopping = new AbortController();
  /** The task tokens of every execution's `.waitForTaskToken` states. */
  readonly taskTokens = new TaskTokens();

  constructor(private readonly options: RunnerOptions) {
    this.load();
  }

  /** `arn:aws:states:<region>:<account>:stateMachine:stackpilot-<kind>`. */
  stateMachineArn(kind: StateMachineKind): string {
    return `arn:aws:states:${this.options.region}:${this.options.accountId}:stateMachine:${stateMachineName(kind)}`;
  }

  /** The Lambda ARN the sandbox substitutes for a function folder. */
  functionArn(folder: string): string {
    return `arn:aws:lambda:${this.options.region}:${this.options.accountId}:function:stackpilot-${folder}`;
  }

  /** The kind of a state machine ARN, or undefined when it is not one of the control plane's. */
  kindOf(stateMachineArn: string): StateMachineName | undefined {
    return STATE_MACHINE_KINDS.find((kind) => this.stateMachineArn(kind) === stateMachineArn);
  }

  /**
   * Starts an execution (or returns the running one with the same name and input).
   * Throws Step Functions' own errors: `InvalidName`, `ExecutionAlreadyExists`.
   */
  start(kind: StateMachineName, input: unknown, name: string = randomUUID()): ExecutionRecord {
    if (this.closed) throw new Error('the sandbox is stopping; no new execution starts');
    if (!NAME.test(name)) {
      throw awsError(InvalidName, `Invalid Name: '${name}' (1-80 letters, digits, hyphens or underscores)`);
    }
    const stateMachineArn = this.stateMachineArn(kind);
    const executionArn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
    const existing = this.records.get(executionArn);
    if (existing) {
      if (existing.status === 'RUNNING' && JSON.stringify(existing.input) === JSON.stringify(input ?? {}))
        return existing;
      throw awsError(ExecutionAlreadyExists, `Execution Already Exists: '${executionArn}'`);
    }
    const definition = this.definition(kind);
    const record: ExecutionRecord = {
      name,
      stateMachine: kind,
      stateMachineArn,
      executionArn,
      status: 'RUNNING',
      input: input ?? {},
      startDate: new Date().toISOString(),
      statesEntered: [],
      history: [],
    };
    this.records.set(executionArn, record);
    this.save(record);
    this.options.onChange?.(record);
    this.done.set(executionArn, this.execute(record, definition));
    return record;
  }

  /** Resolves when the execution has ended (at once for an ended one). */
  async wait(executionArn: string): Promise<ExecutionRecord> {
    const record = this.records.get(executionArn);
    if (!record) throw awsError(ExecutionDoesNotExist, `Execution Does Not Exist: '${executionArn}'`);
    return (await this.done.get(executionArn)) ?? record;
  }

  /** An execution by ARN. */
  get(executionArn: string): ExecutionRecord | undefined {
    return this.records.get(executionArn);
  }

  /** The latest execution called `name` (of any state machine). */
  byName(name: string): ExecutionRecord | undefined {
    return this.list().find((r) => r.name === name);
  }

  /** Executions, the latest first. */
  list(filter: { stateMachine?: StateMachineName; status?: ExecutionStatus } = {}): ExecutionRecord[] {
    return [...this.records.values()]
      .filter(
        (r) =>
          (!filter.stateMachine || r.stateMachine === filter.stateMachine) &&
          (!filter.status || r.status === filter.status),
      )
      .sort((a, b) => b.startDate.localeCompare(a.startDate) || b.name.localeCompare(a.name));
  }

  /** The emulated Step Functions commands, typed with the SDK's own input and output types. */
  sfnCommands() {
    return {
      StartExecution: (input: StartExecutionCommandInput): Omit<StartExecutionCommandOutput, '$metadata'> => {
        const kind = this.kindFromArn(input.stateMachineArn);
        let document: unknown = {};
        if (input.input !== undefined) {
          try {
            document = JSON.parse(input.input);
          } catch (error) {
            throw awsError(
              InvalidExecutionInput,
              `Invalid State Machine Execution Input: '${(error as Error).message}'`,
            );
          }
        }
        const record = this.start(kind, document, input.name ?? randomUUID());
        return { executionArn: record.executionArn, startDate: new Date(record.startDate) };
      },
      DescribeExecution: (
        input: DescribeExecutionCommandInput,
      ): Omit<DescribeExecutionCommandOutput, '$metadata'> => {
        if (!input.executionArn?.includes(':execution:'))
          throw awsError(InvalidArn, `Invalid Arn: '${input.executionArn}'`);
        const record = this.records.get(input.executionArn);
        if (!record)
          throw awsError(ExecutionDoesNotExist, `Execution Does Not Exist: '${input.executionArn}'`);
        return {
          executionArn: record.executionArn,
          stateMachineArn: record.stateMachineArn,
          name: record.name,
          status: record.status,
          startDate: new Date(record.startDate),
          stopDate: record.stopDate ? new Date(record.stopDate) : undefined,
          input: JSON.stringify(record.input),
          inputDetails: { included: true },
          output: record.output === undefined ? undefined : JSON.stringify(record.output),
          outputDetails: record.output === undefined ? undefined : { included: true },
          error: record.error,
          cause: record.cause,
        };
      },
      SendTaskSuccess: (
        input: SendTaskSuccessCommandInput,
      ): Omit<SendTaskSuccessCommandOutput, '$metadata'> => {
        this.taskTokens.success(input.taskToken ?? '', input.output ?? '');
        return {};
      },
      SendTaskFailure: (
        input: SendTaskFailureCommandInput,
      ): Omit<SendTaskFailureCommandOutput, '$metadata'> => {
        this.taskTokens.failure(input.taskToken ?? '', input.error, input.cause);
        return {};
      },
      SendTaskHeartbeat: (
        input: SendTaskHeartbeatCommandInput,
      ): Omit<SendTaskHeartbeatCommandOutput, '$metadata'> => {
        this.taskTokens.heartbeat(input.taskToken ?? '');
        return {};
      },
    };
  }

  /** Invokes `functions/<folder>/handler.ts` with an event, as EventBridge invokes a rule's Lambda target. */
  async invoke(folder: string, event: unknown): Promise<unknown> {
    const handler = await this.handler(folder);
    return handler(
      JSON.parse(JSON.stringify(event)),
      localLambdaContext(folder, {
        functionArn: this.functionArn(folder),
        logStreamName: 'sandbox/events',
        memoryLimitInMB: '256',
      }),
    );
  }

  /**
   * Stops taking executions and records the running ones as ABORTED (they do not survive
   * the process), so a restart finds every execution ended.
   */
  close(): void {
    this.closed = true;
    for (const record of this.records.values()) {
      if (record.status === 'RUNNING')
        this.abort(record, 'the sandbox stopped while this execution was running');
    }
    // Ends their waits and the engine's timers, so the process can exit.
    this.stopping.abort();
  }

  private kindFromArn(arn: string | undefined): StateMachineName {
    const kind = arn ? this.kindOf(arn) : undefined;
    if (!kind) throw awsError(StateMachineDoesNotExist, `State Machine Does Not Exist: '${arn}'`);
    return kind;
  }

  private abort(record: ExecutionRecord, cause: string): void {
    record.status = 'ABORTED';
    record.error = 'States.Aborted';
    record.cause = cause;
    record.stopDate = new Date().toISOString();
    this.save(record);
  }

  private definition(kind: StateMachineName): AslDefinition {
    const cached = this.definitions.get(kind) ?? this.options.definitions?.[kind];
    if (cached) return cached;
    const substitutions: Record<string, string> = {};
    for (const placeholder of placeholdersOf(kind)) {
      const folder = TASK_FUNCTIONS[placeholder];
      if (!folder) {
        throw new Error(
          `state-machines/${kind}.asl.json uses \${${placeholder}}, which TASK_FUNCTIONS in sandbox/runner.ts does not map to a function`,
        );
      }
      substitutions[placeholder] = this.functionArn(folder);
    }
    const text = readFileSync(join(STATE_MACHINES_DIR, `${kind}.asl.json`), 'utf8');
    const definition = JSON.parse(substitute(text, substitutions)) as AslDefinition;
    this.definitions.set(kind, definition);
    return definition;
  }

  /** Task state name -> in-process handler, from each Task's Lambda ARN. */
  private tasks(definition: AslDefinition, executionName: string): TaskHandlers {
    const tasks: TaskHandlers = {};
    const prefix = this.functionArn('');
    for (const [stateName, state] of Object.entries(allStates(definition))) {
      if (state.Type !== 'Task') continue;
      // A `.waitForTaskToken` Task invokes the function named in its Parameters.
      const resource = String(
        state.Resource === WAIT_FOR_TASK_TOKEN
          ? (state.Parameters?.FunctionName ?? '')
          : (state.Resource ?? ''),
      );
      if (!resource.startsWith(prefix))
        throw new Error(`Task "${stateName}" has a resource the sandbox cannot run: ${resource}`);
      const folder = resource.slice(prefix.length);
      tasks[stateName] = async (input: unknown) => {
        const handler = await this.handler(folder);
        return handler(
          input,
          localLambdaContext(folder, {
            functionArn: this.functionArn(folder),
            logStreamName: `sandbox/${executionName}`,
            memoryLimitInMB: '512',
          }),
        );
      };
    }
    return tasks;
  }

  private handler(folder: string): Promise<LambdaHandler> {
    let loading = this.handlers.get(folder);
    if (!loading) {
      const load = this.options.loadHandler ?? importHandler;
      loading = load(folder);
      this.handlers.set(folder, loading);
    }
    return loading;
  }

  private async execute(record: ExecutionRecord, definition: AslDefinition): Promise<ExecutionRecord> {
    try {
      const result = await runStateMachine(definition, record.input, {
        tasks: this.tasks(definition, record.name),
        timeScale: this.options.timeScale,
        executionName: record.name,
        executionArn: record.executionArn,
        signal: this.stopping.signal,
        taskTokens: this.taskTokens,
        onEvent: (event) => {
          if (record.status !== 'RUNNING') return;
          record.history.push(historyEntry(event));
          if (event.type === 'StateEntered') {
            record.statesEntered.push(event.state.name);
            this.save(record);
          }
        },
      });
      if (record.status !== 'RUNNING') return record;
      record.status = result.status;
      if (result.status === 'SUCCEEDED') record.output = result.output;
      else {
        record.error = result.error;
        record.cause = result.cause;
      }
    } catch (error) {
      if (record.status !== 'RUNNING') return record;
      // The engine refused the definition or the input: Step Functions reports these as States.Runtime.
      record.status = 'FAILED';
      record.error = 'States.Runtime';
      record.cause = (error as Error).message;
    }
    record.stopDate = new Date().toISOString();
    this.save(record);
    this.options.onChange?.(record);
    return record;
  }

  private file(record: Pick<ExecutionRecord, 'stateMachine' | 'name'>): string {
    return join(this.options.dataDir, 'executions', record.stateMachine, `${record.name}.json`);
  }

  private save(record: ExecutionRecord): void {
    writeFileAtomic(this.file(record), `${JSON.stringify(record, null, 1)}\n`);
  }

  private load(): void {
    const root = join(this.options.dataDir, 'executions');
    if (!existsSync(root)) return;
    for (const kind of STATE_MACHINE_KINDS) {
      const dir = join(root, kind);
      if (!existsSync(dir)) continue;
      for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
        const record = JSON.parse(readFileSync(join(dir, file), 'utf8')) as ExecutionRecord;
        this.records.set(record.executionArn, record);
        if (record.status === 'RUNNING')
          this.abort(record, 'the sandbox stopped while this execution was running');
      }
    }
  }
}

async function importHandler(folder: string): Promise<LambdaHandler> {
  const module = (await import(`../functions/${folder}/handler.ts`)) as { handler?: LambdaHandler };
  if (typeof module.handler !== 'function')
    throw new Error(`functions/${folder}/handler.ts exports no handler`);
  return module.handler;
}

function historyEntry(event: EventLog): HistoryEntry {
  const { type, timestamp, ...rest } = event as EventLog & Record<string, unknown>;
  const state = (rest as { state?: { name: string; type: string; input?: unknown; output?: unknown } }).state;
  const entry: Record<string, unknown> = { timestamp: new Date(timestamp).toISOString(), type };
  if (state) {
    entry.state = state.name;
    entry.stateType = state.type;
    if (type === 'StateEntered') entry.input = state.input;
    if (type === 'StateExited') entry.output = state.output;
  }
  const details = rest as { Error?: string; Cause?: string; retry?: { attempt?: number } };
  if (details.Error !== undefined) entry.error = details.Error;
  if (details.Cause !== undefined) entry.cause = details.Cause;
  if (details.retry?.attempt !== undefined) entry.retryAttempt = details.retry.attempt;
  if (type === 'ExecutionSucceeded') entry.output = (rest as { output?: unknown }).output;
  return entry as unknown as HistoryEntry;
}
