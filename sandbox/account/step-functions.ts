/**
 * Step Functions, delegated: the sandbox server runs the ASL files itself, so these
 * commands go to the backend it provides (which throws the SDK's own exceptions, such as
 * `ExecutionAlreadyExists`). A command the backend does not implement is not emulated.
 */
import type {
  DescribeExecutionCommandInput,
  DescribeExecutionCommandOutput,
  ListExecutionsCommandInput,
  ListExecutionsCommandOutput,
  SendTaskFailureCommandInput,
  SendTaskFailureCommandOutput,
  SendTaskHeartbeatCommandInput,
  SendTaskHeartbeatCommandOutput,
  SendTaskSuccessCommandInput,
  SendTaskSuccessCommandOutput,
  StartExecutionCommandInput,
  StartExecutionCommandOutput,
  StopExecutionCommandInput,
  StopExecutionCommandOutput,
} from '@aws-sdk/client-sfn';
import type { CommandTable, Emulator, Result } from './types.ts';

/** What the sandbox server implements to answer the Step Functions API. */
export interface StepFunctionsBackend {
  StartExecution(input: StartExecutionCommandInput): Promise<Result<StartExecutionCommandOutput>>;
  DescribeExecution(input: DescribeExecutionCommandInput): Promise<Result<DescribeExecutionCommandOutput>>;
  ListExecutions?(input: ListExecutionsCommandInput): Promise<Result<ListExecutionsCommandOutput>>;
  StopExecution?(input: StopExecutionCommandInput): Promise<Result<StopExecutionCommandOutput>>;
  /** The task-token calls the relay and the waits make (the server's runner answers them). */
  SendTaskSuccess?(input: SendTaskSuccessCommandInput): Promise<Result<SendTaskSuccessCommandOutput>>;
  SendTaskFailure?(input: SendTaskFailureCommandInput): Promise<Result<SendTaskFailureCommandOutput>>;
  SendTaskHeartbeat?(input: SendTaskHeartbeatCommandInput): Promise<Result<SendTaskHeartbeatCommandOutput>>;
}

export class StepFunctionsEmulator implements Emulator {
  readonly service = 'StepFunctions';

  constructor(private readonly backend: () => StepFunctionsBackend | undefined) {}

  /** The backend's commands, looked up at call time (the server installs it after the account starts). */
  get commands(): CommandTable {
    const backend = this.backend();
    if (!backend) return {};
    const table: CommandTable = {};
    for (const name of [
      'StartExecution',
      'DescribeExecution',
      'ListExecutions',
      'StopExecution',
      'SendTaskSuccess',
      'SendTaskFailure',
      'SendTaskHeartbeat',
    ] as const) {
      const method = backend[name];
      if (method) table[name] = method.bind(backend) as CommandTable[string];
    }
    return table;
  }

  save(): void {}
}
