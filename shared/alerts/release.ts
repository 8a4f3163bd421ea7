/**
 * Which stage a failed release belongs to, and what its alert says: pure. The `release` state
 * machine serves every stage, so the stage is read from the execution's input.
 */

import type { ReleaseFailedDetail } from '#events/release-alert.ts';
import {
  type ExecutionStatusChange,
  executionConsoleUrl,
  UNSUCCESSFUL_STATUSES,
} from '#events/step-functions-execution.ts';
import { readableCause } from '../commit-status/status.ts';

/** The detail of the "stackpilot Release Failed" event of a release that ended without success, or why there is none. */
export function releaseFailedDetail(event: ExecutionStatusChange): ReleaseFailedDetail | { skipped: string } {
  const { detail } = event;
  if (!(UNSUCCESSFUL_STATUSES as readonly string[]).includes(detail.status)) {
    return { skipped: `release ${detail.name} is ${detail.status}, not a failure` };
  }
  let input: Record<string, unknown> = {};
  try {
    const parsed: unknown = detail.input == null ? undefined : JSON.parse(detail.input);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
      input = parsed as Record<string, unknown>;
  } catch {
    // an input that is not JSON names no stage
  }
  const { app, stage } = input;
  if (typeof app !== 'string' || typeof stage !== 'string' || !app || !stage) {
    return { skipped: `the input of release ${detail.name} names no app and stage` };
  }
  const action =
    input.action === 'rollback' ? 'rollback' : typeof input.commit === 'string' ? 'release' : 'redeploy';
  return {
    app,
    stage,
    status: detail.status,
    action,
    ...(typeof input.commit === 'string' && { commit: input.commit }),
    error: detail.error ?? (detail.status === 'TIMED_OUT' ? 'States.Timeout' : detail.status),
    cause:
      readableCause(detail.cause) ||
      (detail.status === 'ABORTED' ? 'the execution was stopped' : 'the release ended without a cause'),
    executionArn: detail.executionArn,
    consoleUrl: executionConsoleUrl(detail.executionArn),
  };
}
