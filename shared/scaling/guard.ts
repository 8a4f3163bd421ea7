/**
 * The idempotency and concurrency guard of the scaling loops, as pure decisions.
 *
 * EventBridge cannot name the executions it starts, so the guard lives in the state
 * machine: its first change-making step writes an event marker (the same event twice
 * finds it and stops) and takes a per-(stage, target) lease (a second loop for the same
 * target while one runs finds it and stops). Both are objects written with S3 conditional
 * writes (`If-None-Match: *`, `If-Match: <etag>`), see `lease-store.ts`.
 */
import { createHash } from 'node:crypto';
import type { ScaleTarget } from '../naming.ts';

/** Key prefix of the guard's objects in its bucket. */
export const GUARD_PREFIX = 'scaling';

/**
 * Longest key segment kept as is, in bytes. With the prefix and four segments a key stays
 * far below S3's 1,024-byte limit whatever the input (S3 refuses longer keys outright).
 */
export const MAX_SEGMENT_BYTES = 200;

/**
 * One key segment: the value made safe for S3 (URI-encoded); one over
 * {@link MAX_SEGMENT_BYTES} becomes its first characters plus the SHA-256 of the whole
 * value, so distinct values keep distinct keys and the same value always the same key.
 */
export function keySegment(value: string): string {
  const encoded = encodeURIComponent(value);
  if (Buffer.byteLength(encoded) <= MAX_SEGMENT_BYTES) return encoded;
  const hash = createHash('sha256').update(value).digest('hex');
  // Cut before a %XX escape rather than through it, so the head stays decodable.
  const head = encoded.slice(0, 100).replace(/%[0-9A-F]?$/, '');
  return `${head}~sha256-${hash}`;
}

/** The lease object of one (stage, target). */
export function leaseKey(app: string, stage: string, target: ScaleTarget): string {
  return `${GUARD_PREFIX}/leases/${keySegment(app)}/${keySegment(stage)}/${target}.json`;
}

/** The marker object of one triggering event (its key made safe and bounded for S3). */
export function eventMarkerKey(app: string, stage: string, target: ScaleTarget, eventKey: string): string {
  return `${GUARD_PREFIX}/events/${keySegment(app)}/${keySegment(stage)}/${target}/${keySegment(eventKey)}`;
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
