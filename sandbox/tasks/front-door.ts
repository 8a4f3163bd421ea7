/**
 * A stage's front door: a loopback HTTP proxy that balances round-robin over the stage's
 * RUNNING, healthy tasks, as API Gateway over Cloud Map (standard) or the ALB (hyperscale)
 * does. With no healthy task it answers 503, as both do.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Picks targets in turn; `next` skips nothing and returns undefined when there are none. */
export class RoundRobin {
  private turn = 0;

  next<T>(targets: readonly T[]): T | undefined {
    if (targets.length === 0) return undefined;
    const target = targets[this.turn % targets.length];
    this.turn = (this.turn + 1) % 1_000_000;
    return target;
  }
}

export interface FrontDoorOptions {
  /** The stage, for messages. */
  readonly name: string;
  /** The loopback ports of the stage's healthy tasks, now. */
  readonly targets: () => number[];
  /** @default 0: a free port */
  readonly port?: number;
}

export class FrontDoor {
  private readonly server: Server;
  private readonly balancer = new RoundRobin();
  /** Requests answered, by status class, since the start (for the load report). */
  readonly counts = { requests: 0, status5xx: 0, noTarget: 0 };

  private constructor(private readonly options: FrontDoorOptions) {
    this.server = createServer((req, res) => {
      this.counts.requests += 1;
      const port = this.balancer.next(this.options.targets());
      if (port === undefined) {
        this.counts.noTarget += 1;
        this.counts.status5xx += 1;
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end(
          `${JSON.stringify({ message: `no healthy task of ${this.options.name} to serve the request` })}\n`,
        );
        return;
      }
      const upstream = request(
        { host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          if ((answer.statusCode ?? 502) >= 500) this.counts.status5xx += 1;
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', (error) => {
        this.counts.status5xx += 1;
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
        res.end(`${JSON.stringify({ message: `the task on port ${port} failed: ${error.message}` })}\n`);
      });
      req.pipe(upstream);
    });
    // Keep-alive connections would outlive a close(): the sandbox closes them on stop.
    this.server.keepAliveTimeout = 2000;
  }

  /** Opens the front door on 127.0.0.1. */
  static async open(options: FrontDoorOptions): Promise<FrontDoor> {
    const door = new FrontDoor(options);
    await new Promise<void>((resolve, reject) => {
      door.server.once('error', reject);
      door.server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
    return door;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
