/**
 * The sandbox's emulated AWS account: one emulator per service, state on disk under the
 * data folder, time from an injectable clock, and `attach(clients)`, which puts a
 * middleware on SDK v3 clients so that every command is answered by the emulators
 * before any HTTP is sent. The production adapters run unchanged on top of it.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { allStages, type StackpilotConfig } from '#shared/config.ts';
import { APP_CONTAINER_NAME, stageNames } from '#shared/naming.ts';
import { type AppTemplatesOptions, appTemplates } from '../templates/synth.ts';
import type { TemplateSet } from '../templates/template.ts';
import { ApiGatewayV2Emulator } from './apigatewayv2.ts';
import { AutoScalingEmulator } from './auto-scaling.ts';
import { type Clock, type ResumableClock, scaledClock } from './clock.ts';
import { CloudWatchEmulator } from './cloudwatch.ts';
import { CodePipelineEmulator, type ReleaseHook } from './codepipeline.ts';
import { type DeployedApp, deployTemplates } from './deploy.ts';
import { EcrEmulator } from './ecr.ts';
import { EcsEmulator } from './ecs.ts';
import { Elbv2Emulator } from './elbv2.ts';
import { NotEmulated } from './errors.ts';
import { EventBridgeEmulator } from './event-bridge.ts';
import { CloudWatchLogsEmulator } from './logs.ts';
import { S3Emulator } from './s3.ts';
import { SecretsManagerEmulator } from './secrets-manager.ts';
import { ServiceDiscoveryEmulator } from './servicediscovery.ts';
import { SsmEmulator } from './ssm.ts';
import { type StepFunctionsBackend, StepFunctionsEmulator } from './step-functions.ts';
import { JsonFile } from './store.ts';
import { type AccountContext, type AccountEvent, type Emulator, eventTime } from './types.ts';

export type { Clock, ManualClock, ResumableClock } from './clock.ts';
export { manualClock, scaledClock } from './clock.ts';
export type { ReleaseHook, ReleaseOutcome, ReleaseRequest } from './codepipeline.ts';
export type { DeploymentPlan } from './ecs-model.ts';
export { awsError, NotEmulated } from './errors.ts';
export type { StepFunctionsBackend } from './step-functions.ts';
export type { AccountEvent } from './types.ts';

/** The emulated account advances in steps of one emulated second. */
export const STEP_MS = 1000;
/** Between calls, the state is written to disk at most this often (wall-clock ms); `flush()` writes at once. */
export const FLUSH_INTERVAL_MS = 1000;
/** Commands that change nothing (the state is not written after them). */
const READ_ONLY = /^(Describe|List|Get|Head|BatchGet)/;
/** After a long stop (or a huge time scale) the account catches up at most this much time. */
export const MAX_CATCH_UP_MS = 60 * 60_000;

/** What the sandbox server plugs into the account. All optional; settable later on `account.hooks`. */
export interface AccountHooks {
  /** Every event the account puts on its default bus (alarm state changes, ECS and pipeline events). */
  onEvent?: (event: AccountEvent) => void | Promise<void>;
  /** The pipeline's Release stage: run the release state machine, resolve when it ends. */
  onRelease?: ReleaseHook;
  /** Answers the Step Functions API (the server runs the ASL files). */
  stepFunctions?: StepFunctionsBackend;
  /** Errors thrown by onEvent (default: printed to stderr). */
  onHookError?: (error: unknown, event: AccountEvent) => void;
  /**
   * Called before each command is answered, once the account has caught up with the clock.
   * An error it throws is the command's answer (nothing changes): tests inject AWS errors
   * with it (a throttled call, a denied permission) and record the calls made.
   */
  onCommand?: (call: CommandCall) => void | Promise<void>;
}

/** A command as the account receives it: the service as AWS names it, the command without `Command`. */
export interface CommandCall {
  readonly service: string;
  readonly command: string;
  readonly input: unknown;
}

export interface EmulatedAccountOptions {
  /** Folder of the account's state (JSON per service, S3 objects as files). */
  dataDir: string;
  config: StackpilotConfig;
  /** @default scaledClock() (real time) */
  clock?: Clock;
  /** @default '123456789012' */
  accountId?: string;
  /** @default 'us-east-1' */
  region?: string;
  /** Secrets Manager secrets by name (the webhook secret, repository tokens). */
  secrets?: Record<string, string>;
  hooks?: AccountHooks;
}

/** A client of the AWS SDK v3: all `attach` needs is its middleware stack. */
export interface SdkClient {
  middlewareStack: { add: (middleware: never, options: Record<string, unknown>) => void };
}

/** Which emulator answers which client, by the client class's name. */
const CLIENTS: Record<string, keyof ServiceEmulators> = {
  S3Client: 's3',
  ECSClient: 'ecs',
  ECRClient: 'ecr',
  AutoScalingClient: 'autoScaling',
  CodePipelineClient: 'codePipeline',
  CloudWatchClient: 'cloudWatch',
  SFNClient: 'stepFunctions',
  SecretsManagerClient: 'secretsManager',
  SSMClient: 'ssm',
  EventBridgeClient: 'eventBridge',
  CloudWatchLogsClient: 'logs',
  ApiGatewayV2Client: 'apiGatewayV2',
  ServiceDiscoveryClient: 'serviceDiscovery',
  ElasticLoadBalancingV2Client: 'elbv2',
};

interface ServiceEmulators {
  s3: S3Emulator;
  ecs: EcsEmulator;
  ecr: EcrEmulator;
  autoScaling: AutoScalingEmulator;
  codePipeline: CodePipelineEmulator;
  cloudWatch: CloudWatchEmulator;
  stepFunctions: StepFunctionsEmulator;
  secretsManager: SecretsManagerEmulator;
  ssm: SsmEmulator;
  eventBridge: EventBridgeEmulator;
  logs: CloudWatchLogsEmulator;
  apiGatewayV2: ApiGatewayV2Emulator;
  serviceDiscovery: ServiceDiscoveryEmulator;
  elbv2: Elbv2Emulator;
}

export type EmulatedAccount = ReturnType<typeof createEmulatedAccount>;

/** One stage of the account, as `GET /stages` shows it. */
export type StageSnapshot = ReturnType<EmulatedAccount['snapshot']>[number];

export function createEmulatedAccount(options: EmulatedAccountOptions) {
  const accountId = options.accountId ?? '123456789012';
  const region = options.region ?? 'us-east-1';
  const clock = options.clock ?? scaledClock();
  const config = options.config;
  const dataDir = options.dataDir;
  const hooks: AccountHooks = { ...options.hooks };

  const pending: AccountEvent[] = [];
  const publish = (event: AccountEvent) => {
    pending.push(event);
  };
  const ctx: AccountContext & { publish(event: AccountEvent): void } = {
    accountId,
    region,
    clock,
    config,
    publish,
    emit(detailType, source, resources, detail) {
      publish({
        version: '0',
        id: randomUUID(),
        'detail-type': detailType,
        source,
        account: accountId,
        time: eventTime(clock.now()),
        region,
        resources,
        detail,
      });
    },
  };

  const s3 = new S3Emulator(ctx, dataDir);
  // ECS places a service's targets only in a target group a load balancer forwards to.
  const ecs: EcsEmulator = new EcsEmulator(ctx, dataDir, (targetGroupArn) =>
    elbv2.loadBalancersOf(targetGroupArn),
  );
  const ecr = new EcrEmulator(ctx, dataDir);
  const autoScaling = new AutoScalingEmulator(ctx, dataDir, ecs);
  const codePipeline = new CodePipelineEmulator(ctx, dataDir, s3, ecr, () => hooks.onRelease);
  const cloudWatch = new CloudWatchEmulator(ctx, dataDir, ecs);
  const stepFunctions = new StepFunctionsEmulator(() => hooks.stepFunctions);
  const secretsManager = new SecretsManagerEmulator(ctx);
  const ssm = new SsmEmulator(ctx, dataDir);
  const eventBridge = new EventBridgeEmulator(ctx);
  // The tasks' output (the ECS task runner appends it), by the awslogs driver's group and stream.
  const logs = new CloudWatchLogsEmulator(dataDir, () => clock.now());
  // The front doors: a task ECS runs is an instance of its service's Cloud Map service, a target of its target group.
  const apiGatewayV2 = new ApiGatewayV2Emulator(ctx, dataDir);
  const serviceDiscovery = new ServiceDiscoveryEmulator(ctx, dataDir, ecs);
  const elbv2: Elbv2Emulator = new Elbv2Emulator(ctx, dataDir, ecs);
  for (const [name, value] of Object.entries(options.secrets ?? {})) secretsManager.put(name, value);

  const emulators: ServiceEmulators = {
    s3,
    ecs,
    ecr,
    autoScaling,
    codePipeline,
    cloudWatch,
    stepFunctions,
    secretsManager,
    ssm,
    eventBridge,
    logs,
    apiGatewayV2,
    serviceDiscovery,
    elbv2,
  };
  // Order matters within a step: instances come and go, then tasks move, then metrics and pipelines.
  const stepping: Emulator[] = [autoScaling, ecs, cloudWatch, codePipeline];
  const meta = new JsonFile<{ lastStep?: number }>(join(dataDir, 'account', 'clock.json'), () => ({}));
  // Time starts when the account is first created; a restart catches up from where it stopped,
  // and a fast clock (which ran ahead of the wall clock last time) resumes from there.
  const saved = meta.value.lastStep;
  if (saved !== undefined && clock.now() < saved && 'resume' in clock)
    (clock as ResumableClock).resume(saved);
  meta.value.lastStep ??= clock.now();
  let advancing = false;

  let lastFlush = 0;
  function flush(): void {
    for (const emulator of Object.values(emulators)) emulator.save();
    meta.save();
    lastFlush = Date.now();
  }

  function deliverEvents(): void {
    for (const event of pending.splice(0)) {
      const report = (error: unknown) =>
        hooks.onHookError
          ? hooks.onHookError(error, event)
          : console.error(`sandbox: the event hook failed on a ${event['detail-type']} event:`, error);
      try {
        Promise.resolve(hooks.onEvent?.(event)).catch(report);
      } catch (error) {
        report(error);
      }
    }
  }

  /** Moves every emulator to the clock's time, one emulated second at a time. */
  function tick(): void {
    if (advancing) return;
    advancing = true;
    try {
      const now = clock.now();
      let last = meta.value.lastStep ?? now;
      if (now - last > MAX_CATCH_UP_MS) last = now - MAX_CATCH_UP_MS;
      let moved = false;
      for (let t = last + STEP_MS; t <= now; t += STEP_MS) {
        for (const emulator of stepping) emulator.step?.(t);
        last = t;
        moved = true;
      }
      meta.value.lastStep = last;
      // The server ticks many times a second: write the state at most once a (real) second.
      if (moved && Date.now() - lastFlush >= FLUSH_INTERVAL_MS) flush();
    } finally {
      advancing = false;
    }
    deliverEvents();
  }

  /** Answers one SDK command from the emulators (what the middleware calls). */
  async function dispatch(
    clientName: string,
    commandName: string,
    input: unknown,
  ): Promise<Record<string, unknown>> {
    const service = clientName.replace(/Client$/, '');
    const command = commandName.replace(/Command$/, '');
    const key = CLIENTS[clientName];
    const emulator: Emulator | undefined = key ? emulators[key] : undefined;
    const table = emulator?.commands;
    const handler = table && Object.hasOwn(table, command) ? table[command] : undefined;
    if (!emulator || !handler) throw new NotEmulated(emulator?.service ?? service, command);
    tick();
    await hooks.onCommand?.({ service: emulator.service, command, input: input ?? {} });
    try {
      return (await (handler as (input: unknown) => unknown)(input ?? {})) as Record<string, unknown>;
    } finally {
      // A change is on disk before its answer; reads leave the state as it was.
      if (!READ_ONLY.test(command)) flush();
      deliverEvents();
    }
  }

  /**
   * Puts the sandbox middleware on each client (an object of clients such as
   * `shared/aws/clients.ts`'s `clients`, or an array). It answers at the initialize step,
   * before serialization, signing, retries or any HTTP.
   */
  function attach(clients: Record<string, unknown> | unknown[]): void {
    for (const client of Object.values(clients)) {
      const stack = (client as Partial<SdkClient> | undefined)?.middlewareStack;
      if (!stack) continue;
      const clientClass = (client as object).constructor.name;
      const middleware =
        (_next: unknown, context: { clientName?: string; commandName?: string }) =>
        async (args: { input: unknown }) => {
          const output = await dispatch(
            context.clientName || clientClass,
            context.commandName ?? 'UnknownCommand',
            args.input,
          );
          return {
            output: {
              ...output,
              $metadata: { httpStatusCode: 200, requestId: randomUUID(), attempts: 1, totalRetryDelay: 0 },
            },
            response: {},
          };
        };
      stack.add(middleware as never, {
        step: 'initialize',
        name: 'stackpilotSandbox',
        priority: 'high',
        override: true,
      });
    }
  }

  /** Per stage: revision and image, tasks, instances, the last pipeline execution, alarms. */
  function snapshot() {
    return allStages(config).map(({ app, stage }) => {
      const names = stageNames(app, stage);
      const service = ecs.view(names.cluster, names.service);
      const group = autoScaling.view(names.autoScalingGroup);
      const instances = (group?.instances ?? []).map((i) => {
        const ecsInstance = service?.instances.find((e) => e.id === i.id);
        return {
          id: i.id,
          lifecycleState: i.lifecycleState,
          status: ecsInstance?.status ?? (i.lifecycleState === 'Pending' ? 'LAUNCHING' : 'GONE'),
          runningTasks: ecsInstance?.runningTasks ?? 0,
          pendingTasks: ecsInstance?.pendingTasks ?? 0,
          protectedFromScaleIn: i.protectedFromScaleIn,
        };
      });
      return {
        app,
        stage,
        taskDefinition: service?.taskDefinition,
        desiredCount: service?.desiredCount ?? 0,
        runningCount: service?.runningCount ?? 0,
        pendingCount: service?.pendingCount ?? 0,
        deployments: service?.deployments ?? [],
        events: service?.events ?? [],
        instances,
        autoScalingGroup: group ? { min: group.min, max: group.max, desired: group.desired } : undefined,
        lastPipelineExecution: codePipeline.lastExecution(names.pipeline),
        alarms: cloudWatch.view(app, stage),
        load: cloudWatch.load(app, stage),
        logGroup: service ? appLogGroup(service.taskDefinition.arn) : undefined,
      };
    });
  }

  /** The `awslogs-group` of the app container of a revision: where its tasks' output goes. */
  function appLogGroup(taskDefinition: string): string | undefined {
    try {
      const { taskDefinition: definition } = ecs.commands.DescribeTaskDefinition({ taskDefinition });
      const app = definition?.containerDefinitions?.find((c) => c.name === APP_CONTAINER_NAME);
      return app?.logConfiguration?.options?.['awslogs-group'];
    } catch {
      return undefined;
    }
  }

  let deployed: DeployedApp | undefined;
  function deployment(): DeployedApp {
    if (!deployed)
      throw new Error('the emulated account has no stacks yet: deploy the templates first (deployApp)');
    return deployed;
  }
  /** A variable of the functions' environment (as the templates set it). */
  function functionVariable(name: string): string {
    const value = deployment().environment[name];
    if (value === undefined)
      throw new Error(`no function of the templates has the environment variable ${name}`);
    return value;
  }

  /** Deploys the stacks of `templates` (idempotent: what exists stays). */
  async function deploy(templates: TemplateSet): Promise<DeployedApp> {
    deployed = await deployTemplates({ accountId, region, dataDir, ...emulators, dispatch }, templates);
    flush();
    return deployed;
  }

  return {
    accountId,
    region,
    clock,
    config,
    dataDir,
    /** The control plane's versioned source bucket (`SOURCE_BUCKET` of the functions). */
    get sourceBucket(): string {
      return functionVariable('SOURCE_BUCKET');
    },
    /** Where the release records releases (`RELEASE_HISTORY_BUCKET`: the source bucket on AWS). */
    get releaseHistoryBucket(): string {
      return functionVariable('RELEASE_HISTORY_BUCKET');
    },
    /** What the last deployment created: rules, functions and their environment, the evaluator. */
    get deployed(): DeployedApp {
      return deployment();
    },
    /** Mutable: the server installs its hooks after creating the account. */
    hooks,
    ...emulators,
    attach,
    dispatch,
    tick,
    flush,
    snapshot,
    deploy,
    /**
     * `cdk deploy` of the CDK app for `appConfig` (default: the account's configuration):
     * synthesized or read from the cache, then deployed. What CDK would create is what the
     * account has; nothing else.
     */
    async deployApp(
      cache: AppTemplatesOptions = { cacheDir: join(dataDir, 'templates') },
      appConfig: StackpilotConfig = config,
    ): Promise<DeployedApp> {
      return deploy(await appTemplates(appConfig, cache));
    },
  };
}
