/**
 * Points the production SDK clients (`shared/aws/clients.ts`) at the suite's moto_server and
 * records every command they send, with moto's answer. Each test file gets its own moto
 * account (the `x-moto-account-id` header), so files share one server without seeing each
 * other's resources. Setup clients (what CloudFormation would do) go to the same account but
 * are not recorded: only the production adapters' calls count as checked.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, inject } from 'vitest';
import { clients } from '#shared/aws/clients.ts';
import type { StackTemplate } from '../../../sandbox/templates/index.ts';
import type { MotoAccount } from './moto-api.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** moto_server's endpoint; empty when moto is not installed (the suite is skipped). */
    motoEndpoint: string;
    /** Folder where each test file leaves the calls it made, for the summary. */
    awsCallsDir: string;
    /** The synthesized templates (JSON, `StackTemplate[]` in deployment order). */
    awsTemplatesFile: string;
  }
}

export const REGION = 'us-east-1';

/** One command a production client sent, and how moto answered it. */
export interface RecordedCall {
  readonly service: string;
  readonly command: string;
  /** HTTP status of moto's (last) answer. */
  readonly status: number | undefined;
  /** The AWS error's name when moto answered with one. */
  readonly error?: string;
}

/** A command the suite could not check on moto, and why (moto's gap, not ours). */
export interface Gap {
  readonly service: string;
  readonly command: string;
  readonly reason: string;
}

export interface FileRecord {
  readonly file: string;
  readonly calls: RecordedCall[];
  readonly gaps: Gap[];
}

/** Whether this run has a moto_server (the suite's tests are skipped without it). */
export const motoEndpoint = (): string => inject('motoEndpoint');

/** The run's synthesized templates, in deployment order. */
export function appTemplates(): StackTemplate[] {
  return JSON.parse(readFileSync(inject('awsTemplatesFile'), 'utf8')) as StackTemplate[];
}

interface Metadata {
  readonly $metadata?: { readonly httpStatusCode?: number };
}

type Handler = (args: { request?: unknown }) => Promise<{ output: unknown }>;

/** What the suite needs of an SDK v3 client: its middleware stack (typed loosely, any client fits). */
interface AnyClient {
  readonly middlewareStack: {
    add(
      middleware: (next: Handler, context: { commandName?: string }) => Handler,
      options: { step: 'initialize' | 'build'; name: string; override: boolean },
    ): void;
  };
}

function addAccountHeader(client: AnyClient, accountId: string): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (request.headers) request.headers['x-moto-account-id'] = accountId;
      return next(args);
    },
    { step: 'build', name: 'motoAccount', override: true },
  );
}

const serviceOf = (client: object) => client.constructor.name.replace(/Client$/, '');

/**
 * Connects this test file to moto: production clients get the file's account and a recorder;
 * the record is written for the run's summary when the file ends.
 */
export function connectToMoto(file: string): MotoAccount & { record: FileRecord } {
  const endpoint = motoEndpoint();
  // A 12-digit account id of its own per file.
  const accountId = (BigInt(`0x${createHash('sha256').update(file).digest('hex').slice(0, 12)}`) % 10n ** 12n)
    .toString()
    .padStart(12, '0');
  process.env.AWS_ENDPOINT_URL = endpoint;
  const record: FileRecord = { file, calls: [], gaps: [] };
  for (const client of Object.values(clients) as unknown as AnyClient[]) {
    addAccountHeader(client, accountId);
    const service = serviceOf(client);
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const command = String(context.commandName ?? 'unknown').replace(/Command$/, '');
        try {
          const result = await next(args);
          record.calls.push({
            service,
            command,
            status: (result.output as Metadata).$metadata?.httpStatusCode,
          });
          return result;
        } catch (error) {
          const e = error as Error & Metadata;
          record.calls.push({ service, command, status: e.$metadata?.httpStatusCode, error: e.name });
          throw error;
        }
      },
      { step: 'initialize', name: 'awsConformanceRecorder', override: true },
    );
  }
  afterAll(() => {
    writeFileSync(join(inject('awsCallsDir'), `${accountId}.json`), JSON.stringify(record));
  });
  return { endpoint, accountId, region: REGION, record };
}

/** A client for setup (what CloudFormation or the AWS console does), in the file's account; not recorded. */
export function setupClient<C extends object>(
  Client: new (config: { region: string }) => C,
  account: MotoAccount,
): C {
  const client = new Client({
    endpoint: account.endpoint,
    region: account.region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    forcePathStyle: true,
    maxAttempts: 1,
  } as { region: string });
  addAccountHeader(client as unknown as AnyClient, account.accountId);
  return client;
}

/** Notes a command moto cannot check, after the test has shown moto's failing answer. */
export function recordGap(record: FileRecord, gap: Gap): void {
  record.gaps.push(gap);
}
