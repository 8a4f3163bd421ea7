/**
 * Where task output goes: the lines a task's process writes, as the awslogs driver sends
 * them to CloudWatch Logs (the group and stream prefix of the task definition's
 * `logConfiguration`, the stream `<prefix>/<container>/<task id>` as ECS names it).
 */

/** One batch of log events for a stream (CloudWatch Logs' PutLogEvents, as the sandbox takes it). */
export interface LogSink {
  append(logGroupName: string, logStreamName: string, events: { timestamp: number; message: string }[]): void;
}

/** The log group and stream of a task's container, or undefined when it does not use awslogs. */
export function awslogsStream(
  container: { name?: string; logConfiguration?: { logDriver?: string; options?: Record<string, string> } },
  taskArn: string,
): { logGroupName: string; logStreamName: string } | undefined {
  const config = container.logConfiguration;
  const group = config?.options?.['awslogs-group'];
  if (config?.logDriver !== 'awslogs' || !group) return undefined;
  const taskId = taskArn.slice(taskArn.lastIndexOf('/') + 1);
  const prefix = config.options?.['awslogs-stream-prefix'];
  // Without a prefix the stream is the container's id on AWS; the task id is what the sandbox has.
  return {
    logGroupName: group,
    logStreamName: prefix ? `${prefix}/${container.name ?? 'app'}/${taskId}` : taskId,
  };
}

/**
 * A sink that keeps the latest events of each stream in memory, for a supervisor without an
 * emulated account's CloudWatch Logs (the sandbox itself wires `account.logs` in server.ts).
 */
export class MemoryLogSink implements LogSink {
  private readonly streams = new Map<string, { timestamp: number; message: string }[]>();

  constructor(private readonly maxEventsPerStream = 1000) {}

  append(
    logGroupName: string,
    logStreamName: string,
    events: { timestamp: number; message: string }[],
  ): void {
    const key = `${logGroupName}\u0000${logStreamName}`;
    const stream = this.streams.get(key) ?? [];
    stream.push(...events);
    if (stream.length > this.maxEventsPerStream) stream.splice(0, stream.length - this.maxEventsPerStream);
    this.streams.set(key, stream);
  }

  /** The events of one stream, oldest first. */
  events(logGroupName: string, logStreamName: string): { timestamp: number; message: string }[] {
    return [...(this.streams.get(`${logGroupName}\u0000${logStreamName}`) ?? [])];
  }
}

/** Splits a byte stream into lines; `flush` hands over a last line without a newline. */
export class LineSplitter {
  private rest = '';

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Buffer | string): void {
    const text = this.rest + chunk.toString();
    const lines = text.split('\n');
    this.rest = lines.pop() ?? '';
    // A runaway line without newlines is cut as the awslogs driver cuts events (256 KiB).
    if (this.rest.length > 256 * 1024) {
      lines.push(this.rest);
      this.rest = '';
    }
    for (const line of lines) this.onLine(line.replace(/\r$/, ''));
  }

  flush(): void {
    if (this.rest) this.onLine(this.rest);
    this.rest = '';
  }
}
