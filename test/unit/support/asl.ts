/** What the path tests share: asl-validator, and the errors every Task of every state machine retries. */
import { createRequire } from 'node:module';

type AslValidator = (
  definition: unknown,
  options: { checkArn: boolean; checkPaths: boolean },
) => { isValid: boolean; errorsText: (separator?: string) => string };

export const aslValidator = createRequire(import.meta.url)('asl-validator') as AslValidator;

/**
 * The errors every Task retries: `TransientError` (what `toTaskError` makes of throttling, 5xx
 * and network errors) plus the Lambda service's own. Every other error goes to the Catch.
 */
export const RETRYABLE_ERRORS = [
  'TransientError',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
] as const;
