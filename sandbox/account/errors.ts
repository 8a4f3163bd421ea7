/**
 * Errors thrown exactly as the SDK throws them: instances of the service's own exception
 * classes (so `instanceof ServiceNotFoundException` and `error.name` checks work), with
 * `$metadata` and `$fault`.
 */

interface ExceptionOptions {
  message: string;
  $metadata: { httpStatusCode: number; requestId: string; attempts: number; totalRetryDelay: number };
}

// biome-ignore lint/suspicious/noExplicitAny: every SDK exception constructor takes its own option type.
type ExceptionClass<E> = new (options: any) => E;

function metadata(httpStatusCode: number): ExceptionOptions['$metadata'] {
  return { httpStatusCode, requestId: 'stackpilot-sandbox', attempts: 1, totalRetryDelay: 0 };
}

/** `new Class({message, $metadata, ...extra})`: a modelled exception such as `NoSuchKey`. */
export function awsError<E extends Error>(
  Class: ExceptionClass<E>,
  message: string,
  options: { httpStatusCode?: number; extra?: Record<string, unknown> } = {},
): E {
  const error = new Class({ message, $metadata: metadata(options.httpStatusCode ?? 400), ...options.extra });
  // Some exception classes keep `message` only when the service sends `Message`.
  if (!error.message) error.message = message;
  return error;
}

/**
 * An error the service reports under a code the SDK does not model as a class (Auto
 * Scaling's `ValidationError`, S3's `InvalidPart`): an instance of the service's base
 * exception class carrying that name, which is what the SDK produces for such codes.
 */
export function namedError<E extends Error>(
  BaseClass: ExceptionClass<E>,
  name: string,
  message: string,
  httpStatusCode = 400,
): E {
  return new BaseClass({ name, message, $fault: 'client', $metadata: metadata(httpStatusCode) });
}

/** A command the sandbox does not emulate: fails loudly, naming the service and the command. */
export class NotEmulated extends Error {
  override readonly name = 'NotEmulated';
  constructor(service: string, command: string) {
    super(`the sandbox does not emulate ${service} ${command}`);
  }
}
