import { describe, expect, it } from 'vitest';
import {
  alreadyRecorded,
  newestFirst,
  parseRecordKey,
  type ReleaseRecord,
  recordKey,
  rollbackCandidates,
} from '#shared/release/history.ts';

const record: ReleaseRecord = {
  app: 'starter',
  stage: 'dev',
  action: 'release',
  revision: 13,
  taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/stackpilot-starter-dev:13',
  result: 'COMPLETED',
  runningRevision: 13,
  execution: 'release-1',
  startedAt: '2026-11-21T23:30:00.000Z',
  finishedAt: '2026-11-21T23:40:12.345Z',
};
const key = (time: string, revision: number, result: string) =>
  `releases/starter/dev/${time}-r${revision}-${result}.json`;

describe('release history', () => {
  it('keys a record by time, revision and result, readable back', () => {
    expect(recordKey(record)).toBe('releases/starter/dev/20261121T234012345Z-r13-COMPLETED.json');
    expect(parseRecordKey(recordKey(record))).toMatchObject({
      revision: 13,
      result: 'COMPLETED',
      time: '20261121T234012345Z',
    });
    expect(parseRecordKey('releases/starter/dev/notes.txt')).toBeUndefined();
  });

  it('orders newest first', () => {
    const keys = [key('20261120T100000000Z', 11, 'COMPLETED'), key('20261121T100000000Z', 12, 'COMPLETED')];
    expect(newestFirst(keys).map((e) => e.revision)).toEqual([12, 11]);
  });

  it('offers the newest successful revisions other than the running one, without repeats', () => {
    const keys = [
      key('20261118T100000000Z', 10, 'COMPLETED'),
      key('20261119T100000000Z', 11, 'COMPLETED'),
      key('20261119T110000000Z', 10, 'COMPLETED'),
      key('20261120T100000000Z', 13, 'ROLLED_BACK'),
      key('20261121T100000000Z', 12, 'COMPLETED'),
    ];
    expect(rollbackCandidates(keys, 12)).toEqual([10, 11]);
  });

  it('knows when the newest record already says the same', () => {
    const keys = [key('20261121T100000000Z', 12, 'COMPLETED')];
    expect(alreadyRecorded(keys, 12, 'COMPLETED')).toBe(true);
    expect(alreadyRecorded(keys, 13, 'COMPLETED')).toBe(false);
    expect(alreadyRecorded([], 12, 'COMPLETED')).toBe(false);
  });
});
