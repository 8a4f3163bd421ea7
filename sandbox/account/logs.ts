/**
 * Emulated CloudWatch Logs: what the tasks of a stage print, as ECS's `awslogs` driver ships
 * it (group: the container's `awslogs-group`; stream: `<awslogs-stream-prefix>/<container>/<task
 * id>`), read back with FilterLogEvents and DescribeLogStreams.
 *
 * On disk, bounded: one JSON Lines file per stream under `<data>/account/logs/<group>/`, written
 * on every `append` (so `stackpilot logs` in another process reads them, and a restart keeps
 * them). A stream keeps its last {@link MAX_EVENTS_PER_STREAM} events and a group its
 * {@link MAX_STREAMS_PER_GROUP} most recently written streams; older ones are dropped, as a
 * retention period would. The module loads no SDK code until an error must be thrown, so the
 * CLI can read the files through the same code at the cost of a few file reads.
 */
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type {
  DescribeLogStreamsCommandInput,
  DescribeLogStreamsCommandOutput,
  FilteredLogEvent,
  FilterLogEventsCommandInput,
  FilterLogEventsCommandOutput,
  LogStream,
} from '@aws-sdk/client-cloudwatch-logs';
import type { Emulator, Result } from './types.ts';

/** Events a stream keeps (its oldest go first). */
export const MAX_EVENTS_PER_STREAM = 5000;
/** Streams a group keeps (the least recently written go first): one per task that ever ran. */
export const MAX_STREAMS_PER_GROUP = 200;
/** CloudWatch Logs' largest event (256 KiB); longer messages are cut to it. */
export const MAX_MESSAGE_BYTES = 256 * 1024;
/** FilterLogEvents' largest and default page. */
const MAX_FILTER_LIMIT = 10_000;

/** One stored line: timestamp, ingestion time, sequence number in its stream, message. */
type Line = [number, number, number, string];

interface StreamState {
  /** Events in the file now. */
  count: number;
  /** Sequence number of the last event appended. */
  seq: number;
}

/** A request the service refuses, named as the service names it; mapped to the SDK's exception classes. */
export class LogsRequestError extends Error {
  constructor(
    readonly code: 'ResourceNotFoundException' | 'InvalidParameterException',
    message: string,
  ) {
    super(message);
    this.name = code;
  }
}

export class CloudWatchLogsEmulator implements Emulator {
  readonly service = 'CloudWatchLogs';
  private readonly root: string;
  private readonly streams = new Map<string, StreamState>();

  /** `now` stamps the ingestion time of appended events (the account's clock). */
  constructor(
    dataDir: string,
    private readonly now: () => number = Date.now,
  ) {
    this.root = join(dataDir, 'account', 'logs');
  }

  /** Appends are on disk when `append` returns: nothing to write later. */
  save(): void {}

  /** Creates the group when it does not exist (what `cdk deploy` does for a stage's log group). */
  ensureLogGroup(logGroupName: string): void {
    mkdirSync(this.groupDir(logGroupName), { recursive: true });
  }

  /**
   * Adds `events` to a stream, creating the group and the stream when needed (the `awslogs`
   * driver creates its streams). Timestamps are epoch milliseconds.
   */
  append(
    logGroupName: string,
    logStreamName: string,
    events: { timestamp: number; message: string }[],
  ): void {
    if (events.length === 0) return;
    const dir = this.groupDir(logGroupName);
    const file = join(dir, this.streamFile(logStreamName));
    const key = `${logGroupName}\0${logStreamName}`;
    let state = this.streams.get(key);
    if (!state) {
      const lines = existsSync(file) ? readLines(file) : [];
      state = { count: lines.length, seq: lines.at(-1)?.[2] ?? 0 };
      this.streams.set(key, state);
      if (lines.length === 0) {
        mkdirSync(dir, { recursive: true });
        this.dropOldStreams(dir, logGroupName);
      }
    }
    const ingestion = this.now();
    let text = '';
    for (const event of events) {
      state.seq += 1;
      const line: Line = [Math.trunc(event.timestamp), ingestion, state.seq, cut(event.message)];
      text += `${JSON.stringify(line)}\n`;
    }
    appendFileSync(file, text);
    state.count += events.length;
    // Rewrite only once a quarter over the bound: appends stay appends.
    if (state.count > MAX_EVENTS_PER_STREAM * 1.25) {
      const kept = readLines(file).slice(-MAX_EVENTS_PER_STREAM);
      writeFileSync(file, kept.map((l) => `${JSON.stringify(l)}\n`).join(''));
      state.count = kept.length;
    }
  }

  readonly commands = {
    FilterLogEvents: async (
      input: FilterLogEventsCommandInput,
    ): Promise<Result<FilterLogEventsCommandOutput>> => sdkErrors(() => this.filterLogEvents(input)),
    DescribeLogStreams: async (
      input: DescribeLogStreamsCommandInput,
    ): Promise<Result<DescribeLogStreamsCommandOutput>> => sdkErrors(() => this.describeLogStreams(input)),
  };

  /** FilterLogEvents, in time order across the group's streams. Throws {@link LogsRequestError}. */
  filterLogEvents(input: FilterLogEventsCommandInput): Result<FilterLogEventsCommandOutput> {
    const group = groupOf(input);
    if (input.logStreamNames && input.logStreamNamePrefix !== undefined)
      throw new LogsRequestError(
        'InvalidParameterException',
        'logStreamNames and logStreamNamePrefix cannot be used together',
      );
    const limit = input.limit ?? MAX_FILTER_LIMIT;
    if (!(Number.isInteger(limit) && limit >= 1 && limit <= MAX_FILTER_LIMIT))
      throw new LogsRequestError(
        'InvalidParameterException',
        `limit must be 1 to ${MAX_FILTER_LIMIT}, got ${limit}`,
      );
    const matches = termMatcher(input.filterPattern);
    const after = input.nextToken === undefined ? undefined : decodeToken(input.nextToken);
    const events: (FilteredLogEvent & { key: SortKey })[] = [];
    for (const stream of this.streamNames(group)) {
      if (input.logStreamNames && !input.logStreamNames.includes(stream)) continue;
      if (input.logStreamNamePrefix !== undefined && !stream.startsWith(input.logStreamNamePrefix)) continue;
      for (const [timestamp, ingestionTime, seq, message] of readLines(
        join(this.groupDir(group), this.streamFile(stream)),
      )) {
        if (input.startTime !== undefined && timestamp < input.startTime) continue;
        if (input.endTime !== undefined && timestamp > input.endTime) continue;
        if (!matches(message)) continue;
        const key: SortKey = [timestamp, ingestionTime, stream, seq];
        if (after && compareKeys(key, after) <= 0) continue;
        events.push({
          logStreamName: stream,
          timestamp,
          ingestionTime,
          message,
          eventId: `${stream}#${seq}`,
          key,
        });
      }
    }
    events.sort((a, b) => compareKeys(a.key, b.key));
    const page = events.slice(0, limit);
    const last = page.at(-1);
    return {
      events: page.map(({ key: _key, ...event }) => event),
      searchedLogStreams: [],
      ...(events.length > limit && last ? { nextToken: encodeToken(last.key) } : {}),
    };
  }

  /** DescribeLogStreams, by name (default) or by last event time. Throws {@link LogsRequestError}. */
  describeLogStreams(input: DescribeLogStreamsCommandInput): Result<DescribeLogStreamsCommandOutput> {
    const group = groupOf(input);
    const byTime = input.orderBy === 'LastEventTime';
    if (byTime && input.logStreamNamePrefix !== undefined)
      throw new LogsRequestError(
        'InvalidParameterException',
        'Cannot order by LastEventTime with a logStreamNamePrefix.',
      );
    const limit = input.limit ?? 50;
    const streams: LogStream[] = this.streamNames(group)
      .filter((name) => input.logStreamNamePrefix === undefined || name.startsWith(input.logStreamNamePrefix))
      .map((name) => {
        const lines = readLines(join(this.groupDir(group), this.streamFile(name)));
        const timestamps = lines.map((l) => l[0]);
        return {
          logStreamName: name,
          creationTime: lines[0]?.[1],
          ...(lines.length > 0 && {
            firstEventTimestamp: Math.min(...timestamps),
            lastEventTimestamp: Math.max(...timestamps),
            lastIngestionTime: lines.at(-1)?.[1],
          }),
          storedBytes: 0,
        };
      });
    streams.sort((a, b) =>
      byTime
        ? (a.lastEventTimestamp ?? 0) - (b.lastEventTimestamp ?? 0)
        : (a.logStreamName ?? '').localeCompare(b.logStreamName ?? ''),
    );
    if (input.descending) streams.reverse();
    const start =
      input.nextToken === undefined ? 0 : Number(Buffer.from(input.nextToken, 'base64url').toString());
    const page = streams.slice(start, start + limit);
    return {
      logStreams: page,
      ...(start + limit < streams.length
        ? { nextToken: Buffer.from(String(start + limit)).toString('base64url') }
        : {}),
    };
  }

  private groupDir(group: string): string {
    return join(this.root, encodeURIComponent(group));
  }

  private streamFile(stream: string): string {
    return `${encodeURIComponent(stream)}.jsonl`;
  }

  private streamNames(group: string): string[] {
    let entries: string[];
    try {
      entries = readdirSync(this.groupDir(group));
    } catch {
      throw new LogsRequestError('ResourceNotFoundException', 'The specified log group does not exist.');
    }
    return entries
      .filter((f) => f.endsWith('.jsonl'))
      .map((f) => decodeURIComponent(f.slice(0, -'.jsonl'.length)));
  }

  /** Keeps the group under its bound before a new stream is added: the least recently written go. */
  private dropOldStreams(dir: string, group: string): void {
    const files = readdirSync(dir).filter((f) => f.endsWith('.jsonl'));
    if (files.length < MAX_STREAMS_PER_GROUP) return;
    const byAge = files
      .map((f) => ({ f, mtime: statSync(join(dir, f)).mtimeMs }))
      .sort((a, b) => a.mtime - b.mtime);
    for (const { f } of byAge.slice(0, files.length - MAX_STREAMS_PER_GROUP + 1)) {
      rmSync(join(dir, f), { force: true });
      this.streams.delete(`${group}\0${decodeURIComponent(f.slice(0, -'.jsonl'.length))}`);
    }
  }
}

type SortKey = [number, number, string, number];

function compareKeys(a: SortKey, b: SortKey): number {
  return a[0] - b[0] || a[1] - b[1] || (a[2] < b[2] ? -1 : a[2] > b[2] ? 1 : 0) || a[3] - b[3];
}

function encodeToken(key: SortKey): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

function decodeToken(token: string): SortKey {
  try {
    const key = JSON.parse(Buffer.from(token, 'base64url').toString()) as SortKey;
    if (Array.isArray(key) && key.length === 4) return key;
  } catch {
    // falls through
  }
  throw new LogsRequestError('InvalidParameterException', 'The specified nextToken is invalid.');
}

function groupOf(input: { logGroupName?: string; logGroupIdentifier?: string }): string {
  if (input.logGroupName !== undefined && input.logGroupIdentifier !== undefined)
    throw new LogsRequestError(
      'InvalidParameterException',
      'LogGroup name and LogGroup identifier are mutually exclusive parameters.',
    );
  // An identifier is a name or an ARN (`arn:aws:logs:<region>:<account>:log-group:<name>`).
  const group =
    input.logGroupName ?? input.logGroupIdentifier?.replace(/^arn:[^:]+:logs:[^:]*:[^:]*:log-group:/, '');
  if (!group)
    throw new LogsRequestError(
      'InvalidParameterException',
      'Either logGroupName or logGroupIdentifier is required.',
    );
  return group;
}

/**
 * The sandbox's filter patterns: terms and quoted phrases, all of which must occur
 * (case-sensitive, as CloudWatch Logs matches them). JSON, space-delimited, `?` and `-`
 * patterns are refused, not misread.
 */
function termMatcher(pattern: string | undefined): (message: string) => boolean {
  const text = pattern?.trim() ?? '';
  if (text === '') return () => true;
  if (/^[{[]/.test(text) || /(^|\s)[?-]/.test(text))
    throw new LogsRequestError(
      'InvalidParameterException',
      `the sandbox matches terms and quoted phrases only, not the filter pattern ${text}`,
    );
  const terms = [...text.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? '');
  return (message) => terms.every((term) => message.includes(term));
}

function readLines(file: string): Line[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const lines: Line[] = [];
  for (const raw of text.split('\n')) {
    if (raw === '') continue;
    try {
      lines.push(JSON.parse(raw) as Line);
    } catch {
      // a line cut by a crash mid-append: skipped
    }
  }
  return lines;
}

function cut(message: string): string {
  if (Buffer.byteLength(message) <= MAX_MESSAGE_BYTES) return message;
  return Buffer.from(message).subarray(0, MAX_MESSAGE_BYTES).toString('utf8');
}

/** Runs a request, turning its {@link LogsRequestError} into the SDK's own exception. */
async function sdkErrors<T>(run: () => T): Promise<T> {
  try {
    return run();
  } catch (error) {
    if (!(error instanceof LogsRequestError)) throw error;
    const [{ InvalidParameterException, ResourceNotFoundException }, { awsError }] = await Promise.all([
      import('@aws-sdk/client-cloudwatch-logs'),
      import('./errors.ts'),
    ]);
    throw error.code === 'ResourceNotFoundException'
      ? awsError(ResourceNotFoundException, error.message)
      : awsError(InvalidParameterException, error.message);
  }
}
