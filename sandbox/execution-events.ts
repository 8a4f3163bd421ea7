/**
 * "Step Functions Execution Status Change" events of the sandbox's executions, shaped as Step
 * Functions puts them on the default bus (`events/samples/step-functions-execution-*.json`):
 * the detail is what DescribeExecution returns, input and output as JSON text, dates in
 * milliseconds. The server puts one on its bus at each status an execution enters.
 */
import { EXECUTION_STATUS_CHANGE } from '#events/step-functions-execution.ts';
import type { ExecutionRecord } from './runner.ts';

/** The bus event of an execution's current status. */
export function executionStatusChangeEvent(record: Omit<ExecutionRecord, 'history'>) {
  const ended = record.status !== 'RUNNING';
  return {
    source: 'aws.states',
    'detail-type': EXECUTION_STATUS_CHANGE,
    resources: [record.executionArn],
    detail: {
      executionArn: record.executionArn,
      stateMachineArn: record.stateMachineArn,
      name: record.name,
      status: record.status,
      startDate: Date.parse(record.startDate),
      stopDate: ended && record.stopDate ? Date.parse(record.stopDate) : null,
      input: JSON.stringify(record.input ?? {}),
      inputDetails: { included: true },
      output: record.status === 'SUCCEEDED' ? JSON.stringify(record.output ?? null) : null,
      outputDetails: record.status === 'SUCCEEDED' ? { included: true } : null,
      error: record.error ?? null,
      cause: record.cause ?? null,
    },
  };
}
