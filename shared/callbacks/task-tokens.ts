/**
 * Resuming an execution that waits on a task token: SendTaskSuccess / SendTaskFailure.
 * A token whose task has already ended (resumed by the other side of a race, timed out,
 * execution stopped) is reported as `closed`, never thrown: there is nothing left to resume.
 */
import { SendTaskFailureCommand, SendTaskSuccessCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { Resume } from './model.ts';

/** Errors of the Send* calls that mean the task is no longer waiting. */
const CLOSED = new Set(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']);

/** Cause is limited to 32,768 characters, Error to 256. */
const limit = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** Resumes the task; `closed` when it was no longer waiting. */
export async function resumeTask(
  token: string,
  resume: Resume,
  client: SFNClient,
): Promise<'resumed' | 'closed'> {
  try {
    if (resume.action === 'success') {
      await client.send(
        new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify(resume.output) }),
      );
    } else {
      await client.send(
        new SendTaskFailureCommand({
          taskToken: token,
          error: limit(resume.error, 256),
          cause: limit(resume.cause, 32_768),
        }),
      );
    }
    return 'resumed';
  } catch (error) {
    if (CLOSED.has((error as Error).name)) return 'closed';
    throw error;
  }
}
