/**
 * Where a sandbox lives and how its errors read: the few things both the server and the
 * CLI's quick commands need. Kept free of other modules so `stackpilot status` loads nothing else.
 */
import { join } from 'node:path';

export const DEFAULT_PORT = 4010;
export const DEFAULT_DATA_DIR = '.stackpilot';

/** The file through which the CLI finds a running sandbox. */
export function serverFile(dataDir: string): string {
  return join(dataDir, 'server.json');
}

/** The readable part of a Cause: the `errorMessage` of a Lambda Cause document, or the text. */
export function shortCause(cause: string | undefined): string {
  if (!cause) return '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: string };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // not JSON: the cause is the message
  }
  return cause;
}
