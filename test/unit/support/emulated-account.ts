/**
 * The sandbox's emulated AWS account (`sandbox/account/`) for the path tests and the
 * workflow-cost benchmark, created the way the sandbox creates it: one AWS model in the
 * repository. It answers the project's own SDK clients (`shared/aws/clients.ts`) through
 * their middleware, so the real adapters and handlers run unchanged; time is a manual
 * clock that only moves when told to; every call is recorded, and a test can make chosen
 * calls fail with the error AWS answers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiGatewayV2ServiceException } from '@aws-sdk/client-apigatewayv2';
import { AutoScalingServiceException } from '@aws-sdk/client-auto-scaling';
import { CloudWatchServiceException } from '@aws-sdk/client-cloudwatch';
import { CodePipelineServiceException } from '@aws-sdk/client-codepipeline';
import { ECSServiceException } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2ServiceException } from '@aws-sdk/client-elastic-load-balancing-v2';
import { S3ServiceException } from '@aws-sdk/client-s3';
import { ServiceDiscoveryServiceException } from '@aws-sdk/client-servicediscovery';
import { clients } from '#shared/aws/clients.ts';
import type { StackpilotConfig } from '#shared/config.ts';
import { loadConfigFile } from '#shared/config-file.ts';
import {
  type AccountEvent,
  type CommandCall,
  createEmulatedAccount,
  type EmulatedAccount,
  type ManualClock,
  manualClock,
} from '../../../sandbox/account/index.ts';
import { SHARED_TEMPLATE_CACHE } from '../../../sandbox/templates/synth.ts';

/** When every test account's time starts: a whole hour, so alarm periods fall alike in every run. */
export const EPOCH = Date.UTC(2026, 10, 21, 12, 0, 0);

/** What a failed call answers: the error code AWS sends, its HTTP status and message. */
export interface AwsErrorSpec {
  readonly name: string;
  readonly status?: number;
  readonly message?: string;
}

export const throttling: AwsErrorSpec = {
  name: 'ThrottlingException',
  status: 400,
  message: 'Rate exceeded',
};

// biome-ignore lint/suspicious/noExplicitAny: every ServiceException subclass takes the same option shape.
type ExceptionClass = new (options: any) => Error;

/** Each service's base exception, by the service name the account reports: the SDK builds error codes on it. */
const EXCEPTIONS: Record<string, ExceptionClass> = {
  ECS: ECSServiceException,
  S3: S3ServiceException,
  AutoScaling: AutoScalingServiceException,
  CloudWatch: CloudWatchServiceException,
  CodePipeline: CodePipelineServiceException,
  ApiGatewayV2: ApiGatewayV2ServiceException,
  ServiceDiscovery: ServiceDiscoveryServiceException,
  ElasticLoadBalancingV2: ElasticLoadBalancingV2ServiceException,
};

/** The error the SDK throws when `service` answers with `spec` (an instance of the service's exception class). */
export function awsError(service: string, spec: AwsErrorSpec): Error {
  const Class = EXCEPTIONS[service];
  if (!Class) throw new Error(`no exception class known for service ${service}`);
  const status = spec.status ?? 400;
  const error = new Class({
    name: spec.name,
    message: spec.message ?? spec.name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, requestId: 'test', attempts: 1, totalRetryDelay: 0 },
  });
  return spec.name.startsWith('Throttl') ? Object.assign(error, { $retryable: { throttling: true } }) : error;
}

export interface TestAccountOptions {
  /** @default the example `stackpilot.yml` */
  readonly config?: StackpilotConfig;
  /** Emulated epoch milliseconds the clock starts at. @default EPOCH */
  readonly start?: number;
  /** SDK clients to answer besides the shared ones (a test's own `new S3Client({})`). */
  readonly clients?: readonly unknown[];
  /** Called with the emulated time after each `advance` (a test that fakes `Date` follows it). */
  readonly onTime?: (now: number) => void;
}

export interface TestAccount {
  readonly account: EmulatedAccount;
  readonly clock: ManualClock;
  readonly config: StackpilotConfig;
  /** Every command the account received, in order (those made to fail included). */
  readonly calls: CommandCall[];
  /** Every event the account put on its bus (ECS deployment changes, alarm transitions...). */
  readonly events: AccountEvent[];
  /** Moves emulated time forward and lets every emulator catch up. */
  advance(ms: number): void;
  /** How many times `command` was called (by its name without `Command`). */
  count(command: string): number;
  /** The inputs of every call of `command`, in order. */
  inputs<T = Record<string, unknown>>(command: string): T[];
  /** The next calls of `command` fail with these errors, one per call, in order. */
  fail(command: string, ...errors: AwsErrorSpec[]): void;
  /** Called with each command first (the helpers built on this account watch with them). */
  readonly observers: ((call: CommandCall) => void)[];
  /**
   * Called with each command before it is recorded and answered: it may change the account
   * (another actor at that moment), arm a fault with {@link fail}, or throw an error itself.
   */
  onCommand: (call: CommandCall) => void;
  /** Removes the account's folder. */
  dispose(): void;
}

/**
 * Creates what `cdk deploy` leaves in the account: the CDK app's templates for the
 * configuration, deployed. The one place the test accounts are created from: it follows
 * how the sandbox creates its own.
 */
async function createStageResources(account: EmulatedAccount): Promise<void> {
  await account.deployApp(SHARED_TEMPLATE_CACHE);
}

/** A new emulated account with every stage of `config` deployed, answering the shared SDK clients. */
export async function createTestAccount(options: TestAccountOptions = {}): Promise<TestAccount> {
  const config = options.config ?? loadConfigFile('stackpilot.yml');
  const dataDir = mkdtempSync(join(tmpdir(), 'stackpilot-test-account-'));
  const clock = manualClock(options.start ?? EPOCH);
  const calls: CommandCall[] = [];
  const events: AccountEvent[] = [];
  const faults = new Map<string, AwsErrorSpec[]>();
  const account = createEmulatedAccount({ dataDir, config, clock });
  await createStageResources(account);
  // Delivers what creating the stages put on the bus before anyone listens.
  account.tick();
  const test: TestAccount = {
    account,
    clock,
    config,
    calls,
    events,
    advance(ms) {
      clock.advance(ms);
      account.tick();
      options.onTime?.(clock.now());
    },
    count: (command) => calls.filter((c) => c.command === command).length,
    inputs: <T>(command: string) => calls.filter((c) => c.command === command).map((c) => c.input as T),
    fail(command, ...errors) {
      faults.set(command, [...(faults.get(command) ?? []), ...errors]);
    },
    observers: [],
    onCommand: () => undefined,
    dispose() {
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  // Hooks go on after the stages exist: what creating them did is not a call of the code under test.
  account.hooks.onEvent = (event) => void events.push(event);
  account.hooks.onCommand = (call) => {
    for (const observe of test.observers) observe(call);
    test.onCommand(call);
    calls.push(call);
    const fault = faults.get(call.command)?.shift();
    if (fault) throw awsError(call.service, fault);
  };
  account.attach(clients);
  if (options.clients) account.attach([...options.clients]);
  return test;
}

/**
 * What the test does to the account itself (another actor: an earlier release, an
 * operator), straight on the emulators: not recorded as calls of the code under test.
 */
export const direct = {
  /** Keys under `prefix` in `bucket`, sorted. */
  keys(t: TestAccount, bucket: string, prefix: string): string[] {
    const out = t.account.s3.commands.ListObjectsV2({ Bucket: bucket, Prefix: prefix });
    return (out.Contents ?? []).map((o) => o.Key ?? '').sort();
  },
  /** An object's body as text. */
  async read(t: TestAccount, bucket: string, key: string): Promise<string> {
    const out = t.account.s3.commands.GetObject({ Bucket: bucket, Key: key });
    return (await out.Body?.transformToString()) ?? '';
  },
  async put(t: TestAccount, bucket: string, key: string, body: string): Promise<void> {
    await t.account.s3.commands.PutObject({ Bucket: bucket, Key: key, Body: body });
  },
  /**
   * Points the service at `taskDefinition` and lets emulated time pass (one second at a
   * time, at most an hour) until that deployment completed; returns its id.
   */
  deploy(t: TestAccount, cluster: string, service: string, taskDefinition: string): string {
    const out = t.account.ecs.commands.UpdateService({ cluster, service, taskDefinition });
    const id = out.service?.deployments?.find((d) => d.status === 'PRIMARY')?.id ?? '';
    direct.until(t, () => direct.service(t, cluster, service).deployments?.[0]?.rolloutState === 'COMPLETED');
    return id;
  },
  service(t: TestAccount, cluster: string, service: string) {
    const found = t.account.ecs.commands.DescribeServices({ cluster, services: [service] }).services?.[0];
    if (!found) throw new Error(`no service ${service} in cluster ${cluster}`);
    return found;
  },
  /** Moves emulated time one second at a time until `done()` holds; fails after `limitMs`. */
  until(t: TestAccount, done: () => boolean, limitMs = 60 * 60_000): void {
    for (let waited = 0; !done(); waited += 1000) {
      if (waited >= limitMs) throw new Error(`the account did not get there within ${limitMs / 1000} s`);
      t.advance(1000);
    }
  },
};
