/**
 * Starting state machine executions under a chosen name, idempotently: the name is the
 * idempotency key, so starting "the same" execution twice returns the first one.
 */
import { type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';

export interface StartedExecution {
  readonly executionArn: string;
  readonly executionName: string;
  /**
   * True when Step Functions answered `ExecutionAlreadyExists` (the execution has closed, or it
   * was started with another input). A repeated start of a running execution with the same
   * input is answered like the first start, so it reads false here too.
   */
  readonly alreadyExisted: boolean;
}

/** The ARN of execution `name` of a standard state machine: `arn:…:execution:<machine>:<name>`. */
export function executionArn(stateMachineArn: string, name: string): string {
  const parts = stateMachineArn.split(':');
  if (parts.length !== 7 || parts[2] !== 'states' || parts[5] !== 'stateMachine') {
    throw new Error(`not a state machine ARN: ${stateMachineArn}`);
  }
  return [...parts.slice(0, 5), 'execution', parts[6], name].join(':');
}

/**
 * Starts execution `name` of a standard state machine with `input`. Step Functions itself
 * returns the running execution when the name and input are the same; when that execution
 * has already closed (or the input differs) it answers `ExecutionAlreadyExists`, and the
 * existing execution's ARN follows from the name. No DescribeExecution call, so the caller
 * only needs `states:StartExecution`.
 */
export async function startNamedExecution(
  stateMachineArn: string,
  name: string,
  input: unknown,
  client: SFNClient,
): Promise<StartedExecution> {
  try {
    const out = await client.send(
      new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }),
    );
    if (!out.executionArn) throw new Error(`StartExecution of ${name} returned no executionArn`);
    return { executionArn: out.executionArn, executionName: name, alreadyExisted: false };
  } catch (error) {
    if ((error as Error).name === 'ExecutionAlreadyExists') {
      return { executionArn: executionArn(stateMachineArn, name), executionName: name, alreadyExisted: true };
    }
    throw error;
  }
}
