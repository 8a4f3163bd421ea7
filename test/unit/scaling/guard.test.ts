/**
 * The guard against the emulated account's S3 (conditional writes honoured as S3 does):
 * the same event twice changes nothing the second time, and two loops never hold one
 * target at once.
 */
import { S3Client } from '@aws-sdk/client-s3';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TransientError } from '../../../shared/errors.ts';
import {
  eventMarkerKey,
  keySegment,
  leaseDecision,
  leaseKey,
  markerDecision,
  newLease,
} from '../../../shared/scaling/guard.ts';
import { acquireScalingLease, releaseScalingLease } from '../../../shared/scaling/lease-store.ts';
import { createTestAccount, direct, type TestAccount } from '../support/emulated-account.ts';

const BUCKET = 'guard';
let account: TestAccount;
const s3 = new S3Client({});
beforeEach(async () => {
  account = await createTestAccount({ clients: [s3] });
  account.account.s3.ensureBucket(BUCKET);
});
afterEach(() => account.dispose());

const keys = () => direct.keys(account, BUCKET, '');

const base = { bucket: BUCKET, app: 'starter', stage: 'dev', target: 'service' as const, leaseSeconds: 600 };
const now = () => new Date('2026-01-01T00:00:00Z');

describe('guard decisions', () => {
  it('tells a retried step of the same execution from a duplicate event', () => {
    expect(markerDecision({ owner: 'a', handledAt: '' }, 'a')).toBe('mine');
    expect(markerDecision({ owner: 'a', handledAt: '' }, 'b')).toBe('duplicate');
  });

  it('takes over only an expired lease', () => {
    const lease = newLease('a', 'e', 60, now());
    expect(leaseDecision(lease, 'a', now())).toBe('mine');
    expect(leaseDecision(lease, 'b', now())).toBe('busy');
    expect(leaseDecision(lease, 'b', new Date(now().getTime() + 60_000))).toBe('take-over');
  });
});

describe('guard keys', () => {
  it('keeps a short event key readable and unchanged', () => {
    expect(
      eventMarkerKey(
        'starter',
        'dev',
        'service',
        'alarm/stackpilot-starter-dev-service-cpu-high/2019-10-02T17:04:40.989+0000',
      ),
    ).toBe(
      'scaling/events/starter/dev/service/alarm%2Fstackpilot-starter-dev-service-cpu-high%2F2019-10-02T17%3A04%3A40.989%2B0000',
    );
    expect(leaseKey('starter', 'dev', 'cluster')).toBe('scaling/leases/starter/dev/cluster.json');
  });

  it("property: keys stay under S3's 1,024-byte limit and distinct values keep distinct keys, whatever the input", () => {
    const value = fc.oneof(fc.string({ maxLength: 3000 }), fc.string({ unit: 'grapheme', maxLength: 3000 }));
    fc.assert(
      fc.property(value, value, value, value, (app, stage, a, b) => {
        const key = eventMarkerKey(app, stage, 'cluster', a);
        expect(Buffer.byteLength(key)).toBeLessThanOrEqual(1024);
        expect(Buffer.byteLength(leaseKey(app, stage, 'cluster'))).toBeLessThanOrEqual(1024);
        if (a !== b) expect(keySegment(a)).not.toBe(keySegment(b));
        expect(eventMarkerKey(app, stage, 'cluster', a)).toBe(key);
      }),
      { numRuns: 200 },
    );
  });

  it('hashes a 64 KiB event key into a bounded segment that still starts like it', () => {
    const segment = keySegment(`ecs/${'x'.repeat(65_536)}`);
    expect(segment).toMatch(/^ecs%2Fx+~sha256-[0-9a-f]{64}$/);
    expect(Buffer.byteLength(segment)).toBeLessThan(200);
  });
});

describe('acquireScalingLease', () => {
  it('writes the marker and the lease with If-None-Match so that racing writers cannot both win', async () => {
    const result = await acquireScalingLease({ ...base, eventKey: 'alarm/x/t1', owner: 'exec-1' }, now, s3);
    expect(result).toMatchObject({ acquired: true, leaseKey: leaseKey('starter', 'dev', 'service') });
    expect(account.inputs('PutObject')).toEqual([
      expect.objectContaining({ Key: 'scaling/events/starter/dev/service/alarm%2Fx%2Ft1', IfNoneMatch: '*' }),
      expect.objectContaining({ Key: 'scaling/leases/starter/dev/service.json', IfNoneMatch: '*' }),
    ]);
  });

  it('is safe to retry within the same execution', async () => {
    await acquireScalingLease({ ...base, eventKey: 'e1', owner: 'exec-1' }, now, s3);
    const again = await acquireScalingLease({ ...base, eventKey: 'e1', owner: 'exec-1' }, now, s3);
    expect(again).toMatchObject({
      acquired: true,
      reason: 'lease on the service of starter/dev already held by this execution',
    });
  });

  it('takes over an expired lease with If-Match on its ETag', async () => {
    await acquireScalingLease({ ...base, eventKey: 'e1', owner: 'exec-1', leaseSeconds: 1 }, now, s3);
    const { ETag } = account.account.s3.commands.HeadObject({
      Bucket: BUCKET,
      Key: 'scaling/leases/starter/dev/service.json',
    });
    const later = () => new Date(now().getTime() + 5_000);
    const result = await acquireScalingLease({ ...base, eventKey: 'e2', owner: 'exec-2' }, later, s3);
    expect(result).toMatchObject({ acquired: true });
    expect(account.inputs('PutObject').at(-1)).toMatchObject({
      Key: 'scaling/leases/starter/dev/service.json',
      IfMatch: ETag,
    });
  });

  it('turns a 409 conditional-write conflict into a TransientError the state machine retries', async () => {
    account.fail('PutObject', { name: 'ConditionalRequestConflict', status: 409 });
    await expect(
      acquireScalingLease({ ...base, eventKey: 'e1', owner: 'exec-1' }, now, s3),
    ).rejects.toBeInstanceOf(TransientError);
  });

  it('property: the same event twice changes nothing the second time, and one loop at a time holds a target', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ event: fc.integer({ min: 0, max: 4 }), finishes: fc.boolean() }), {
          minLength: 1,
          maxLength: 12,
        }),
        async (arrivals) => {
          for (const Key of keys()) account.account.s3.commands.DeleteObject({ Bucket: BUCKET, Key });
          let scaled = 0;
          const handled = new Set<number>();
          const running: string[] = [];
          for (const [i, { event, finishes }] of arrivals.entries()) {
            const owner = `exec-${i}`;
            const result = await acquireScalingLease(
              { ...base, eventKey: `alarm/x/${event}`, owner },
              now,
              s3,
            );
            if (result.acquired) {
              // Admitted: a new event and no loop running.
              expect(handled.has(event)).toBe(false);
              expect(running).toEqual([]);
              handled.add(event);
              scaled++;
              running.push(owner);
            } else if (handled.has(event)) {
              expect(result.duplicate).toBe(true);
            } else {
              expect(running.length).toBe(1);
              handled.add(event);
            }
            if (finishes && running.length > 0) {
              const done = running.pop() as string;
              expect((await releaseScalingLease({ ...base, owner: done }, s3)).released).toBe(true);
            }
          }
          expect(scaled).toBeLessThanOrEqual(new Set(arrivals.map((a) => a.event)).size);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('releaseScalingLease', () => {
  it("never removes another execution's lease", async () => {
    await acquireScalingLease({ ...base, eventKey: 'e1', owner: 'exec-1' }, now, s3);
    expect(await releaseScalingLease({ ...base, owner: 'exec-2' }, s3)).toEqual({
      released: false,
      reason: 'the lease is held by exec-1, not this execution',
    });
    expect(keys()).toContain(leaseKey('starter', 'dev', 'service'));
    expect((await releaseScalingLease({ ...base, owner: 'exec-1' }, s3)).released).toBe(true);
    expect(keys()).not.toContain(leaseKey('starter', 'dev', 'service'));
  });
});
