/** The Lambda context a handler gets when it runs outside Lambda: the sandbox, the bench, the fault suite. */
import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';

export interface LocalContextOptions {
  /** The function's ARN. @default - a us-east-1 ARN named `stackpilot-<folder>` */
  readonly functionArn?: string;
  /** @default 'sandbox' */
  readonly logStreamName?: string;
  /** @default '256' */
  readonly memoryLimitInMB?: string;
  /** @default 60_000 */
  readonly remainingTimeMs?: number;
}

/** A context for the function of `functions/<folder>`: enough for middy and the Powertools logger. */
export function localLambdaContext(folder: string, options: LocalContextOptions = {}): Context {
  const functionName = `stackpilot-${folder}`;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn:
      options.functionArn ?? `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: options.memoryLimitInMB ?? '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: options.logStreamName ?? 'sandbox',
    getRemainingTimeInMillis: () => options.remainingTimeMs ?? 60_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
