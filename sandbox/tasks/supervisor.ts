/**
 * Runs the emulated ECS tasks as real processes. ECS decides (placement, rolling
 * deployments, minimum healthy percent, the circuit breaker); the supervisor carries it out
 * on this machine and reports back what happened:
 *
 * - a task ECS starts runs the app from the commit its image was built from (the source zip
 *   Package Source wrote, unpacked once per commit), with the local command of the app
 *   (`command.ts`), on its own loopback port, with the container's environment, PORT and
 *   its secrets; the stage's placeholder revision runs BusyBox's page in process;
 * - its container health check is a real HTTP GET of the health check path: HEALTHY puts it
 *   behind the stage's front door (which routes as the stage's API Gateway or load balancer
 *   does: to the stage's service, or a preview's by its path), UNHEALTHY makes ECS stop it and
 *   count it as failed;
 * - a process that exits is a stopped task with its exit code; a task ECS stops gets SIGTERM,
 *   then SIGKILL after the container's stop timeout;
 * - its output goes to the log sink (awslogs group and stream); the CPU of the stage's service's
 *   tasks feeds CloudWatch.
 *
 * Where an app cannot run this way, the sandbox says so once per stage and its tasks stay
 * records, as before.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import type { ContainerDefinition } from '@aws-sdk/client-ecs';
import { allStages } from '#shared/config.ts';
import { previewPipelineName, stageNames } from '#shared/naming.ts';
import { frontDoorParameter } from '#shared/preview/front-door.ts';
import { PLACEHOLDER_IMAGE } from '#shared/release/placeholder.ts';
import type { TaskRecord } from '../account/ecs-model.ts';
import type { EmulatedAccount } from '../account/index.ts';
import { exitCodeOf, localCommand, shellLine } from './command.ts';
import { groupCpuSeconds } from './cpu.ts';
import { type DoorTarget, FrontDoor } from './front-door.ts';
import { HealthState, healthCheckTiming, realTiming } from './health.ts';
import { awslogsStream, LineSplitter, type LogSink } from './logs.ts';
import {
  apiDoorRoutes,
  type DoorRoute,
  decideRoute,
  listenerDoorRoutes,
  publishedFrontDoor,
} from './routing.ts';
import { findSource, readZipFile, sourceDir, unpackOnce } from './source.ts';

/** How a stage's secret looks wherever the sandbox shows it, and what a task gets without a value. */
export const MASKED = '********';
/** Real milliseconds between two CPU samples. */
const CPU_SAMPLE_MS = 1000;

export interface SupervisorOptions {
  readonly account: EmulatedAccount;
  readonly dataDir: string;
  readonly timeScale: number;
  readonly log: (line: string) => void;
  readonly logSink: LogSink;
}

/** How a task runs: the app's command in its commit's source, or the placeholder page. */
type Plan =
  | { kind: 'placeholder' }
  | {
      kind: 'process';
      commit: string;
      zipPath: string;
      /** The app's folder in the source (monorepos), where its command runs. */
      path: string | undefined;
      command: string;
      how: string;
    };

/** `<app>-<stage>` for the stage's service (as before previews), `<app>-<stage>-pr-<n>` for a preview's. */
function dataFolderOf(runtime: Pick<Runtime, 'app' | 'stage' | 'service'>): string {
  const stage = `${runtime.app}-${runtime.stage}`;
  const previewPrefix = `${stageNames(runtime.app, runtime.stage).service}-pr-`;
  const preview = runtime.service?.startsWith(previewPrefix)
    ? runtime.service.slice(previewPrefix.length)
    : '';
  return /^\d+$/.test(preview) ? `${stage}-pr-${preview}` : stage;
}

interface Runtime {
  readonly taskArn: string;
  readonly app: string;
  readonly stage: string;
  /** Its ECS service: the stage's, or a preview's in the stage's cluster. */
  readonly service: string | undefined;
  readonly kind: Plan['kind'];
  readonly commit?: string;
  readonly cpuUnits: number;
  port?: number;
  child?: ChildProcess;
  server?: Server;
  health?: HealthState;
  timing?: ReturnType<typeof realTiming>;
  healthPath: string;
  nextCheckAt: number;
  checking: boolean;
  exited: boolean;
  killAt?: number;
  lastCpu?: { seconds: number; at: number };
}

/** A stage's environment as the sandbox shows it: secret values masked. */
export interface EnvironmentView {
  name: string;
  value: string;
  from: 'environment' | 'secret';
}

export class TaskSupervisor {
  private readonly runtimes = new Map<string, Runtime>();
  private readonly plans = new Map<string, Plan>();
  private readonly starting = new Set<string>();
  private readonly notes = new Set<string>();
  private readonly doors = new Map<string, FrontDoor>();
  private readonly stages: Map<
    string,
    { app: string; stage: string; healthCheckPath: string; command?: string; path?: string }
  >;
  private lastCpuSample = 0;
  private closed = false;
  private readonly killAll = () => {
    for (const runtime of this.runtimes.values()) this.signal(runtime, 'SIGKILL');
  };

  constructor(private readonly options: SupervisorOptions) {
    this.stages = new Map(
      allStages(options.account.config).map(({ app, stage, appConfig }) => [
        stageNames(app, stage).cluster,
        {
          app,
          stage,
          healthCheckPath: appConfig.healthCheckPath,
          command: appConfig.sandbox?.command,
          // A monorepo app runs in its folder, as its image is built from it.
          path: appConfig.path,
        },
      ]),
    );
    options.account.ecs.onTaskPlaced = (task) => this.placed(task);
    // Children live in their own process groups: a sandbox that exits takes them along.
    process.on('exit', this.killAll);
  }

  /**
   * Opens a front door per stage and takes over the tasks running already (placed before
   * the supervisor, or by an earlier sandbox): resolves with the URLs by `app/stage`.
   */
  async open(): Promise<Record<string, string>> {
    for (const { task } of this.options.account.ecs.liveTasks()) {
      if (task.supervised || task.failReason || task.desiredStatus !== 'RUNNING') continue;
      const plan = this.plan(task);
      if (!plan) continue;
      this.plans.set(task.taskArn, plan);
      this.options.account.ecs.supervise(task);
    }
    for (const { app, stage } of this.stages.values()) {
      const door = await FrontDoor.open({ route: (method, url) => this.route(app, stage, method, url) });
      this.doors.set(`${app}/${stage}`, door);
    }
    return this.urls();
  }

  /** The front door URL of each stage, by `app/stage`. */
  urls(): Record<string, string> {
    return Object.fromEntries([...this.doors].map(([key, door]) => [key, door.url]));
  }

  /**
   * Where the stage's front door sends a request: the service the stage's routes give it
   * (`routing.ts`), the ports of that service's healthy tasks, and the path they receive.
   */
  route(app: string, stage: string, method: string, url: string): DoorTarget {
    const stageService = stageNames(app, stage).service;
    const decision = decideRoute({ method, url }, this.doorRoutes(app, stage), stageService);
    const name =
      decision.via === 'default'
        ? `${app}/${stage}`
        : `${app}/${stage} ${decision.via} (${decision.service ?? 'no service'})`;
    return {
      name,
      ports: decision.service ? this.targets(app, stage, decision.service) : [],
      url: decision.url,
    };
  }

  /**
   * The routes of the stage's front door besides its default, each with the ECS service behind
   * it: the routes of the stage's HTTP API (standard) or the rules of its serving listener
   * (hyperscale), as its published front door parameter names them; a stage stack from before
   * the parameter is found from its service: the API integrating with its Cloud Map service,
   * the listener forwarding to its target group.
   */
  private doorRoutes(app: string, stage: string): DoorRoute[] {
    const { ecs, apiGatewayV2, elbv2, ssm } = this.options.account;
    const names = stageNames(app, stage);
    const services = ecs.services(names.cluster);
    const own = services.find((s) => s.serviceName === names.service);
    const door = publishedFrontDoor(ssm.value(frontDoorParameter(app, stage)));
    const apiIds = door
      ? door.scale === 'standard'
        ? [door.apiId]
        : []
      : (own?.serviceRegistries ?? []).flatMap((r) => apiGatewayV2.apisIntegrating(r.registryArn ?? ''));
    const listenerArns = door
      ? door.scale === 'hyperscale'
        ? [door.listenerArn]
        : []
      : (own?.loadBalancers ?? []).flatMap((l) => elbv2.listenersForwardingTo(l.targetGroupArn ?? ''));
    return [
      ...apiIds.flatMap((id) => {
        const api = apiGatewayV2.routing(id);
        return api ? apiDoorRoutes(api.routes, api.integrations, services) : [];
      }),
      ...listenerArns.flatMap((arn) => listenerDoorRoutes(elbv2.listenerRules(arn) ?? [], services)),
    ];
  }

  /** The loopback ports of the RUNNING, healthy tasks of a service of the stage (default: the stage's own) that ECS has not asked to stop. */
  targets(app: string, stage: string, service = stageNames(app, stage).service): number[] {
    const tasks = new Map(this.options.account.ecs.liveTasks().map(({ task }) => [task.taskArn, task]));
    return [...this.runtimes.values()]
      .filter((r) => {
        const task = tasks.get(r.taskArn);
        return (
          r.app === app &&
          r.stage === stage &&
          r.service === service &&
          !r.exited &&
          r.killAt === undefined &&
          r.port !== undefined &&
          r.health?.status === 'HEALTHY' &&
          task?.lastStatus === 'RUNNING' &&
          task.desiredStatus === 'RUNNING'
        );
      })
      .map((r) => r.port as number);
  }

  /** The stage's tasks as processes: for `GET /stages` (ids, ports, pids, health, commit). */
  tasks(app: string, stage: string) {
    return [...this.runtimes.values()]
      .filter((r) => r.app === app && r.stage === stage)
      .map((r) => ({
        id: r.taskArn.slice(r.taskArn.lastIndexOf('/') + 1),
        service: r.service,
        kind: r.kind,
        port: r.port,
        pid: r.child?.pid,
        health: r.health?.status ?? 'UNKNOWN',
        stopping: r.killAt !== undefined,
        ...(r.commit && { commit: r.commit }),
      }));
  }

  /** The resolved environment of a stage's current revision, secret values masked. */
  environment(app: string, stage: string): EnvironmentView[] {
    const names = stageNames(app, stage);
    const view = this.options.account.ecs.view(names.cluster, names.service);
    const arn = view?.taskDefinition.arn;
    const container = arn
      ? this.options.account.ecs.definitionOf({ taskDefinitionArn: arn })?.containerDefinitions?.[0]
      : undefined;
    return [
      ...(container?.environment ?? []).map((e) => ({
        name: e.name ?? '',
        value: e.value ?? '',
        from: 'environment' as const,
      })),
      ...(container?.secrets ?? []).map((s) => ({
        name: s.name ?? '',
        value: MASKED,
        from: 'secret' as const,
      })),
    ];
  }

  // ---- ECS tells ----

  /** ECS placed a task: decide whether it runs as a process (it then needs real health checks). */
  private placed(task: TaskRecord): void {
    if (this.closed || task.failReason) return;
    const plan = this.plan(task);
    if (!plan) return;
    this.plans.set(task.taskArn, plan);
    this.options.account.ecs.supervise(task);
  }

  private plan(task: TaskRecord): Plan | undefined {
    const stage = this.stages.get(task.clusterName);
    if (!stage) return undefined;
    const image = this.options.account.ecs.definitionOf(task)?.containerDefinitions?.[0]?.image ?? '';
    if (image === PLACEHOLDER_IMAGE) return { kind: 'placeholder' };
    const where = `${stage.app}/${stage.stage}`;
    // A stage's tasks come from its pipeline, a preview's from the stage's preview pipeline.
    const source =
      findSource(this.options.account, stageNames(stage.app, stage.stage).pipeline, image) ??
      findSource(this.options.account, previewPipelineName(stage.app, stage.stage), image);
    if (!source) {
      this.note(
        `${where}:source:${image}`,
        `sandbox: ${where}: no source zip built image ${image}, so its tasks are records (not processes)`,
      );
      return undefined;
    }
    let packageJson: string | undefined;
    try {
      packageJson = readZipFile(source.zipPath, stage.path ? `${stage.path}/package.json` : 'package.json');
    } catch (error) {
      this.note(`${where}:zip`, `sandbox: ${where}: cannot read the source zip: ${(error as Error).message}`);
      return undefined;
    }
    const command = localCommand(stage.command, packageJson);
    if (!command.ok) {
      this.note(
        `${where}:command`,
        `sandbox: ${where} cannot run as local processes: ${command.reason}; its tasks are records (health assumed)`,
      );
      return undefined;
    }
    return { kind: 'process', commit: source.commit, zipPath: source.zipPath, path: stage.path, ...command };
  }

  // ---- the loop (after each tick of the account) ----

  /** Starts, checks, stops and measures the processes to match what ECS decided. */
  sync(): void {
    if (this.closed) return;
    const ecs = this.options.account.ecs;
    const now = Date.now();
    const live = ecs.liveTasks();
    const seen = new Set<string>();
    for (const { task } of live) {
      if (!task.supervised) continue;
      seen.add(task.taskArn);
      const runtime = this.runtimes.get(task.taskArn);
      if (task.desiredStatus === 'STOPPED') {
        if (runtime && !runtime.exited) this.stop(runtime, task, now);
        else if (!runtime && !this.starting.has(task.taskArn) && task.lastStatus === 'RUNNING')
          ecs.containerExited(task, 0);
        continue;
      }
      if (task.lastStatus === 'RUNNING' && !runtime && !this.starting.has(task.taskArn)) {
        this.starting.add(task.taskArn);
        this.start(task).finally(() => this.starting.delete(task.taskArn));
      }
      if (runtime && !runtime.exited && runtime.killAt === undefined) this.check(runtime, now);
    }
    for (const runtime of this.runtimes.values()) {
      if (!seen.has(runtime.taskArn) && !runtime.exited) this.stop(runtime, undefined, now);
      if (runtime.killAt !== undefined && now >= runtime.killAt && !runtime.exited)
        this.signal(runtime, 'SIGKILL');
      if (runtime.exited && !seen.has(runtime.taskArn)) this.runtimes.delete(runtime.taskArn);
    }
    if (now - this.lastCpuSample >= CPU_SAMPLE_MS) {
      this.lastCpuSample = now;
      this.measureCpu(now);
    }
  }

  /** Stops every process (SIGTERM, then SIGKILL after `graceMs`) and closes the front doors. */
  async close(graceMs = 3000): Promise<void> {
    this.closed = true;
    this.options.account.ecs.onTaskPlaced = undefined;
    await Promise.all([...this.doors.values()].map((door) => door.close()));
    const alive = [...this.runtimes.values()].filter((r) => !r.exited);
    for (const runtime of alive) this.signal(runtime, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (alive.some((r) => !r.exited) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const runtime of alive) if (!runtime.exited) this.signal(runtime, 'SIGKILL');
    while (alive.some((r) => !r.exited) && Date.now() < deadline + 2000)
      await new Promise((r) => setTimeout(r, 20));
    process.off('exit', this.killAll);
  }

  // ---- one task ----

  private async start(task: TaskRecord): Promise<void> {
    const ecs = this.options.account.ecs;
    const stage = this.stages.get(task.clusterName);
    const definition = ecs.definitionOf(task);
    const container = definition?.containerDefinitions?.[0];
    const plan = this.plans.get(task.taskArn) ?? this.plan(task);
    if (!stage || !container || !plan) {
      // Supervised before a restart, and its source is gone: the container cannot start.
      ecs.containerExited(task, 1);
      return;
    }
    const check = container.healthCheck;
    const timing = realTiming(healthCheckTiming(check), this.options.timeScale);
    const runtime: Runtime = {
      taskArn: task.taskArn,
      app: stage.app,
      stage: stage.stage,
      service: task.serviceName,
      kind: plan.kind,
      ...(plan.kind === 'process' && { commit: plan.commit }),
      cpuUnits: task.cpu || 1024,
      healthPath: healthPathOf(check?.command) ?? stage.healthCheckPath,
      timing,
      health: new HealthState(timing.retries, Date.now() + timing.startPeriodMs),
      nextCheckAt: Date.now() + Math.min(timing.intervalMs, 300),
      checking: false,
      exited: false,
    };
    try {
      runtime.port = await freePort();
      if (plan.kind === 'placeholder') {
        runtime.server = await placeholderServer(runtime.port, stage.app, stage.stage, stage.healthCheckPath);
      } else {
        const dir = sourceDir(this.options.dataDir, plan.commit);
        unpackOnce(plan.zipPath, dir);
        runtime.child = this.spawnTask(
          runtime,
          task,
          container,
          plan.path ? join(dir, plan.path) : dir,
          plan.command,
        );
      }
    } catch (error) {
      this.options.log(
        `sandbox: task ${runtime.taskArn.slice(-12)} of ${stage.app}/${stage.stage} failed to start: ${(error as Error).message}`,
      );
      runtime.exited = true;
      ecs.containerExited(task, 1);
      return;
    }
    this.runtimes.set(task.taskArn, runtime);
  }

  private spawnTask(
    runtime: Runtime,
    task: TaskRecord,
    container: ContainerDefinition,
    dir: string,
    command: string,
  ): ChildProcess {
    const env = this.taskEnvironment(runtime, container, dir);
    const child = spawn('/bin/sh', ['-c', shellLine(command)], {
      cwd: dir,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const target = awslogsStream(container, task.taskArn);
    const emit = (line: string) => {
      if (target)
        this.options.logSink.append(target.logGroupName, target.logStreamName, [
          { timestamp: this.options.account.clock.now(), message: line },
        ]);
    };
    const out = new LineSplitter(emit);
    const err = new LineSplitter(emit);
    child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (error) => emit(`sandbox: the task's process failed: ${error.message}`));
    child.on('exit', (code, signal) => {
      out.flush();
      err.flush();
      runtime.exited = true;
      const record = this.options.account.ecs
        .liveTasks()
        .find((t) => t.task.taskArn === runtime.taskArn)?.task;
      if (record && !this.closed) this.options.account.ecs.containerExited(record, exitCodeOf(code, signal));
    });
    return child;
  }

  /** The container's environment, its secrets (emulated values, else masked), PORT, and a data folder. */
  private taskEnvironment(runtime: Runtime, container: ContainerDefinition, dir: string): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
      // What an image has: a PATH with this Node and the app's own tools, a HOME.
      PATH: [join(dir, 'node_modules', '.bin'), dirname(process.execPath), process.env.PATH ?? '']
        .filter(Boolean)
        .join(':'),
      HOME: process.env.HOME ?? dir,
      // State that must outlive a task (the "stateless app" rule): one folder per service, shared
      // by its tasks; a preview has its own, so a pull request's code never writes the stage's data.
      DATA_DIR: join(this.options.dataDir, 'tasks', 'data', dataFolderOf(runtime)),
    };
    for (const e of container.environment ?? []) if (e.name) env[e.name] = e.value ?? '';
    const missing: string[] = [];
    for (const secret of container.secrets ?? []) {
      if (!secret.name) continue;
      const value = this.secretValue(secret.valueFrom ?? '');
      if (value === undefined) missing.push(secret.name);
      env[secret.name] = value ?? MASKED;
    }
    if (missing.length > 0)
      this.note(
        `${runtime.app}/${runtime.stage}:secrets:${missing.join(',')}`,
        `sandbox: ${runtime.app}/${runtime.stage}: the secrets ${missing.join(', ')} have no value in the sandbox's Secrets Manager or Parameter Store; its tasks get ${MASKED}`,
      );
    env.PORT = String(runtime.port);
    mkdirSync(env.DATA_DIR as string, { recursive: true });
    return env;
  }

  /** A secret's value from the emulated Secrets Manager (with its JSON key) or Parameter Store. */
  private secretValue(valueFrom: string): string | undefined {
    const account = this.options.account;
    if (valueFrom.startsWith('arn:') && valueFrom.split(':')[2] === 'secretsmanager') {
      const parts = valueFrom.split(':');
      const arn = parts.slice(0, 7).join(':');
      const jsonKey = parts[7];
      let text: string | undefined;
      try {
        text = account.secretsManager.commands.GetSecretValue({ SecretId: arn }).SecretString;
      } catch {
        return undefined;
      }
      if (!jsonKey || text === undefined) return text;
      try {
        const value = (JSON.parse(text) as Record<string, unknown>)[jsonKey];
        return value === undefined ? undefined : String(value);
      } catch {
        return undefined;
      }
    }
    const name = valueFrom.startsWith('arn:')
      ? valueFrom.slice(valueFrom.indexOf(':parameter') + 10)
      : valueFrom;
    return account.ssm.value(name) ?? account.ssm.value(name.replace(/^\/?/, '/'));
  }

  /** ECS stops the task: SIGTERM now, SIGKILL after the container's stop timeout (scaled). */
  private stop(runtime: Runtime, task: TaskRecord | undefined, now: number): void {
    if (runtime.killAt !== undefined) return;
    const timeout = task ? this.options.account.ecs.stopTimeoutMs(task) : 30_000;
    runtime.killAt = now + Math.max(1000, timeout / this.options.timeScale);
    this.signal(runtime, 'SIGTERM');
  }

  private signal(runtime: Runtime, signal: NodeJS.Signals): void {
    if (runtime.server) {
      runtime.server.close();
      runtime.server.closeAllConnections();
      if (!runtime.exited) {
        runtime.exited = true;
        const record = this.options.account.ecs
          .liveTasks()
          .find((t) => t.task.taskArn === runtime.taskArn)?.task;
        if (record && !this.closed) this.options.account.ecs.containerExited(record, 0);
      }
      return;
    }
    const pid = runtime.child?.pid;
    if (pid === undefined || runtime.exited) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // the group is gone already
    }
  }

  /** One real HTTP GET of the health check path when one is due. */
  private check(runtime: Runtime, now: number): void {
    if (runtime.checking || now < runtime.nextCheckAt || runtime.port === undefined || !runtime.timing)
      return;
    runtime.checking = true;
    runtime.nextCheckAt = now + runtime.timing.intervalMs;
    probe(runtime.port, runtime.healthPath, runtime.timing.timeoutMs).then((ok) => {
      runtime.checking = false;
      if (runtime.exited || this.closed) return;
      const changed = runtime.health?.record(ok, Date.now());
      const task = this.options.account.ecs.liveTasks().find((t) => t.task.taskArn === runtime.taskArn)?.task;
      if (!task || !changed) return;
      if (changed === 'HEALTHY') this.options.account.ecs.taskHealthy(task);
      if (changed === 'UNHEALTHY') this.options.account.ecs.taskUnhealthy(task);
    });
  }

  /**
   * The stages' CPU: what the processes of each stage's service used since the last sample,
   * over what their tasks reserve (a preview's tasks are another service: not the stage's CPU).
   */
  private measureCpu(now: number): void {
    const processes = [...this.runtimes.values()].filter(
      (r) => r.child?.pid !== undefined && !r.exited && r.service === stageNames(r.app, r.stage).service,
    );
    const used = groupCpuSeconds(new Set(processes.map((r) => r.child?.pid as number)));
    const byStage = new Map<string, { cores: number; reserved: number; measured: boolean }>();
    for (const { app, stage } of this.stages.values())
      byStage.set(`${app}/${stage}`, { cores: 0, reserved: 0, measured: false });
    if (used) {
      for (const runtime of processes) {
        const seconds = used.get(runtime.child?.pid as number);
        const totals = byStage.get(`${runtime.app}/${runtime.stage}`);
        if (seconds === undefined || !totals) continue;
        const last = runtime.lastCpu;
        runtime.lastCpu = { seconds, at: now };
        totals.measured = true;
        totals.reserved += runtime.cpuUnits / 1024;
        if (last && now > last.at) totals.cores += (seconds - last.seconds) / ((now - last.at) / 1000);
      }
    }
    for (const [key, totals] of byStage) {
      const [app = '', stage = ''] = key.split('/');
      this.options.account.cloudWatch.setMeasuredLoad(
        app,
        stage,
        totals.measured && totals.reserved > 0
          ? Math.round((totals.cores / totals.reserved) * 1000) / 10
          : undefined,
      );
    }
  }

  private note(key: string, line: string): void {
    if (this.notes.has(key)) return;
    this.notes.add(key);
    this.options.log(line);
  }
}

/** The path of a health check command's URL (`wget … 'http://127.0.0.1:8080/health'`), if it has one. */
export function healthPathOf(command: string[] | undefined): string | undefined {
  const match = (command ?? []).join(' ').match(/https?:\/\/(?:127\.0\.0\.1|localhost)(?::\d+)?(\/[^'"\s]*)/);
  return match?.[1];
}

/** A GET that answers 2xx or 3xx within the timeout (what `wget -q` or `curl -f` accept). */
function probe(port: number, path: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path, timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 500) < 400);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The placeholder revision (BusyBox httpd in the template): its page, and 200 on the health path. */
function placeholderServer(
  port: number,
  app: string,
  stage: string,
  healthCheckPath: string,
): Promise<Server> {
  const page = `stackpilot: ${app}/${stage} is ready; push to its branch to deploy your app.\n`;
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    if (path === '/' || path === '/index.html') res.writeHead(200, { 'content-type': 'text/html' }).end(page);
    else if (path === healthCheckPath) res.writeHead(200, { 'content-type': 'text/html' }).end('ok\n');
    else res.writeHead(404, { 'content-type': 'text/html' }).end('404 Not Found\n');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}
