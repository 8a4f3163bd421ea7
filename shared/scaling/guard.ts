/**
 * The idempotency and concurrency guard of the scaling loops, as pure decisions.
 *
 * EventBridge cannot name the executions it starts, so the guard lives in the state
 * machine: its first change-making step writes an event marker (the same event twice
 * finds it and stops) and takes a per-(stage, target) lease (a second loop for the same
 * target while one runs finds it and stops). Both are objects written with S3 conditional
 * writes (`If-None-Match: *`, `If-Match: <etag>`), see `lease-store.ts`.
 */
import type { ScaleTarget } from '../naming.ts';

/** Key prefix of the guard's objects in its bucket. */
export const GUARD_PREFIX = 'scaling';

/** The lease object of one (stage, target). */
export function leaseKey(app: string, stage: string, target: ScaleTarget): string {
  return `${GUARD_PREFIX}/leases/${app}/${stage}/${target}.json`;
}

/** The marker object of one triggering event (its key made safe for S3). */
export function eventMarkerKey(app: string, stage: string, target: ScaleTarget, eventKey: string): string {
  return `${GUARD_PREFIX}/events/${app}/${stage}/${target}/${encodeURIComponent(eventKey)}`;
}

/** The content of a lease object. */
export interface Lease {
  /** Execution that holds it (its ARN). */
  readonly owner: string;
  readonly eventKey: string;
  readonly acquiredAt: string;
  readonly expiresAt: string;
}

/** The content of an event marker: which execution handled the event. */
export interface EventMarker {
  readonly owner: string;
  readonly handledAt: string;
}

/**
 * An event marker already exists: is it ours (a retried step of the same execution, go on)
 * or another execution's (a duplicate event, stop)?
 */
export function markerDecision(existing: EventMarker, owner: string): 'mine' | 'duplicate' {
  return existing.owner === owner ? 'mine' : 'duplicate';
}

/**
 * A lease object already exists: ours (a retried step), expired (its loop died: take it
 * over), or held by a running loop (stop).
 */
export function leaseDecision(existing: Lease, owner: string, now: Date): 'mine' | 'take-over' | 'busy' {
  if (existing.owner === owner) return 'mine';
  return Date.parse(existing.expiresAt) <= now.getTime() ? 'take-over' : 'busy';
}

/** A new lease for `owner`, valid `seconds` from `now`. */
export function newLease(owner: string, eventKey: string, seconds: number, now: Date): Lease {
  return {
    owner,
    eventKey,
    acquiredAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + seconds * 1000).toISOString(),
  };
}
