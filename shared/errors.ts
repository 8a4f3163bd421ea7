/**
 * Errors that state machines act on. A Lambda error reaches Step Functions with the
 * error's `name` as `Error` (what `Retry` and `Catch` match) and its message inside
 * `Cause`, so every name here is part of the ASL contract and every message is written
 * for the operator who reads the failed execution.
 */
import type { z } from 'zod';

/** The input of a step does not match its schema; never retried. */
export class InvalidInput extends Error {
  override readonly name = 'InvalidInput';
}

/** A temporary failure (throttling, a 5xx, a network error): the state machine retries it with backoff. */
export class TransientError extends Error {
  override readonly name = 'TransientError';
}

const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
]);
const TRANSIENT = new Set([
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalError',
  'InternalFailure',
  'InternalServerError',
  'ServerException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
]);

interface SdkLikeError {
  name?: string;
  code?: string;
  $retryable?: unknown;
  $fault?: string;
  $metadata?: { httpStatusCode?: number };
}

/** True for AWS SDK and network errors worth retrying later. */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const e = error as SdkLikeError;
  const name = e.name ?? '';
  const status = e.$metadata?.httpStatusCode;
  return (
    THROTTLING.has(name) ||
    TRANSIENT.has(name) ||
    (e.code !== undefined && TRANSIENT.has(e.code)) ||
    e.$retryable !== undefined ||
    e.$fault === 'server' ||
    status === 429 ||
    (status !== undefined && status >= 500)
  );
}

/**
 * What a task handler throws: transient AWS failures become {@link TransientError}
 * (one name for the ASL to retry), everything else stays as it was.
 */
export function toTaskError(error: unknown): Error {
  if (error instanceof TransientError || error instanceof InvalidInput) return error;
  if (isTransient(error)) {
    const e = error as Error;
    return new TransientError(`${e.name}: ${e.message}`, { cause: error });
  }
  return error instanceof Error ? error : new Error(String(error));
}

/** Parses a step's input with its schema; a mismatch is an {@link InvalidInput} naming each bad field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, what = 'input'): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map(
    (i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`,
  );
  throw new InvalidInput(`invalid ${what}: ${problems.join('; ')}`);
}

/** What a Catch puts at its ResultPath: the error's name and its Cause. */
export interface CaughtError {
  readonly Error: string;
  readonly Cause?: string | undefined;
}

/** The message of a Lambda error's Cause (`{"errorMessage": …}`), or the Cause as it is. */
export function causeMessage(cause: string | undefined): string {
  if (!cause) return 'no cause given';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    return typeof parsed.errorMessage === 'string' ? parsed.errorMessage : cause;
  } catch {
    return cause;
  }
}

/**
 * A caught error as the execution ends with it: Cause `<step> failed: <message>`. The message is
 * read out of a Lambda error document (`{"errorType": …, "errorMessage": …}`), whoever threw it:
 * our own errors and the platform's (`Runtime.ExitError`, `Sandbox.Timedout`) alike; any other
 * Cause (`States.Timeout`'s sentence) is told as it is. Every state machine explains its failures
 * through this one rule.
 */
export function explainCaught(step: string, caught: CaughtError): CaughtError {
  return { Error: caught.Error, Cause: `${step} failed: ${causeMessage(caught.Cause)}` };
}
