import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CloudWatchLogsClient,
  DescribeLogStreamsCommand,
  FilterLogEventsCommand,
  InvalidParameterException,
  ResourceNotFoundException,
} from '@aws-sdk/client-cloudwatch-logs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEmulatedAccount, manualClock } from '../../../sandbox/account/index.ts';
import { CloudWatchLogsEmulator, MAX_EVENTS_PER_STREAM } from '../../../sandbox/account/logs.ts';
import { clientConfig, newDataDir, removeDataDir, testConfig } from './support.ts';

describe('emulated CloudWatch Logs', () => {
  let dataDir: string;
  let logs: CloudWatchLogsClient;
  let account: ReturnType<typeof createEmulatedAccount>;
  const group = 'StackpilotShopDev-ClusterLogs1234-abcd';
  const streamA = 'dev/app/0f0e0d0c0b0a09080706050403020100';
  const streamB = 'dev/app/1111aaaa2222bbbb3333cccc4444dddd';

  beforeEach(() => {
    dataDir = newDataDir();
    account = createEmulatedAccount({ dataDir, config: testConfig(), clock: manualClock() });
    logs = new CloudWatchLogsClient(clientConfig);
    account.attach([logs]);
  });
  afterEach(() => removeDataDir(dataDir));

  it('answers FilterLogEvents with what the tasks appended, in time order across streams', async () => {
    account.logs.append(group, streamA, [
      { timestamp: 1000, message: 'listening on 8080' },
      { timestamp: 3000, message: 'GET /health 200' },
    ]);
    account.logs.append(group, streamB, [{ timestamp: 2000, message: 'listening on 8080' }]);
    const all = await logs.send(new FilterLogEventsCommand({ logGroupName: group }));
    expect(all.events?.map((e) => [e.timestamp, e.logStreamName, e.message])).toEqual([
      [1000, streamA, 'listening on 8080'],
      [2000, streamB, 'listening on 8080'],
      [3000, streamA, 'GET /health 200'],
    ]);
    expect(new Set(all.events?.map((e) => e.eventId)).size).toBe(3);
    const recent = await logs.send(
      new FilterLogEventsCommand({ logGroupName: group, startTime: 2000, filterPattern: '"listening on"' }),
    );
    expect(recent.events?.map((e) => e.logStreamName)).toEqual([streamB]);
    const one = await logs.send(
      new FilterLogEventsCommand({ logGroupName: group, logStreamNames: [streamA] }),
    );
    expect(one.events).toHaveLength(2);
  });

  it('pages with nextToken without repeating or losing an event', async () => {
    account.logs.append(
      group,
      streamA,
      Array.from({ length: 7 }, (_, i) => ({ timestamp: 100 + i, message: `line ${i}` })),
    );
    const messages: string[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const page = await logs.send(new FilterLogEventsCommand({ logGroupName: group, limit: 3, nextToken }));
      messages.push(...(page.events ?? []).map((e) => e.message ?? ''));
      nextToken = page.nextToken;
      pages += 1;
    } while (nextToken);
    expect(pages).toBe(3);
    expect(messages).toEqual(Array.from({ length: 7 }, (_, i) => `line ${i}`));
  });

  it('throws the SDK exceptions for a missing group and a bad request', async () => {
    await expect(logs.send(new FilterLogEventsCommand({ logGroupName: 'nope' }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
    account.logs.ensureLogGroup(group);
    await expect(
      logs.send(
        new FilterLogEventsCommand({ logGroupName: group, logStreamNames: ['a'], logStreamNamePrefix: 'a' }),
      ),
    ).rejects.toBeInstanceOf(InvalidParameterException);
    await expect(
      logs.send(new FilterLogEventsCommand({ logGroupName: group, filterPattern: '{ $.level = "error" }' })),
    ).rejects.toThrow(/terms and quoted phrases only/);
    expect((await logs.send(new FilterLogEventsCommand({ logGroupName: group }))).events).toEqual([]);
  });

  it('describes streams by last event time', async () => {
    account.logs.append(group, streamA, [{ timestamp: 5000, message: 'late' }]);
    account.logs.append(group, streamB, [{ timestamp: 1000, message: 'early' }]);
    const { logStreams } = await logs.send(
      new DescribeLogStreamsCommand({ logGroupName: group, orderBy: 'LastEventTime', descending: true }),
    );
    expect(logStreams?.map((s) => [s.logStreamName, s.lastEventTimestamp])).toEqual([
      [streamA, 5000],
      [streamB, 1000],
    ]);
  });

  it('keeps a bounded stream on disk, readable by another process', () => {
    const total = Math.ceil(MAX_EVENTS_PER_STREAM * 1.25) + 10;
    for (let i = 0; i < total; i += 500)
      account.logs.append(
        group,
        streamA,
        Array.from({ length: Math.min(500, total - i) }, (_, j) => ({
          timestamp: i + j,
          message: `n${i + j}`,
        })),
      );
    const file = join(
      dataDir,
      'account',
      'logs',
      encodeURIComponent(group),
      `${encodeURIComponent(streamA)}.jsonl`,
    );
    expect(readFileSync(file, 'utf8').trim().split('\n').length).toBeLessThanOrEqual(
      MAX_EVENTS_PER_STREAM + 500,
    );
    const reader = new CloudWatchLogsEmulator(dataDir);
    const { events } = reader.filterLogEvents({ logGroupName: group });
    expect(events?.at(-1)?.message).toBe(`n${total - 1}`);
    expect(events?.[0]?.timestamp).toBeGreaterThan(0);
  });
});
