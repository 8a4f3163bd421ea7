/**
 * What the emulators share: the account context (identity, clock, configuration, the
 * event hook) and the shape of a command table.
 */
import type { StackpilotConfig } from '#shared/config.ts';
import type { Clock } from './clock.ts';

/** An SDK command output without `$metadata` (the middleware adds it). */
export type Result<T> = Omit<T, '$metadata'>;

/**
 * One emulated command: takes the SDK's input type, returns the SDK's output type. Typed
 * `never` here so that any typed handler fits the table; the middleware passes the input.
 */
export type CommandHandler = (input: never) => unknown;
export type CommandTable = Record<string, CommandHandler>;

/** An EventBridge event, as a rule target receives it. */
export interface AccountEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

/** What every emulator gets from the account. */
export interface AccountContext {
  readonly accountId: string;
  readonly region: string;
  readonly clock: Clock;
  readonly config: StackpilotConfig;
  /** Puts an event on the account's default bus (the sandbox server routes it). */
  emit(detailType: string, source: string, resources: string[], detail: Record<string, unknown>): void;
}

/** One emulated service. */
export interface Emulator {
  /** The service's name as AWS writes it in error messages: `ECS`, `S3`, `CodePipeline`... */
  readonly service: string;
  readonly commands: CommandTable;
  /** Moves the emulated service to time `t` (called once per emulated second). */
  step?(t: number): void;
  /** Writes the service's state to disk. */
  save(): void;
}

/** ISO-8601 time with milliseconds, as EventBridge events carry it (`2019-10-02T17:04:40Z`). */
export function eventTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
