/**
 * `stackpilot.yml`: the apps and stages stackpilot deploys and scales.
 *
 * One zod schema validates the file at synth time (infra/app.ts) and at Lambda
 * cold start (the config travels to the functions as a JSON file bundled with their
 * code, see {@link runtimeConfig}). Every default lives here, so the CDK app, the
 * functions and the sandbox agree on them. Reading the YAML file is `config-file.ts`'s
 * job, so that function bundles do not carry a YAML parser.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import * as z from 'zod';
import {
  duplicateNames,
  environmentBytes,
  environmentSchema,
  MAX_ENVIRONMENT_BYTES,
  mergeEnvironment,
  type ResolvedEnvironment,
  secretsSchema,
} from './environment.ts';
import { InvalidInput } from './errors.ts';
import { healthCheckSchema } from './health.ts';
import { stageResourceName } from './naming.ts';

/** Names end up in resource names (clusters, pipelines, alarms): keep them short and DNS-safe. */
const name = z
  .string()
  .regex(
    /^[a-z][a-z0-9-]{0,19}$/,
    'a lowercase name of 1-20 letters, digits or hyphens, starting with a letter',
  );

/** EC2 instance types look like `t3.micro`, `m7g.large`, `c6gn.16xlarge`. */
const instanceType = z
  .string()
  .regex(/^[a-z][a-z0-9-]*[0-9][a-z0-9-]*\.[a-z0-9]+$/, 'an EC2 instance type such as "t3.micro"');

const percent = z.number().gt(0).lt(100);

const bounds = (defaults: { min: number; max: number }, upper: number) =>
  z
    .object({
      min: z.number().int().min(0).max(upper).default(defaults.min),
      max: z.number().int().min(1).max(upper).default(defaults.max),
    })
    .strict()
    .refine((b) => b.min <= b.max, { message: 'min must not be greater than max', path: ['min'] })
    .prefault(defaults);

const repository = z
  .object({
    provider: z.enum(['github', 'gitlab']),
    /** The HTTPS clone URL, exactly as the provider reports it in its push webhooks. */
    url: z.url({ protocol: /^https?$/ }),
    /** Name or ARN of a Secrets Manager secret holding a token for private repositories. */
    tokenSecret: z.string().min(1).optional(),
  })
  .strict();

const serviceScaling = z
  .object({
    /** Service CPU (%, average over the period) above which a task is added. */
    cpuHigh: percent.default(75),
    /** Service CPU (%) below which a task is removed. */
    cpuLow: percent.default(20),
    periodSeconds: z.number().int().positive().multipleOf(60).default(60),
    evaluationPeriods: z.number().int().positive().default(2),
    /** Tasks added or removed per step. */
    step: z.number().int().positive().default(1),
    cooldownOutSeconds: z.number().int().nonnegative().default(60),
    cooldownInSeconds: z.number().int().nonnegative().default(300),
  })
  .strict()
  .refine((s) => s.cpuLow < s.cpuHigh, { message: 'cpuLow must be below cpuHigh', path: ['cpuLow'] });

const clusterScaling = z
  .object({
    /**
     * What the cluster alarms watch. `reservation` (default): what the tasks reserve, the
     * higher of the cluster's CPUReservation and MemoryReservation, against
     * `reservationHigh`/`reservationLow`; a service scale-out also adds the instances its
     * tasks need (docs/scaling.md). `cpu-utilization`: the TinyStacks rule, the cluster's
     * CPUUtilization against `cpuHigh`/`cpuLow`.
     */
    policy: z.enum(['reservation', 'cpu-utilization']).default('reservation'),
    /** Cluster reservation (%, the higher of CPU and memory) above which an instance is added. */
    reservationHigh: percent.default(90),
    /** Cluster reservation (%) below which an instance is removed (when the others have room). */
    reservationLow: percent.default(40),
    /** Cluster CPU utilization (%) above which an instance is added (`cpu-utilization` policy). */
    cpuHigh: percent.default(70),
    cpuLow: percent.default(20),
    periodSeconds: z.number().int().positive().multipleOf(60).default(300),
    evaluationPeriods: z.number().int().positive().default(1),
    cooldownOutSeconds: z.number().int().nonnegative().default(60),
    cooldownInSeconds: z.number().int().nonnegative().default(300),
    /** How long scale-in waits for a DRAINING instance to run no task. */
    drainTimeoutSeconds: z.number().int().positive().default(600),
  })
  .strict()
  .refine((s) => s.cpuLow < s.cpuHigh, { message: 'cpuLow must be below cpuHigh', path: ['cpuLow'] })
  .refine((s) => s.reservationLow < s.reservationHigh, {
    message: 'reservationLow must be below reservationHigh',
    path: ['reservationLow'],
  });

/** `arn:aws:acm:<region>:<account>:certificate/<id>`: the region is what decides where it can serve. */
const certificateArn = z
  .string()
  .regex(/^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/, 'an ACM certificate ARN');

/** A folder of the repository: relative, forward slashes, no `.` or `..` segments. */
const repoPath = z
  .string()
  .max(256)
  .transform((p) => p.replace(/^\.\/+/, '').replace(/\/+$/, ''))
  .refine(
    (p) =>
      p.length > 0 && !p.startsWith('/') && p.split('/').every((s) => s !== '' && s !== '.' && s !== '..'),
    'a folder relative to the repository root, such as "services/api" (no "..", no leading "/")',
  );

/**
 * Who hears about a stage (docs/deploying.md, "What you see after a push"): the e-mail addresses
 * subscribed to the stage's alert topic. Set on the app for every stage; a stage's own
 * `alerts` replaces the app's.
 */
const alerts = z
  .object({
    /** Each address gets a confirmation mail from SNS first, then the alerts. */
    emails: z.array(z.email('an e-mail address such as ops@example.com')).max(20).default([]),
  })
  .strict();

/**
 * The commit status the deploy reports on the pushed commit (GitHub commit statuses, GitLab
 * commit statuses). The token needs `repo:status` (GitHub) or the `api` scope (GitLab).
 */
const commitStatus = z
  .object({
    /** `false`: report nothing, even with a token. */
    enabled: z.boolean().default(true),
    /** Name or ARN of a Secrets Manager secret holding the token; without it, `repository.tokenSecret`. */
    tokenSecret: z.string().min(1).optional(),
  })
  .strict();

const stage = z
  .object({
    /** The branch whose pushes deploy to this stage. */
    branch: z.string().min(1),
    // Environments (promotion, monorepos): promoteFrom here, path and watchPaths on the app.
    /**
     * The stage this one is promoted from (`stackpilot promote`): pushes to its branch are
     * ignored, it only moves by promoting the image released in that stage.
     */
    promoteFrom: name.optional(),
    /** `standard`: API Gateway HTTP API in front; `hyperscale`: an Application Load Balancer. */
    scale: z.enum(['standard', 'hyperscale']).default('standard'),
    instanceType: instanceType.default('t3.micro'),
    tasks: bounds({ min: 1, max: 5 }, 100),
    instances: bounds({ min: 1, max: 3 }, 50),
    serviceScaling: serviceScaling.prefault({}),
    clusterScaling: clusterScaling.prefault({}),
    deployment: z
      .object({
        minHealthyPercent: z.number().int().min(0).max(100).default(100),
        maxPercent: z.number().int().min(100).max(400).default(200),
        /** How long a release waits for its ECS deployment before rolling back. */
        timeoutMinutes: z.number().int().min(1).max(120).default(15),
        /** After the rollout, how long the 5xx-rate alarm may still roll the release back; 0: no bake. */
        bakeMinutes: z.number().int().min(0).max(60).default(3),
        /** 5xx responses at the front door (% of requests in a minute) that count as a bad minute. */
        errorRatePercent: percent.default(5),
      })
      .strict()
      // ECS needs room to move: with equal bounds it may neither stop a task first nor start a
      // new one first (and CDK refuses to synthesize such a service).
      .refine((d) => d.minHealthyPercent < d.maxPercent, {
        message: 'minHealthyPercent must be less than maxPercent',
        path: ['minHealthyPercent'],
      })
      .prefault({}),
    /** Plain variables of this stage's container, merged over the app's (`environment.ts`). */
    environment: environmentSchema.default({}),
    /** Secrets of this stage's container, merged over the app's. */
    secrets: secretsSchema.default({}),
    /** This stage's alert recipients, in place of the app's (`alerts`). */
    alerts: alerts.optional(),
    /** ACM certificate for HTTPS on the hyperscale load balancer. */
    certificateArn: certificateArn.optional(),
    /** A custom domain: the API Gateway custom domain (standard) or the listener certificate (hyperscale). */
    domain: z
      .object({
        /** The stage's host name, such as `api.example.com`. */
        name: z
          .string()
          .max(253)
          .regex(
            /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/,
            'a lowercase DNS name such as api.example.com',
          ),
        /** An ACM certificate for the name, in the region the stage is deployed to. */
        certificateArn,
        /** A Route 53 hosted zone to write the alias record into; without it, point the name at the `DomainTarget` output yourself. */
        hostedZoneId: z
          .string()
          .regex(/^Z[A-Z0-9]{1,31}$/, 'a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ')
          .optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((s) => !(s.domain && s.certificateArn && s.domain.certificateArn !== s.certificateArn), {
    message:
      'certificateArn and domain.certificateArn differ: with a domain, set the certificate once, in domain.certificateArn',
    path: ['certificateArn'],
  });

/** `promoteFrom` must name another stage of the same app, and promotions must not go round in a circle. */
function promotionIssues(
  stages: Record<string, { promoteFrom?: string | undefined }>,
): Array<{ path: PropertyKey[]; message: string }> {
  const issues: Array<{ path: PropertyKey[]; message: string }> = [];
  for (const [stageName, stageConfig] of Object.entries(stages)) {
    const from = stageConfig.promoteFrom;
    if (from === undefined) continue;
    const path = ['stages', stageName, 'promoteFrom'];
    if (from === stageName) {
      issues.push({ path, message: `stage ${stageName} cannot be promoted from itself` });
    } else if (!Object.hasOwn(stages, from)) {
      issues.push({
        path,
        message: `no stage ${from} in this app to promote from (stages: ${Object.keys(stages).join(', ')})`,
      });
    } else {
      const seen = new Set([stageName]);
      for (let next: string | undefined = from; next !== undefined; next = stages[next]?.promoteFrom) {
        if (seen.has(next)) {
          issues.push({
            path,
            message: `promoteFrom goes round in a circle through ${[...seen].join(', ')}`,
          });
          break;
        }
        seen.add(next);
      }
    }
  }
  return issues;
}

/**
 * A preview per pull request (docs/previews.md): each open pull request of the app's repository
 * runs as its own ECS service in the cluster of `stage`, served under `/pr-<number>/` on that
 * stage's front door.
 */
const previews = z
  .object({
    /** The stage whose cluster, network, front door and environment the previews use. */
    stage: name,
    /** Open previews at most; a pull request beyond them is refused (the webhook's answer says so). */
    max: z.number().int().min(1).max(20).default(3),
    /** A preview no push has updated for this long is removed. */
    ttlHours: z.number().int().min(1).max(720).default(72),
    /** `true`: previews receive the stage's secrets too; by default only its plain variables. */
    secrets: z.boolean().default(false),
    /** `true`: pull requests from forks build as well; by default they are ignored (their code would run with the stage's roles). */
    forks: z.boolean().default(false),
  })
  .strict();

const app = z
  .object({
    repository,
    /** Port the container listens on. */
    containerPort: z.number().int().min(1).max(65535).default(80),
    /** Task CPU units (1024 = one vCPU) and memory (MiB). */
    cpu: z.number().int().min(128).default(256),
    memory: z.number().int().min(128).default(512),
    healthCheckPath: z.string().startsWith('/').default('/'),
    /** The app container's health check (`health.ts`); by default an HTTP GET of healthCheckPath. */
    healthCheck: healthCheckSchema.prefault({}),
    /** Dockerfile used by the default buildspec, relative to the repository root. */
    dockerfilePath: z.string().min(1).default('Dockerfile'),
    // Environments (monorepos): the app's folder in its repository, and what a push must touch.
    /**
     * The app's folder in a monorepo, relative to the repository root: the build context,
     * holding its Dockerfile (`dockerfilePath` is then relative to it) and `build.yml`.
     */
    path: repoPath.optional(),
    /**
     * Globs of repository paths (picomatch, from the repository root): a push touching none
     * of them does not deploy this app. Default: `<path>/**` with a path, every file without.
     */
    watchPaths: z.array(z.string().min(1).max(256)).min(1).optional(),
    /** Images kept in ECR, so that older revisions stay rollback-able. */
    imagesToKeep: z.number().int().min(1).max(1000).default(20),
    /**
     * What a repository's `build.yml` may read with `env.parameter-store` and `env.secrets-manager`:
     * the build role reads exactly these names, nothing else.
     */
    build: z
      .object({
        /** SSM parameter names (or ARNs). */
        parameterStore: z
          .array(
            z
              .string()
              .regex(
                /^(\/?[A-Za-z0-9_.-]+)(\/[A-Za-z0-9_.-]+)*$|^arn:aws[a-z-]*:ssm:/,
                'an SSM parameter name or ARN',
              ),
          )
          .default([]),
        /** Secrets Manager secret names or complete ARNs. */
        secretsManager: z
          .array(
            z
              .string()
              .regex(
                /^[A-Za-z0-9/_+=.@-]{1,512}$|^arn:aws[a-z-]*:secretsmanager:/,
                'a Secrets Manager secret name or ARN',
              ),
          )
          .default([]),
      })
      .strict()
      .prefault({}),
    /** Alert recipients of every stage of the app (a stage's own `alerts` replaces them). */
    alerts: alerts.prefault({}),
    /** The status reported on each pushed commit. */
    commitStatus: commitStatus.prefault({}),
    /** Plain variables of the app's container, in every stage. Never secrets: they show in the template. */
    environment: environmentSchema.default({}),
    /** Variables ECS reads from Secrets Manager or SSM when a task starts (`environment.ts`). */
    secrets: secretsSchema.default({}),
    stages: z.record(name, stage).refine((s) => Object.keys(s).length > 0, 'at least one stage'),
    /** A preview per pull request, run in one of the stages' clusters. */
    previews: previews.optional(),
    /**
     * How the sandbox (`npm start`) runs the app's tasks as local processes. `command` runs with
     * `sh -c` in the unpacked source of the released commit, with PORT and the task's environment.
     * @default the `start` script of the source's package.json
     */
    sandbox: z
      .object({ command: z.string().trim().min(1).max(4096).optional() })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((appConfig, ctx) => {
    for (const issue of promotionIssues(appConfig.stages)) ctx.addIssue({ code: 'custom', ...issue });
    for (const issue of duplicateNames(appConfig)) ctx.addIssue({ code: 'custom', ...issue });
    if (appConfig.previews && !Object.hasOwn(appConfig.stages, appConfig.previews.stage)) {
      ctx.addIssue({
        code: 'custom',
        path: ['previews', 'stage'],
        message: `no stage ${appConfig.previews.stage} in this app to run previews in (stages: ${Object.keys(appConfig.stages).join(', ')})`,
      });
    }
    for (const [stageName, stageConfig] of Object.entries(appConfig.stages)) {
      for (const issue of duplicateNames(stageConfig)) {
        ctx.addIssue({ code: 'custom', message: issue.message, path: ['stages', stageName, ...issue.path] });
      }
      const bytes = environmentBytes(mergeEnvironment(appConfig, stageConfig));
      if (bytes > MAX_ENVIRONMENT_BYTES) {
        ctx.addIssue({
          code: 'custom',
          path: ['stages', stageName, 'environment'],
          message: `the stage's environment and secrets take ${bytes} bytes, over ${MAX_ENVIRONMENT_BYTES} (ECS caps the whole task definition at 64 KiB)`,
        });
      }
    }
  });

export const configSchema = z
  .object({
    apps: z.record(name, app).refine((a) => Object.keys(a).length > 0, 'at least one app'),
  })
  .strict()
  .superRefine((config, ctx) => {
    // Resource names join app and stage with hyphens: app "a-b" stage "c" and app "a" stage "b-c" collide.
    const seen = new Map<string, string>();
    for (const [appName, appConfig] of Object.entries(config.apps)) {
      for (const stageName of Object.keys(appConfig.stages)) {
        const resource = stageResourceName(appName, stageName);
        const other = seen.get(resource);
        if (other) {
          ctx.addIssue({
            code: 'custom',
            path: ['apps', appName, 'stages', stageName],
            message: `resource name ${resource} is already used by ${other}; rename the app or the stage`,
          });
        }
        seen.set(resource, `app ${appName} stage ${stageName}`);
      }
    }
  });

export type StackpilotConfig = z.output<typeof configSchema>;
export type AppConfig = StackpilotConfig['apps'][string];
export type StageConfig = AppConfig['stages'][string];
export type RepositoryConfig = AppConfig['repository'];

/** A stage with the app it belongs to: what most of stackpilot works on. */
export interface StageRef {
  readonly app: string;
  readonly stage: string;
  readonly appConfig: AppConfig;
  readonly stageConfig: StageConfig;
}

/** A configuration that does not match the schema; the message names each bad field. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function describeIssues(source: string, error: z.ZodError): string {
  const lines = error.issues.flatMap((issue) => {
    const path = issue.path.length > 0 ? issue.path.join('.') : '(root)';
    // A bad record key (a variable name) carries its own reasons; "Invalid key in record" alone names none.
    const messages =
      issue.code === 'invalid_key' && issue.issues.length > 0
        ? issue.issues.map((i) => i.message)
        : [issue.message];
    return messages.map((message) => `  - ${path}: ${message}`);
  });
  return `invalid stackpilot configuration in ${source}:\n${lines.join('\n')}`;
}

/** Validates an already-parsed document. Throws {@link ConfigError} naming every bad field. */
export function parseConfig(document: unknown, source = 'configuration'): StackpilotConfig {
  const result = configSchema.safeParse(document);
  if (!result.success) throw new ConfigError(describeIssues(source, result.error));
  return result.data;
}

/**
 * Name of the file, next to a deployed function's code, holding the validated configuration
 * as JSON. The CDK app writes it into every bundle that needs the configuration: in the
 * environment it would count against Lambda's 4 KB cap, about 620 bytes per stage.
 */
export const CONFIG_FILE_NAME = 'stackpilot-config.json';

/**
 * The variable pointing a deployed function at its configuration file: a path relative to
 * the function's code (`LAMBDA_TASK_ROOT`), or absolute.
 */
export const CONFIG_FILE_ENV = 'STACKPILOT_CONFIG_FILE';

/**
 * The variable carrying the configuration itself, as JSON: for the handlers the sandbox and
 * the tests run in-process, which have no bundle. Deployed functions never get it.
 */
export const CONFIG_ENV = 'STACKPILOT_CONFIG_JSON';

/** Where the configuration is, by the environment: inline JSON, or the path of a file. */
function configLocation(): { readonly inline: string } | { readonly path: string } {
  const file = process.env[CONFIG_FILE_ENV];
  const inline = process.env[CONFIG_ENV];
  if (file && inline) {
    throw new ConfigError(`environment variables ${CONFIG_FILE_ENV} and ${CONFIG_ENV} are both set; set one`);
  }
  if (inline) return { inline };
  if (!file) {
    throw new ConfigError(
      `environment variable ${CONFIG_FILE_ENV} (or ${CONFIG_ENV} for an in-process run) is not set`,
    );
  }
  return { path: isAbsolute(file) ? file : join(process.env.LAMBDA_TASK_ROOT ?? process.cwd(), file) };
}

function readConfigDocument(location: ReturnType<typeof configLocation>): {
  document: string;
  source: string;
} {
  if ('inline' in location)
    return { document: location.inline, source: `environment variable ${CONFIG_ENV}` };
  const { path } = location;
  try {
    return { document: readFileSync(path, 'utf8'), source: `${path} (${CONFIG_FILE_ENV})` };
  } catch (error) {
    throw new ConfigError(`cannot read ${path} (${CONFIG_FILE_ENV}): ${(error as Error).message}`);
  }
}

/** The last configuration read, and where from (the inline JSON or the file's path). */
let cached: { readonly from: string; readonly config: StackpilotConfig } | undefined;

/**
 * The configuration of a running function, validated once (cold start) and cached: from the
 * file named by `STACKPILOT_CONFIG_FILE` (deployed functions), or from `STACKPILOT_CONFIG_JSON`
 * (in-process runs). Fails fast naming the variable or the file when either is missing or bad.
 * Read again when the variables point somewhere else (the sandbox and tests set them).
 */
export function runtimeConfig(): StackpilotConfig {
  const location = configLocation();
  const from = 'inline' in location ? `inline:${location.inline}` : `file:${location.path}`;
  if (cached?.from === from) return cached.config;
  const { document, source } = readConfigDocument(location);
  let parsed: unknown;
  try {
    parsed = JSON.parse(document);
  } catch (error) {
    throw new ConfigError(`${source} is not JSON: ${(error as Error).message}`);
  }
  const config = parseConfig(parsed, source);
  cached = { from, config };
  return config;
}

/** Every (app, stage) of the configuration, in file order. */
export function allStages(config: StackpilotConfig): StageRef[] {
  return Object.entries(config.apps).flatMap(([app, appConfig]) =>
    Object.entries(appConfig.stages).map(([stage, stageConfig]) => ({ app, stage, appConfig, stageConfig })),
  );
}

/** The named stage, or undefined when the configuration has no such app or stage. */
export function findStage(config: StackpilotConfig, app: string, stage: string): StageRef | undefined {
  const appConfig = config.apps[app];
  const stageConfig = appConfig?.stages[stage];
  return appConfig && stageConfig ? { app, stage, appConfig, stageConfig } : undefined;
}

/**
 * The named stage with its app's preview settings, refusing (`InvalidInput`) a stage that does
 * not run the app's previews: Package Source and every preview step ask this one question.
 */
export function findPreviewStage(config: StackpilotConfig, app: string, stage: string) {
  const ref = findStage(config, app, stage);
  const previews = ref?.appConfig.previews;
  if (!ref || !previews || previews.stage !== stage) {
    throw new InvalidInput(
      `app ${app} runs no previews in stage ${stage} (stackpilot.yml: apps.${app}.previews.stage)`,
    );
  }
  return { ...ref, previews };
}

/** The stage's environment and secrets: its own entries merged over its app's. */
export function stageEnvironment(ref: StageRef): ResolvedEnvironment {
  return mergeEnvironment(ref.appConfig, ref.stageConfig);
}

/** The e-mail addresses of the stage's alert topic: the stage's own `alerts`, else the app's. */
export function stageAlertEmails(ref: StageRef): string[] {
  return (ref.stageConfig.alerts ?? ref.appConfig.alerts).emails;
}

/**
 * The secret holding the token the deploy reports commit statuses with: `commitStatus.tokenSecret`,
 * else the repository's clone token; undefined when the app reports none.
 */
export function commitStatusTokenSecret(appConfig: AppConfig): string | undefined {
  if (!appConfig.commitStatus.enabled) return undefined;
  return appConfig.commitStatus.tokenSecret ?? appConfig.repository.tokenSecret;
}

/** Normalizes a clone URL for comparison: lowercase host, no credentials, no trailing `.git` or `/`. */
export function normalizeRepoUrl(url: string): string {
  try {
    const u = new URL(url);
    const path = u.pathname.replace(/\/+$/, '').replace(/\.git$/, '');
    return `${u.protocol}//${u.host.toLowerCase()}${path}`;
  } catch {
    return url
      .trim()
      .replace(/\/+$/, '')
      .replace(/\.git$/, '');
  }
}

/** The stages that track `branch` of the repository at `url` (a push there deploys them). */
export function stagesTracking(config: StackpilotConfig, url: string, branch: string): StageRef[] {
  const wanted = normalizeRepoUrl(url);
  return allStages(config).filter(
    (s) => normalizeRepoUrl(s.appConfig.repository.url) === wanted && s.stageConfig.branch === branch,
  );
}
