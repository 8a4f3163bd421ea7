/**
 * "Step Functions Execution Status Change" events (source `aws.states`), as Step Functions
 * puts them on the default bus for every status an execution of a standard workflow enters
 * (samples: `events/samples/step-functions-execution-*.json`, shaped as in the Step Functions
 * docs). `detail` carries what DescribeExecution returns: the input as a JSON string, and the
 * output or the error and cause once the execution ended. A payload over 248 KB is left out
 * (`inputDetails.included: false`), so the input may be missing.
 */
import * as z from 'zod';

export const EXECUTION_STATUS_CHANGE = 'Step Functions Execution Status Change';

/** The statuses an event reports; an execution that ends is in one of the last four. */
export const EXECUTION_STATUSES = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];

/** The statuses of an execution that ended without success. */
export const UNSUCCESSFUL_STATUSES = [
  'FAILED',
  'TIMED_OUT',
  'ABORTED',
] as const satisfies readonly ExecutionStatus[];

const nullableText = z.string().nullish();

export const executionStatusChangeSchema = z.looseObject({
  version: z.string(),
  id: z.string(),
  'detail-type': z.literal(EXECUTION_STATUS_CHANGE),
  source: z.literal('aws.states'),
  account: z.string(),
  time: z.string(),
  region: z.string(),
  resources: z.array(z.string()),
  detail: z.looseObject({
    executionArn: z.string().min(1),
    stateMachineArn: z.string().min(1),
    name: z.string().min(1),
    /** A status Step Functions adds later (PENDING_REDRIVE) parses, and is ignored by the readers. */
    status: z.string().min(1),
    startDate: z.number().nullish(),
    stopDate: z.number().nullish(),
    input: nullableText,
    inputDetails: z.looseObject({ included: z.boolean() }).nullish(),
    output: nullableText,
    outputDetails: z.looseObject({ included: z.boolean() }).nullish(),
    error: nullableText,
    cause: nullableText,
  }),
});

export type ExecutionStatusChange = z.output<typeof executionStatusChangeSchema>;

/**
 * EventBridge pattern (JSON form) of the status changes of the given state machines, by ARN,
 * optionally only the given statuses.
 */
export function executionStatusChangePattern(
  stateMachineArns: readonly string[],
  statuses?: readonly ExecutionStatus[],
) {
  return {
    source: ['aws.states'],
    'detail-type': [EXECUTION_STATUS_CHANGE],
    detail: {
      stateMachineArn: [...stateMachineArns],
      ...(statuses && { status: [...statuses] }),
    },
  };
}

/**
 * The execution's page in the Step Functions console: what a commit status links to and an
 * alert mail names.
 */
export function executionConsoleUrl(executionArn: string): string {
  const region = executionArn.split(':')[3] || 'us-east-1';
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${executionArn}`;
}
