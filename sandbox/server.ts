/**
 * The sandbox server (`npm start`): the whole control plane on one machine, no AWS account.
 *
 * - the emulated account (`sandbox/account/`) answers the production adapters' SDK calls
 *   through a middleware on the clients of `shared/aws/clients.ts`;
 * - the runner executes the real ASL files with the real handlers in process;
 * - the event bus routes the account's events (alarm state changes, ECS service actions)
 *   by the patterns the CDK stack deploys;
 * - an HTTP API on loopback: webhooks (through an API Gateway payload 2.0 adapter to the
 *   real webhook handler), events, executions, stages, the load knob, and a git server
 *   whose pushes deliver signed GitHub push webhooks to the sandbox itself.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { buffer } from 'node:stream/consumers';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { CONFIG_ENV, CONFIG_FILE_ENV, type StackpilotConfig } from '#shared/config.ts';
import { loadConfigFile } from '#shared/config-file.ts';
import { stateMachineName } from '#shared/naming.ts';
import { previewUrl } from '#shared/preview/model.ts';
import { createEmulatedAccount, type EmulatedAccount, scaledClock } from './account/index.ts';
import { DeployRequestError, deployRequest } from './deploy-request.ts';
import { EventBus, InvalidEvent, lambdaTargetFolder, templateRules } from './event-bus.ts';
import { executionStatusChangeEvent } from './execution-events.ts';
import { CommitStatusStore } from './git/commit-status.ts';
import { type PushNotice, serveGit } from './git/http-backend.ts';
import { githubPullRequestPayload, PullRequestError, PullRequestStore } from './git/pull-request.ts';
import { deliverGithubWebhook, githubPushPayload } from './git/push-webhook.ts';
import { ensureStarterRepository } from './git/repo.ts';
import { StageHistory, sampleIntervalFor } from './history.ts';
import { localLambdaContext } from './lambda-context.ts';
import { DEFAULT_DATA_DIR, DEFAULT_PORT, serverFile, shortCause } from './location.ts';
import { type ExecutionRecord, Runner, STATE_MACHINE_KINDS } from './runner.ts';
import type { StateMachineName } from './state-machines.ts';
import { TaskSupervisor } from './tasks/supervisor.ts';
import { pageFile, sendPageFile } from './web/static.ts';

export { DEFAULT_DATA_DIR, DEFAULT_PORT, serverFile, shortCause };
/** With 60, an emulated minute takes a second: a 5-minute cooldown passes in 5 s. */
export const DEFAULT_TIME_SCALE = 60;
export const ACCOUNT_ID = '123456789012';
export const REGION = 'us-east-1';

/** The functions' variables that name the webhook secrets (their values are the templates' secret ARNs). */
const WEBHOOK_SECRET_VARIABLES = ['GITHUB_WEBHOOK_SECRET_ARN', 'GITLAB_WEBHOOK_TOKEN_ARN'] as const;
/** The secret the deploy's commit statuses are sent with; the sandbox's git server takes any token. */
const STATUS_TOKEN_SECRET = 'stackpilot/sandbox-status-token';
/** The functions the templates' rules invoke (by folder), run in process like the state machines' steps. */
export interface SandboxOptions {
  /** Folder of the sandbox's state. @default '.stackpilot' */
  readonly dataDir?: string;
  /** Port on 127.0.0.1; 0 picks a free one. @default PORT or 4010 */
  readonly port?: number;
  /** Emulated time runs this many times faster than real time. @default 60 */
  readonly timeScale?: number;
  /** `stackpilot.yml` path. @default STACKPILOT_CONFIG or 'stackpilot.yml' */
  readonly configPath?: string;
  /** Start from an empty data folder. */
  readonly reset?: boolean;
  /** Where the server's one-line notes go (pushes, executions). @default stdout */
  readonly log?: (line: string) => void;
}

/** A repository the sandbox serves in place of the one `stackpilot.yml` names. */
export interface HostedRepository {
  /** The URL in `stackpilot.yml`, e.g. `https://github.com/stackpilot-examples/starter.git`. */
  readonly configuredUrl: string;
  /** `owner/name` of the configured URL. */
  readonly fullName: string;
  /** Folder name under `/git/`, e.g. `starter.git`. */
  readonly repository: string;
  /** The sandbox's clone URL. */
  readonly cloneUrl: string;
  readonly apps: string[];
  /** The branch the first stage of the first app tracks, and that stage. */
  readonly branch: string;
  readonly stage: string;
}

export interface Sandbox {
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  readonly timeScale: number;
  readonly webhookSecret: string;
  /** Where the secret came from: the environment or the data folder's file. */
  readonly webhookSecretSource: string;
  readonly repositories: HostedRepository[];
  readonly account: EmulatedAccount;
  readonly runner: Runner;
  readonly bus: EventBus;
  /** Runs the stages' tasks as processes behind a front door per stage. */
  readonly supervisor: TaskSupervisor;
  /** The front door URL of each stage, by `app/stage`. */
  readonly stageUrls: Record<string, string>;
  /** Resolves when every webhook delivery triggered by pushes so far has been answered. */
  settled(): Promise<void>;
  /** Stops the server and the clock, records running executions as aborted, flushes state. */
  close(): Promise<void>;
}

/** Starts the sandbox; resolves once it listens. */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const dataDir = resolve(options.dataDir ?? DEFAULT_DATA_DIR);
  const timeScale = options.timeScale ?? DEFAULT_TIME_SCALE;
  if (!(timeScale > 0)) throw new Error(`--time-scale must be a positive number, got ${timeScale}`);
  const log = options.log ?? ((line: string) => console.log(line));
  const configured = loadConfigFile(options.configPath);
  if (options.reset) rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const { secret: webhookSecret, source: webhookSecretSource } = webhookSecretFor(dataDir);

  // Listen first: the clone URLs (and so the configuration the functions see) carry the port.
  let handle: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
    res.writeHead(503, { 'content-type': 'application/json' }).end('{"message":"the sandbox is starting"}');
  };
  const server = createServer((req, res) => handle(req, res));
  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? Number(process.env.PORT ?? DEFAULT_PORT), '127.0.0.1', () => {
      server.off('error', reject);
      resolvePromise();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  try {
    const { config, repositories } = hostRepositories(configured, url);
    for (const repo of repositories) {
      await ensureStarterRepository(join(dataDir, 'git'), repo.repository.replace(/\.git$/, ''), repo.branch);
    }

    const clock = scaledClock({ timeScale });
    const account = createEmulatedAccount({ dataDir, config, clock, accountId: ACCOUNT_ID, region: REGION });
    // The account is what `cdk deploy` of stackpilot.yml creates: the templates of the configured
    // file (not of the sandbox's clone URLs, which only the functions' configuration carries).
    const started = Date.now();
    const deployed = await account.deployApp({ cacheDir: join(dataDir, 'templates') }, configured);
    log(
      `sandbox: the account has the stacks of the CDK app (templates ${deployed.hash.slice(0, 12)}, ${Date.now() - started} ms)`,
    );
    // The webhook secrets are the templates' secrets, holding the value the sandbox's git server signs with.
    for (const variable of WEBHOOK_SECRET_VARIABLES) {
      const arn = deployed.environment[variable];
      const name = arn === undefined ? undefined : account.secretsManager.nameOf(arn);
      if (name === undefined) throw new Error(`the templates' functions have no ${variable} naming a secret`);
      account.secretsManager.put(name, webhookSecret);
    }
    account.secretsManager.put(STATUS_TOKEN_SECRET, 'sandbox-status-token');
    const commitStatuses = new CommitStatusStore(dataDir);
    let statusBus: EventBus | undefined;

    const runner = new Runner({
      dataDir,
      accountId: ACCOUNT_ID,
      region: REGION,
      timeScale,
      onChange: (record) => {
        log(describeChange(record));
        // Step Functions puts each status change on the bus; the commit status and release alert rules listen.
        void statusBus?.put(executionStatusChangeEvent(record)).then(([delivery]) => {
          for (const [rule, message] of Object.entries(delivery?.failures ?? {}))
            log(`event bus: rule ${rule} failed on an execution status change: ${message}`);
        });
      },
    });

    // What the CDK app sets on the functions (bucket names, secret and state machine ARNs, from the
    // templates), set before the first handler module loads; the configuration is the sandbox's own.
    // The configuration is the sandbox's own (its clone URLs), inline: there is no bundle with a file.
    const { [CONFIG_FILE_ENV]: _bundledFile, ...environment } = deployed.environment;
    Object.assign(process.env, environment, {
      [CONFIG_ENV]: JSON.stringify(config),
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'sandbox',
      AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'sandbox',
      POWERTOOLS_TRACE_ENABLED: 'false',
      POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
    });
    const { clients } = await import('#shared/aws/clients.ts');
    account.attach(clients);

    const bus = new EventBus(ACCOUNT_ID, REGION, () => new Date(clock.now()));
    statusBus = bus;
    // The templates' EventBridge rules; their targets: the state machines the runner executes, the
    // functions it invokes (the wait relay, commit status, release alerts), and alert topics (logged).
    const startTarget = (arn: string, event: unknown) => {
      const folder = lambdaTargetFolder(arn, deployed.functions);
      if (folder) return runner.invoke(folder, event);
      if (arn.includes(':sns:')) {
        const e = event as { 'detail-type'?: string; detail?: { cause?: string; stoppedReason?: string } };
        return log(
          `alert to ${arn.split(':').at(-1)}: ${e['detail-type']} ${shortCause(e.detail?.cause ?? e.detail?.stoppedReason)}`,
        );
      }
      const kind = runner.kindOf(arn);
      if (!kind) throw new Error(`rule target ${arn} is not a state machine the sandbox runs`);
      return runner.start(kind, event);
    };
    for (const rule of templateRules(deployed.rules, startTarget)) bus.addRule(rule);

    account.hooks.stepFunctions = {
      StartExecution: async (input) => runner.sfnCommands().StartExecution(input),
      DescribeExecution: async (input) => runner.sfnCommands().DescribeExecution(input),
      SendTaskSuccess: async (input) => runner.sfnCommands().SendTaskSuccess(input),
      SendTaskFailure: async (input) => runner.sfnCommands().SendTaskFailure(input),
      SendTaskHeartbeat: async (input) => runner.sfnCommands().SendTaskHeartbeat(input),
    };
    account.hooks.onEvent = async (event) => {
      const [delivery] = await bus.put(event);
      for (const [rule, message] of Object.entries(delivery?.failures ?? {})) {
        log(`event bus: rule ${rule} failed on a ${event['detail-type']} event: ${message}`);
      }
    };
    account.hooks.onRelease = async (request) => {
      const kind = STATE_MACHINE_KINDS.find((k) => stateMachineName(k) === request.stateMachine);
      if (!kind)
        throw new Error(`the pipeline invokes ${request.stateMachine}, which the sandbox does not run`);
      const name = `${kind}-${request.pipelineExecutionId}`.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 80);
      let record: ExecutionRecord;
      try {
        record = runner.start(kind, request.input, name);
      } catch (error) {
        // The pipeline asked again for a release it already started (a restart): follow that one.
        const existing = runner.byName(name);
        if ((error as Error).name !== 'ExecutionAlreadyExists' || !existing) throw error;
        record = existing;
      }
      const ended = await runner.wait(record.executionArn);
      return {
        status: ended.status === 'SUCCEEDED' ? 'SUCCEEDED' : 'FAILED',
        executionArn: ended.executionArn,
        error: ended.error,
        cause: ended.cause,
      };
    };
    account.hooks.onHookError = (error, event) =>
      log(`sandbox: handling a ${event['detail-type']} event failed: ${(error as Error).message}`);

    // Task output goes to this sink: the one place to plug the emulated CloudWatch Logs into.
    // Task output goes to the emulated CloudWatch Logs, where `stackpilot logs <app> <stage>` reads it.
    const supervisor = new TaskSupervisor({ account, dataDir, timeScale, log, logSink: account.logs });
    const stageUrls = await supervisor.open();

    // Emulated time moves on its own: rollouts progress and alarms are evaluated between calls,
    // and the task processes follow what ECS decided.
    const ticker = setInterval(
      () => {
        try {
          account.tick();
          supervisor.sync();
        } catch (error) {
          log(`sandbox: the emulated account failed to advance: ${(error as Error).message}`);
        }
      },
      Math.max(20, Math.min(1000, 1000 / timeScale)),
    );
    // The page's chart: each stage's tasks and instances over the last emulated hour.
    const history = new StageHistory({
      clock,
      stages: () => account.snapshot(),
      intervalMs: sampleIntervalFor(timeScale),
    });
    history.start(Math.min(1000, history.intervalMs / timeScale / 2), (error) =>
      log(`sandbox: sampling the stages for the page failed: ${(error as Error).message}`),
    );

    const { handler: webhookHandler } = (await import('../functions/webhook/handler.ts')) as {
      handler: (
        event: APIGatewayProxyEventV2,
        context: Context,
      ) => Promise<APIGatewayProxyStructuredResultV2>;
    };

    const deliveries = new Set<Promise<void>>();
    const onPush = (push: PushNotice) => {
      const repo = repositories.find((r) => r.repository === push.repository);
      if (!repo) return;
      for (const update of push.updates) {
        const delivery = (async () => {
          try {
            const payload = await githubPushPayload({
              gitDir: push.gitDir,
              fullName: repo.fullName,
              cloneUrl: repo.cloneUrl,
              update,
              now: new Date(clock.now()),
            });
            const result = await deliverGithubWebhook(
              `${url}/webhooks/github`,
              webhookSecret,
              'push',
              payload,
            );
            log(
              `git push ${update.ref} ${update.after.slice(0, 7)} -> webhook ${result.status} ${summarizeBody(result.body)}`,
            );
          } catch (error) {
            log(`git push ${update.ref}: delivering the webhook failed: ${(error as Error).message}`);
          }
        })();
        deliveries.add(delivery);
        void delivery.finally(() => deliveries.delete(delivery));
      }
    };

    const pullRequest = async (request: unknown) => {
      try {
        const { app, action, branch, number, merged } = pullRequestRequest(request);
        const repo = repositories.find((r) => r.apps.includes(app));
        if (!repo) {
          throw new PullRequestError(
            `no app ${app} in stackpilot.yml (apps: ${repositories.flatMap((r) => r.apps).join(', ')})`,
            404,
          );
        }
        const gitDir = join(dataDir, 'git', repo.repository);
        const changed = await new PullRequestStore(gitDir).change(
          { action, ...(branch ? { branch } : {}), ...(number ? { number } : {}), merged },
          new Date(clock.now()),
        );
        const payload = await githubPullRequestPayload({
          gitDir,
          fullName: repo.fullName,
          cloneUrl: repo.cloneUrl,
          ...changed,
        });
        const result = await deliverGithubWebhook(
          `${url}/webhooks/github`,
          webhookSecret,
          'pull_request',
          payload,
        );
        log(
          `pull request #${changed.pull.number} ${changed.action} ${changed.pull.head} ${changed.pull.sha.slice(0, 7)} -> webhook ${result.status} ${summarizeBody(result.body)}`,
        );
        return {
          status: 200,
          body: {
            number: changed.pull.number,
            action: changed.action,
            head: changed.pull.head,
            commit: changed.pull.sha,
            webhook: { status: result.status, answer: parseAnswer(result.body) },
          },
        };
      } catch (error) {
        if (error instanceof PullRequestError)
          return { status: error.status, body: { message: error.message } };
        throw error;
      }
    };

    const routes = {
      pullRequest,
      webhook: webhookHandler,
      runner,
      bus,
      account,
      gitRoot: join(dataDir, 'git'),
      onPush,
      config,
      history,
      commitStatuses,
      origin: url,
      supervisor,
    };
    handle = (req, res) => {
      route(routes, req, res).catch((error: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { message: (error as Error).message });
        else res.end();
      });
    };

    writeFileSync(serverFile(dataDir), `${JSON.stringify({ url, pid: process.pid, timeScale }, null, 1)}\n`);

    let closing: Promise<void> | undefined;
    const sandbox: Sandbox = {
      url,
      port,
      dataDir,
      timeScale,
      webhookSecret,
      webhookSecretSource,
      repositories,
      account,
      runner,
      bus,
      supervisor,
      stageUrls,
      async settled() {
        while (deliveries.size > 0) await Promise.allSettled([...deliveries]);
      },
      close() {
        closing ??= (async () => {
          clearInterval(ticker);
          history.stop();
          await new Promise<void>((resolveClose) => {
            server.close(() => resolveClose());
            server.closeAllConnections();
          });
          await supervisor.close();
          runner.close();
          account.flush();
          rmSync(serverFile(dataDir), { force: true });
        })();
        return closing;
      },
    };
    return sandbox;
  } catch (error) {
    server.close();
    throw error;
  }
}

/** The webhook secret: `STACKPILOT_WEBHOOK_SECRET`, else one generated once and kept in the data folder. */
function webhookSecretFor(dataDir: string): { secret: string; source: string } {
  const fromEnv = process.env.STACKPILOT_WEBHOOK_SECRET;
  if (fromEnv) return { secret: fromEnv, source: 'STACKPILOT_WEBHOOK_SECRET' };
  const file = join(dataDir, 'webhook-secret');
  if (existsSync(file)) return { secret: readFileSync(file, 'utf8').trim(), source: file };
  const secret = randomBytes(20).toString('hex');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return { secret, source: file };
}

/**
 * Serves each repository of `stackpilot.yml` from the sandbox's git server: the URL
 * `https://github.com/<owner>/<name>.git` becomes `<sandbox>/git/<name>.git` in the
 * configuration the functions see, so the webhook matches the pushes and the deploy
 * clones from the sandbox. Nothing else of the configuration changes.
 */
export function hostRepositories(
  config: StackpilotConfig,
  url: string,
): { config: StackpilotConfig; repositories: HostedRepository[] } {
  const copy = structuredClone(config);
  const byUrl = new Map<string, HostedRepository>();
  for (const [app, appConfig] of Object.entries(copy.apps)) {
    const configuredUrl = appConfig.repository.url;
    let hosted = byUrl.get(configuredUrl);
    if (!hosted) {
      const path = new URL(configuredUrl).pathname.replace(/^\/+|\/+$/g, '').replace(/\.git$/, '');
      const name = path.split('/').at(-1) || app;
      const repository = `${name}.git`;
      if ([...byUrl.values()].some((r) => r.repository === repository)) {
        throw new Error(
          `two repositories of stackpilot.yml end in ${repository}; the sandbox serves one per name`,
        );
      }
      const firstStage = Object.values(appConfig.stages)[0];
      hosted = {
        configuredUrl,
        fullName: path,
        repository,
        cloneUrl: `${url}/git/${repository}`,
        apps: [],
        branch: firstStage?.branch ?? 'main',
        stage: Object.keys(appConfig.stages)[0] ?? 'dev',
      };
      byUrl.set(configuredUrl, hosted);
    }
    hosted.apps.push(app);
    // Public repositories of the sandbox need no token; commit statuses go to its git server with one.
    appConfig.repository = { provider: 'github', url: hosted.cloneUrl };
    appConfig.commitStatus = { enabled: true, tokenSecret: STATUS_TOKEN_SECRET };
  }
  return { config: copy, repositories: [...byUrl.values()] };
}

interface Routes {
  webhook: (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;
  runner: Runner;
  bus: EventBus;
  account: EmulatedAccount;
  gitRoot: string;
  onPush: (push: PushNotice) => void;
  /** The functions' view of `stackpilot.yml` (repositories on the sandbox's git server). */
  config: StackpilotConfig;
  history: StageHistory;
  /** The git server's commit statuses (GitHub's API). */
  commitStatuses: CommitStatusStore;
  origin: string;
  supervisor: TaskSupervisor;
  /** Opens, updates or closes a pull request and delivers its `pull_request` webhook (`POST /pulls`). */
  pullRequest: (request: unknown) => Promise<{ status: number; body: unknown }>;
}

async function route(routes: Routes, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const path = url.pathname;
  const method = req.method ?? 'GET';

  if (path.startsWith('/git/')) {
    await serveGit(
      { root: routes.gitRoot, onPush: routes.onPush },
      req,
      res,
      `${path.slice(4)}${url.search}`,
    );
    return;
  }
  if (
    path.startsWith('/api/v3/') &&
    (await routes.commitStatuses.handle(req, res, path, routes.origin, new Date()))
  )
    return;
  if (path === '/webhooks/github' || path === '/webhooks/gitlab' || path.startsWith('/webhooks/')) {
    const body = await buffer(req);
    const result = await routes.webhook(
      apiGatewayEvent(req, url, body),
      localLambdaContext('webhook', {
        functionArn: `arn:aws:lambda:${REGION}:${ACCOUNT_ID}:function:stackpilot-webhook`,
      }),
    );
    res.writeHead(result.statusCode ?? 200, { ...(result.headers as Record<string, string>) });
    res.end(result.isBase64Encoded ? Buffer.from(result.body ?? '', 'base64') : (result.body ?? ''));
    return;
  }
  if (path === '/events') {
    if (method !== 'POST') return sendJson(res, 405, { message: 'use POST /events' });
    const document = parseJson(await buffer(req));
    if (!document.ok) return sendJson(res, 400, { message: document.message });
    try {
      const deliveries = await routes.bus.put(document.value);
      return sendJson(res, 200, {
        events: deliveries.map((d) => ({ id: d.event.id, rules: d.rules, failures: d.failures })),
      });
    } catch (error) {
      if (error instanceof InvalidEvent) return sendJson(res, 400, { message: error.message });
      throw error;
    }
  }
  if (path === '/executions' && method === 'GET') {
    const stateMachine = url.searchParams.get('stateMachine') ?? undefined;
    if (stateMachine && !STATE_MACHINE_KINDS.includes(stateMachine as StateMachineName)) {
      return sendJson(res, 400, {
        message: `no state machine ${stateMachine}; use deploy, release, scale or preview`,
      });
    }
    const limit = Number(url.searchParams.get('limit') ?? 50);
    const list = routes.runner.list({ stateMachine: stateMachine as StateMachineName | undefined });
    return sendJson(res, 200, { executions: list.slice(0, limit).map(summary) });
  }
  if (path === '/executions' && method === 'POST') {
    const document = parseJson(await buffer(req));
    if (!document.ok) return sendJson(res, 400, { message: document.message });
    const { stateMachine, input, name } = (document.value ?? {}) as {
      stateMachine?: string;
      input?: unknown;
      name?: string;
    };
    if (!STATE_MACHINE_KINDS.includes(stateMachine as StateMachineName)) {
      return sendJson(res, 400, {
        message: `stateMachine must be deploy, release, scale or preview, got ${stateMachine}`,
      });
    }
    try {
      const record = routes.runner.start(stateMachine as StateMachineName, input ?? {}, name);
      return sendJson(res, 202, summary(record));
    } catch (error) {
      return sendJson(res, 409, { error: (error as Error).name, message: (error as Error).message });
    }
  }
  const executionMatch = path.match(/^\/executions\/([^/]+)$/);
  if (executionMatch && method === 'GET') {
    const record = routes.runner.byName(decodeURIComponent(executionMatch[1] as string));
    if (!record) return sendJson(res, 404, { message: `no execution named ${executionMatch[1]}` });
    return sendJson(res, 200, record);
  }
  if (path === '/stages' && method === 'GET') {
    routes.account.tick();
    return sendJson(res, 200, { stages: await stages(routes) });
  }
  if (path === '/load' && method === 'POST') {
    const document = parseJson(await buffer(req));
    if (!document.ok) return sendJson(res, 400, { message: document.message });
    const { app, stage, cpu } = (document.value ?? {}) as {
      app?: string;
      stage?: string;
      cpu?: number | null;
    };
    try {
      // null turns the knob off: the tasks' measured CPU drives the metric.
      if (cpu === null) routes.account.cloudWatch.clearLoad(String(app), String(stage));
      else routes.account.cloudWatch.setLoad(String(app), String(stage), Number(cpu));
      routes.account.flush();
    } catch (error) {
      return sendJson(res, 400, { message: (error as Error).message });
    }
    return sendJson(res, 200, { app, stage, cpu });
  }
  if (path === '/deploy' && method === 'POST') {
    const document = parseJson(await buffer(req));
    if (!document.ok) return sendJson(res, 400, { message: document.message });
    try {
      const { name, input } = await deployRequest(
        routes.config,
        routes.gitRoot,
        (document.value ?? {}) as object,
      );
      return sendJson(res, 202, summary(routes.runner.start('deploy', input, name)));
    } catch (error) {
      if (error instanceof DeployRequestError) return sendJson(res, error.status, { message: error.message });
      throw error;
    }
  }
  if (path === '/pulls' && method === 'POST') {
    const document = parseJson(await buffer(req));
    if (!document.ok) return sendJson(res, 400, { message: document.message });
    const { status, body } = await routes.pullRequest(document.value);
    return sendJson(res, status, body);
  }
  if (path === '/health') return sendJson(res, 200, { status: 'ok' });
  const page = pageFile(path);
  if (page && (method === 'GET' || method === 'HEAD')) return sendPageFile(res, page, method);
  if (path === '/history' && method === 'GET') return sendJson(res, 200, routes.history.toJSON());
  sendJson(res, 404, {
    message: `no route ${method} ${path}; see GET / (the page), GET /stages, GET /executions, GET /history, POST /events, POST /webhooks/github, /git/`,
  });
}

/** `GET /stages`: the account's view of each stage plus the last release execution. */
async function stages(routes: Routes) {
  const releases = routes.runner.list({ stateMachine: 'release' });
  // The production adapter on the emulated account (the clients are attached to it).
  const [{ s3Client }, { listPreviewRecords }] = await Promise.all([
    import('#shared/aws/clients.ts'),
    import('#shared/preview/records.ts'),
  ]);
  const previews = await Promise.all(
    routes.account
      .snapshot()
      .map(({ app, stage }) => listPreviewRecords(routes.account.sourceBucket, app, stage, s3Client)),
  );
  return routes.account.snapshot().map((stage, index) => {
    const last = releases.find((r) => r.input?.app === stage.app && r.input?.stage === stage.stage);
    const status = routes.commitStatuses.latest(`stackpilot/${stage.app}/${stage.stage}`);
    const url = routes.supervisor.urls()[`${stage.app}/${stage.stage}`];
    return {
      ...stage,
      commitStatus: status && { state: status.state, sha: status.sha, description: status.description },
      url,
      // A record holds the URL the stage's stack published (the API's or the load balancer's on
      // AWS); here the same front door is the stage's loopback one.
      previews: (previews[index] ?? []).map((p) => (url ? { ...p, url: previewUrl(url, p.number) } : p)),
      loadSource: routes.account.cloudWatch.loadSource(stage.app, stage.stage),
      processes: routes.supervisor.tasks(stage.app, stage.stage),
      environment: routes.supervisor.environment(stage.app, stage.stage),
      lastRelease: last
        ? {
            execution: last.name,
            status: last.status,
            image: last.input?.image,
            commit: last.input?.commit,
            startDate: last.startDate,
            stopDate: last.stopDate,
            error: last.error,
          }
        : undefined,
    };
  });
}

/** The body of `POST /pulls`, checked: `{app, action: open|update|close, branch?, number?, merged?}`. */
function pullRequestRequest(value: unknown): {
  app: string;
  action: 'open' | 'update' | 'close';
  branch?: string;
  number?: number;
  merged: boolean;
} {
  const { app, action, branch, number, merged } = (value ?? {}) as Record<string, unknown>;
  if (typeof app !== 'string' || app === '') throw new PullRequestError('name the app ("app")', 400);
  if (action !== 'open' && action !== 'update' && action !== 'close') {
    throw new PullRequestError(`"action" must be open, update or close, got ${JSON.stringify(action)}`, 400);
  }
  if (branch !== undefined && (typeof branch !== 'string' || branch === '')) {
    throw new PullRequestError('"branch" must be a branch name', 400);
  }
  if (number !== undefined && !(Number.isInteger(number) && (number as number) > 0)) {
    throw new PullRequestError('"number" must be a pull request number (1, 2, …)', 400);
  }
  if (branch === undefined && number === undefined) {
    throw new PullRequestError(
      'name the pull request by its branch ("branch") or its number ("number")',
      400,
    );
  }
  return {
    app,
    action,
    ...(branch ? { branch: branch as string } : {}),
    ...(number ? { number: number as number } : {}),
    merged: merged === true,
  };
}

/** A webhook's answer as JSON when it is JSON, else its text. */
function parseAnswer(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}

/** An execution without its history, for lists. */
export function summary(record: ExecutionRecord) {
  const { history: _history, ...rest } = record;
  return rest;
}

function describeChange(record: ExecutionRecord): string {
  const what = record.input?.app ? ` ${record.input.app}/${record.input.stage ?? '?'}` : '';
  if (record.status === 'RUNNING') return `${record.stateMachine} ${record.name}${what}: started`;
  const reason = record.status === 'SUCCEEDED' ? '' : `: ${record.error ?? ''} ${shortCause(record.cause)}`;
  return `${record.stateMachine} ${record.name}${what}: ${record.status}${reason}`;
}

function summarizeBody(body: string): string {
  try {
    const parsed = JSON.parse(body) as Record<string, unknown>;
    if (typeof parsed.executionName === 'string') return `(deploy ${parsed.executionName})`;
    if (typeof parsed.ignored === 'string') return `(ignored: ${parsed.ignored})`;
    if (typeof parsed.message === 'string') return `(${parsed.message})`;
  } catch {
    // not JSON
  }
  return body.slice(0, 200);
}

/** The API Gateway HTTP API (payload format 2.0) event of a request, as the webhook route receives it. */
export function apiGatewayEvent(req: IncomingMessage, url: URL, body: Buffer): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[key.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  const contentType = headers['content-type'] ?? '';
  // HTTP APIs pass text bodies as they are and base64-encode the others.
  const text = body.length === 0 || /json|text|x-www-form-urlencoded|xml/i.test(contentType);
  const now = new Date();
  const method = req.method ?? 'GET';
  return {
    version: '2.0',
    routeKey: `${method} ${url.pathname}`,
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ''),
    headers,
    queryStringParameters: url.search ? Object.fromEntries(url.searchParams) : undefined,
    requestContext: {
      accountId: ACCOUNT_ID,
      apiId: 'sandbox',
      domainName: headers.host ?? '127.0.0.1',
      domainPrefix: 'sandbox',
      http: {
        method,
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: `${method} ${url.pathname}`,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    body: body.length === 0 ? undefined : text ? body.toString('utf8') : body.toString('base64'),
    isBase64Encoded: !text,
  };
}

function parseJson(body: Buffer): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: JSON.parse(body.toString('utf8') || 'null') };
  } catch (error) {
    return { ok: false, message: `the body is not JSON: ${(error as Error).message}` };
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body, null, 1)}\n`);
}

/** Tells the CLI what `stackpilot start` serves: the lines printed at start. */
export function startBanner(sandbox: Sandbox): string {
  const lines = [
    `stackpilot sandbox listening on ${sandbox.url} (data in ${sandbox.dataDir}, time x${sandbox.timeScale})`,
    `live page: ${sandbox.url}/ (stages, executions, tasks and instances over the last hour)`,
    `webhook secret: ${sandbox.webhookSecret} (from ${sandbox.webhookSecretSource})`,
    '',
  ];
  for (const repo of sandbox.repositories) {
    lines.push(`${repo.configuredUrl} is served as ${repo.cloneUrl} (apps: ${repo.apps.join(', ')})`);
  }
  for (const [stage, stageUrl] of Object.entries(sandbox.stageUrls))
    lines.push(`${stage} is served at ${stageUrl}`);
  const first = sandbox.repositories[0];
  if (first) {
    const folder = first.repository.replace(/\.git$/, '');
    lines.push(
      '',
      'Next, in another terminal:',
      `  git clone ${first.cloneUrl} && cd ${folder}`,
      `  # edit something, then: git commit -am "my change" && git push   (deploys ${first.apps[0]}/${first.stage})`,
      '  npx stackpilot status                 # stages, their URLs and executions',
      `  open ${sandbox.stageUrls[`${first.apps[0]}/${first.stage}`] ?? 'the stage URL'}   # your app, once the push is released`,
      `  npx stackpilot load ${first.apps[0]} ${first.stage} --rps 40 --duration 2m   # real requests, watch it scale`,
      '',
      'Ctrl-C stops the sandbox; its state stays in the data folder.',
    );
  }
  return lines.join('\n');
}
