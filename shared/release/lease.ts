/**
 * One release per stage, pure: the stage's lease says which release may change the service
 * (`holder`) and which is the newest that asked (`newest`). A release that is older than the
 * newest one never changes the service: it is superseded. A release waits while another one
 * holds the lease (that one finishes or rolls back first), unless that execution has ended.
 */

/** A release execution, ordered by its start. */
export interface LeaseEntry {
  /** The execution's ARN. */
  readonly execution: string;
  /** The execution's start (ISO 8601). */
  readonly startedAt: string;
}

/** The stage lease document (`release-leases/<app>/<stage>.json`). */
export interface StageLease {
  readonly holder?: LeaseEntry;
  readonly newest?: LeaseEntry;
}

export type LeaseDecision =
  /** Holds the lease: go on and change the service. */
  | { readonly decision: 'go'; readonly next?: StageLease; readonly reason: string }
  /** Another release holds it: ask again later. */
  | {
      readonly decision: 'wait';
      readonly next?: StageLease;
      readonly reason: string;
      readonly holder: LeaseEntry;
    }
  /** A newer release asked: end without touching the service. */
  | { readonly decision: 'superseded'; readonly reason: string; readonly newest: LeaseEntry };

/** True when `a` started after `b` (the execution ARN breaks a tie). */
export function isNewer(a: LeaseEntry, b: LeaseEntry): boolean {
  const ta = Date.parse(a.startedAt);
  const tb = Date.parse(b.startedAt);
  return ta !== tb ? ta > tb : a.execution > b.execution;
}

/**
 * What `me` does, given the lease and whether its holder is still running (undefined: not
 * known, taken as running). `next` is the lease to write (absent: no change).
 */
export function decideLease(
  lease: StageLease | undefined,
  me: LeaseEntry,
  holderRunning: boolean | undefined,
): LeaseDecision {
  const holder = lease?.holder;
  if (holder?.execution === me.execution) return { decision: 'go', reason: 'this release holds the stage' };
  const newest = lease?.newest;
  if (newest && newest.execution !== me.execution && isNewer(newest, me)) {
    return {
      decision: 'superseded',
      newest,
      reason: `superseded by the newer release ${newest.execution} (started ${newest.startedAt}) before it changed the service`,
    };
  }
  if (holder && holderRunning !== false) {
    return {
      decision: 'wait',
      holder,
      next: newest?.execution === me.execution ? undefined : { holder, newest: me },
      reason: `release ${holder.execution} is changing the stage; this release goes next`,
    };
  }
  return {
    decision: 'go',
    next: { holder: me, newest: me },
    reason: holder ? `took the stage over from ${holder.execution}, which has ended` : 'took the stage',
  };
}

/** The lease after `execution` ended: freed when it held it (undefined: no change). */
export function leaveLease(lease: StageLease | undefined, execution: string): StageLease | undefined {
  if (lease?.holder?.execution !== execution) return undefined;
  return lease.newest ? { newest: lease.newest } : {};
}

/** `release-leases/<app>/<stage>.json` */
export function leaseKey(app: string, stage: string): string {
  return `release-leases/${app}/${stage}.json`;
}

/** What Prepare Release hands on of a decision: go, wait (for the holder) or superseded (by the newest). */
export function leaseSummary(lease: LeaseDecision): {
  decision: LeaseDecision['decision'];
  reason: string;
  by?: string;
} {
  return {
    decision: lease.decision,
    reason: lease.reason,
    ...(lease.decision === 'superseded'
      ? { by: lease.newest.execution }
      : lease.decision === 'wait'
        ? { by: lease.holder.execution }
        : {}),
  };
}
