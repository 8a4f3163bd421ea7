/**
 * The sandbox's event bus: what EventBridge's default bus does for stackpilot. Events
 * (from `POST /events`, and from the emulated account: alarm state changes, ECS service
 * actions) are matched against rules whose patterns are the ones the CDK stack deploys,
 * and each matching rule's target runs with the event, as EventBridge would deliver it.
 */
import { randomUUID } from 'node:crypto';
import { type EventPattern, matchesPattern } from './event-pattern.ts';

/** An event as EventBridge delivers it to a target. */
export interface BusEvent {
  readonly version: '0';
  readonly id: string;
  readonly 'detail-type': string;
  readonly source: string;
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: string[];
  // biome-ignore lint/suspicious/noExplicitAny: event details are JSON of many shapes.
  readonly detail: any;
}

/** One entry of a PutEvents request, as the SDK and the console send it. */
export interface PutEventsEntry {
  readonly Source?: string;
  readonly DetailType?: string;
  /** JSON text. */
  readonly Detail?: string;
  readonly Resources?: string[];
  readonly Time?: string | Date;
  readonly EventBusName?: string;
}

/** A rule: a name, the pattern, and what runs for each matching event. */
export interface BusRule {
  readonly name: string;
  readonly pattern: EventPattern;
  readonly target: (event: BusEvent) => Promise<unknown> | unknown;
}

/** What happened to one event put on the bus. */
export interface Delivery {
  readonly event: BusEvent;
  /** Names of the rules whose target received the event. */
  readonly rules: string[];
  /** Rule name -> error message, for targets that failed. */
  readonly failures: Record<string, string>;
}

export class InvalidEvent extends Error {
  override readonly name = 'InvalidEvent';
}

export class EventBus {
  private readonly rules: BusRule[] = [];

  constructor(
    private readonly account: string,
    private readonly region: string,
    /** Current time of the sandbox (its scaled clock). */
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Adds a rule; names are unique, like EventBridge's rule names on one bus. */
  addRule(rule: BusRule): void {
    if (this.rules.some((r) => r.name === rule.name)) throw new Error(`rule ${rule.name} already exists`);
    this.rules.push(rule);
  }

  /** The names of the rules an event matches, without delivering it. */
  matchingRules(event: BusEvent): string[] {
    return this.rules.filter((r) => matchesPattern(r.pattern, event)).map((r) => r.name);
  }

  /**
   * Puts events on the bus: either full events (`detail-type`, `source`, `detail`...) or
   * PutEvents entries (`DetailType`, `Source`, `Detail` as JSON text). Each matching
   * rule's target is awaited; a failing target is reported, never thrown, as EventBridge
   * keeps delivering to the other targets.
   */
  async put(input: unknown): Promise<Delivery[]> {
    const events = this.normalize(input);
    const deliveries: Delivery[] = [];
    for (const event of events) {
      const matching = this.rules.filter((r) => matchesPattern(r.pattern, event));
      const failures: Record<string, string> = {};
      await Promise.all(
        matching.map(async (rule) => {
          try {
            await rule.target(event);
          } catch (error) {
            failures[rule.name] = (error as Error).message;
          }
        }),
      );
      deliveries.push({ event, rules: matching.map((r) => r.name), failures });
    }
    return deliveries;
  }

  /** Turns a request body into bus events, refusing (with the reason) what EventBridge would refuse. */
  normalize(input: unknown): BusEvent[] {
    if (isRecord(input) && Array.isArray(input.Entries)) {
      if (input.Entries.length === 0) throw new InvalidEvent('Entries is empty');
      return input.Entries.map((entry, i) => this.fromEntry(entry, `Entries[${i}]`));
    }
    if (Array.isArray(input)) return input.map((item, i) => this.normalizeOne(item, `[${i}]`));
    return [this.normalizeOne(input, 'event')];
  }

  private normalizeOne(input: unknown, where: string): BusEvent {
    if (isRecord(input) && ('DetailType' in input || 'Source' in input)) return this.fromEntry(input, where);
    if (!isRecord(input)) throw new InvalidEvent(`${where} must be a JSON object`);
    const source = input.source;
    const detailType = input['detail-type'];
    if (typeof source !== 'string' || source === '') throw new InvalidEvent(`${where}.source is missing`);
    if (typeof detailType !== 'string' || detailType === '')
      throw new InvalidEvent(`${where}["detail-type"] is missing`);
    if (input.detail !== undefined && !isRecord(input.detail))
      throw new InvalidEvent(`${where}.detail must be a JSON object`);
    return {
      version: '0',
      id: typeof input.id === 'string' ? input.id : randomUUID(),
      'detail-type': detailType,
      source,
      account: typeof input.account === 'string' ? input.account : this.account,
      time: typeof input.time === 'string' ? input.time : this.timestamp(),
      region: typeof input.region === 'string' ? input.region : this.region,
      resources: Array.isArray(input.resources) ? input.resources.map(String) : [],
      detail: input.detail ?? {},
    };
  }

  private fromEntry(entry: unknown, where: string): BusEvent {
    if (!isRecord(entry)) throw new InvalidEvent(`${where} must be a JSON object`);
    const { Source, DetailType, Detail, Resources, Time } = entry as PutEventsEntry;
    if (!Source) throw new InvalidEvent(`${where}.Source is missing`);
    if (!DetailType) throw new InvalidEvent(`${where}.DetailType is missing`);
    let detail: unknown = {};
    if (Detail !== undefined) {
      try {
        detail = JSON.parse(Detail);
      } catch {
        throw new InvalidEvent(`${where}.Detail is not valid JSON`);
      }
      if (!isRecord(detail)) throw new InvalidEvent(`${where}.Detail must be a JSON object`);
    }
    return {
      version: '0',
      id: randomUUID(),
      'detail-type': DetailType,
      source: Source,
      account: this.account,
      time: Time ? new Date(Time).toISOString().replace(/\.\d{3}Z$/, 'Z') : this.timestamp(),
      region: this.region,
      resources: Resources ?? [],
      detail,
    };
  }

  private timestamp(): string {
    // EventBridge times have second precision.
    return this.now()
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z');
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** An EventBridge rule of the templates: its name, pattern and the ARNs of its targets. */
export interface TemplateRule {
  readonly name: string;
  readonly pattern: Readonly<Record<string, unknown>>;
  readonly targets: readonly string[];
}

/**
 * The bus rules of the templates' `AWS::Events::Rule` resources: the same names and patterns
 * as on AWS, each target started with the event (EventBridge's default target input).
 */
export function templateRules(
  rules: readonly TemplateRule[],
  start: (targetArn: string, event: BusEvent) => unknown,
): BusRule[] {
  return rules.map((rule) => ({
    name: rule.name,
    pattern: rule.pattern as EventPattern,
    target: async (event: BusEvent) => {
      await Promise.all(rule.targets.map((arn) => start(arn, event)));
    },
  }));
}

/** A Lambda function of the templates: its physical name and environment. */
export interface TemplateFunction {
  readonly name: string;
  readonly environment: Readonly<Record<string, string>>;
}

/**
 * The `functions/` folder of a rule's Lambda target (`arn:aws:lambda:…:function:<name>`), from
 * the function's `POWERTOOLS_SERVICE_NAME` (`stackpilot-<folder>`); undefined for any other target.
 */
export function lambdaTargetFolder(arn: string, functions: readonly TemplateFunction[]): string | undefined {
  const match = /^arn:aws[a-z-]*:lambda:[^:]*:[^:]*:function:([^:]+)$/.exec(arn);
  if (!match) return undefined;
  const fn = functions.find((f) => f.name === match[1]);
  const service = fn?.environment.POWERTOOLS_SERVICE_NAME;
  if (!service?.startsWith('stackpilot-'))
    throw new Error(`rule target ${arn} is not a function of the templates the sandbox can run`);
  return service.slice('stackpilot-'.length);
}
