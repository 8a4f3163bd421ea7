/**
 * The one reader of the variables a deployed function cannot work without (bucket names,
 * state machine ARNs): it fails naming the variable, so a misconfigured deployment says what
 * to fix. Each variable's name is a constant next to the code that needs it, which the CDK
 * constructs import to set it.
 */

/** An error class that takes a message (`Error`, `ConfigError`, `WebhookMisconfigured`). */
export type ErrorClass = new (message: string) => Error;

export interface RequiredEnvOptions {
  /** Why the variable is needed, said after the message in parentheses (`app hello has previews`). */
  readonly because?: string;
  /** What to throw when it is not set. @default Error */
  readonly error?: ErrorClass;
}

/**
 * The trimmed value of environment variable `name`. Missing or blank, it throws
 * `environment variable <name> is not set` (and ` (<because>)`).
 */
export function requiredEnv(name: string, { because, error = Error }: RequiredEnvOptions = {}): string {
  const value = process.env[name]?.trim();
  if (!value) throw new error(`environment variable ${name} is not set${because ? ` (${because})` : ''}`);
  return value;
}
