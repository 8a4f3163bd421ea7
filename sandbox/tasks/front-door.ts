/**
 * A stage's front door: a loopback HTTP proxy that sends each request where the stage's API
 * Gateway (standard) or load balancer (hyperscale) would (`routing.ts`: the stage's service, or
 * a preview's by its path prefix, the path rewritten) and balances round-robin over that
 * service's RUNNING, healthy tasks, as API Gateway over Cloud Map or the ALB does. With no
 * healthy task it answers 503, as both do.
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

/** Where the front door sends one request. */
export interface DoorTarget {
  /** What serves it, for messages (and the key of its round-robin turn). */
  readonly name: string;
  /** The loopback ports of its healthy tasks, now. */
  readonly ports: readonly number[];
  /** The path and query string the task receives. */
  readonly url: string;
}

export interface FrontDoorOptions {
  /** Where a request goes, by its method and URL (path and query string). */
  readonly route: (method: string, url: string) => DoorTarget;
  /** @default 0: a free port */
  readonly port?: number;
}

export class FrontDoor {
  private readonly server: Server;
  /** One turn per target (the stage's service, each preview's). */
  private readonly balancers = new Map<string, RoundRobin>();
  /** Requests answered, by status class, since the start (for the load report). */
  readonly counts = { requests: 0, status5xx: 0, noTarget: 0 };

  private constructor(private readonly options: FrontDoorOptions) {
    this.server = createServer((req, res) => {
      this.counts.requests += 1;
      const target = this.options.route(req.method ?? 'GET', req.url ?? '/');
      const port = this.balancer(target.name).next(target.ports);
      if (port === undefined) {
        this.counts.noTarget += 1;
        this.counts.status5xx += 1;
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end(`${JSON.stringify({ message: `no healthy task of ${target.name} to serve the request` })}\n`);
        return;
      }
      const upstream = request(
        { host: '127.0.0.1', port, method: req.method, path: target.url, headers: req.headers },
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

  private balancer(name: string): RoundRobin {
    let balancer = this.balancers.get(name);
    if (!balancer) {
      balancer = new RoundRobin();
      this.balancers.set(name, balancer);
    }
    return balancer;
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
