/**
 * The release history: one small JSON object per finished release, under
 * `releases/<app>/<stage>/` in the control plane's bucket. The key alone says when, which
 * revision and how it ended (`20261121T234012Z-r13-COMPLETED.json`), so `aws s3 ls`
 * lists the history and a rollback finds the previous good revision from one listing.
 * Pure: the S3 adapter is `shared/release/history-store.ts`.
 */
import type { ReleaseAction } from '#events/release.ts';
import type { PreparedRelease, Target, Tracker } from './model.ts';

/** How a release ended. */
export const RELEASE_RESULTS = ['COMPLETED', 'ROLLED_BACK', 'ROLLBACK_FAILED'] as const;
export type ReleaseResult = (typeof RELEASE_RESULTS)[number];

/** One finished release, as stored. */
export interface ReleaseRecord {
  readonly app: string;
  readonly stage: string;
  readonly action: ReleaseAction;
  readonly commit?: string;
  readonly image?: string;
  /** A promotion: the stage of the same app the image was released in first. */
  readonly promotedFrom?: string;
  /** The revision the release deployed (or tried to). */
  readonly revision: number;
  readonly taskDefinitionArn: string;
  readonly result: ReleaseResult;
  /** The revision running when the release ended. */
  readonly runningRevision: number;
  readonly deploymentId?: string;
  readonly error?: string;
  readonly cause?: string;
  /** Step Functions execution name: the console link to the whole story. */
  readonly execution: string;
  readonly startedAt: string;
  readonly finishedAt: string;
}

/** Key prefix of a stage's history. */
export function historyPrefix(app: string, stage: string): string {
  return `releases/${app}/${stage}/`;
}

/** `2026-11-21T23:40:12.345Z` -> `20261121T234012345Z`: sorts by time, no characters that need quoting. */
function compactTime(iso: string): string {
  return iso.replace(/[-:.]/g, '');
}

/** Where a record is stored. */
export function recordKey(record: ReleaseRecord): string {
  return `${historyPrefix(record.app, record.stage)}${compactTime(record.finishedAt)}-r${record.revision}-${record.result}.json`;
}

export interface HistoryEntry {
  readonly key: string;
  /** Compact time, comparable as a string. */
  readonly time: string;
  readonly revision: number;
  readonly result: ReleaseResult;
}

const KEY = /\/(\d{8}T\d{6,9}Z)-r(\d+)-(COMPLETED|ROLLED_BACK|ROLLBACK_FAILED)\.json$/;

/** Reads a history key; undefined for any other object under the prefix. */
export function parseRecordKey(key: string): HistoryEntry | undefined {
  const match = KEY.exec(key);
  if (!match) return undefined;
  return { key, time: match[1] as string, revision: Number(match[2]), result: match[3] as ReleaseResult };
}

/** The entries of a listing, newest first. */
export function newestFirst(keys: readonly string[]): HistoryEntry[] {
  return keys
    .flatMap((k) => parseRecordKey(k) ?? [])
    .sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : b.revision - a.revision));
}

/**
 * Revisions a rollback without `toRevision` may return to, best first: those of successful
 * releases, newest first, without duplicates and without the revision running now.
 */
export function rollbackCandidates(keys: readonly string[], runningRevision: number): number[] {
  const revisions = newestFirst(keys)
    .filter((e) => e.result === 'COMPLETED' && e.revision !== runningRevision)
    .map((e) => e.revision);
  return [...new Set(revisions)];
}

/**
 * True when the newest entry already records this revision as completed: a re-run that
 * changed nothing adds no line to the history.
 */
export function alreadyRecorded(keys: readonly string[], revision: number, result: ReleaseResult): boolean {
  const newest = newestFirst(keys)[0];
  return newest !== undefined && newest.revision === revision && newest.result === result;
}

/** How a release ended: completed, or rolled back (or not) after it failed. */
export function releaseResult(rollback: Tracker | undefined): ReleaseResult {
  if (!rollback) return 'COMPLETED';
  return rollback.state === 'COMPLETED' ? 'ROLLED_BACK' : 'ROLLBACK_FAILED';
}

/** What Record Release reads: the prepared release, its target, and its deployment and rollback when they ran. */
export interface EndedRelease {
  readonly PrepareResult: PreparedRelease;
  readonly Target: Target;
  readonly Deployment?: Tracker;
  readonly Rollback?: Tracker;
}

/** The history record of a release that ended at `finishedAt`. */
export function releaseRecord(ended: EndedRelease, finishedAt: string): ReleaseRecord {
  const { PrepareResult: release, Target: target, Deployment, Rollback } = ended;
  return {
    app: release.app,
    stage: release.stage,
    action: release.action,
    ...(release.commit ? { commit: release.commit } : {}),
    ...(release.promotedFrom ? { promotedFrom: release.promotedFrom } : {}),
    ...((target.image ?? release.image) ? { image: target.image ?? release.image } : {}),
    revision: target.revision,
    taskDefinitionArn: target.taskDefinitionArn,
    result: releaseResult(Rollback),
    runningRevision: Rollback?.state === 'COMPLETED' ? Rollback.revision : target.revision,
    ...(Deployment ? { deploymentId: Deployment.deploymentId } : {}),
    ...(Rollback?.outcome ? { error: Rollback.outcome.error, cause: Rollback.outcome.cause } : {}),
    execution: release.execution,
    startedAt: release.startedAt,
    finishedAt,
  };
}
