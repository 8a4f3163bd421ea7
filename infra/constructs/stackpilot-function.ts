import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Stage, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { CONFIG_FILE_ENV, CONFIG_FILE_NAME, type StackpilotConfig } from '#shared/config.ts';
import type { StateMachineKind } from '#shared/naming.ts';

/** Root of the repository (where package.json and the lockfile are). */
export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The esbuild settings of every function; the bundle benchmark uses the same ones. */
export const BUNDLING = {
  format: nodejs.OutputFormat.ESM,
  target: 'node22',
  minify: true,
  sourceMap: true,
  // Bundle the AWS SDK too: a pinned, tree-shaken SDK starts faster than the runtime's copy.
  externalModules: [],
  mainFields: ['module', 'main'],
  // ESM bundles of CommonJS dependencies still call require().
  banner:
    "import { createRequire as __stackpilotCreateRequire } from 'node:module'; const require = __stackpilotCreateRequire(import.meta.url);",
} as const satisfies nodejs.BundlingOptions;

export interface StackpilotFunctionProps
  extends Omit<nodejs.NodejsFunctionProps, 'entry' | 'runtime' | 'architecture' | 'handler'> {
  /** Folder under `functions/` whose `handler.ts` exports `handler`, e.g. `webhook`. */
  readonly folder: string;
  /** @default Duration.days(30) */
  readonly logRetention?: logs.RetentionDays;
  /**
   * The workflow the function is a step of, named in its role's description
   * (`stackpilot deploy: role of the PackageSource function`).
   */
  readonly workflow?: StateMachineKind;
  /**
   * The execution role.
   * @default a role of the function's own (`<id>Role`) without managed policies: the
   * function gets exactly the statements its caller adds, plus writing its own logs.
   */
  readonly role?: iam.IRole;
  /**
   * The validated configuration, for a function that reads it (`runtimeConfig()`): written
   * into the bundle as `stackpilot-config.json`, which `STACKPILOT_CONFIG_FILE` points at.
   * Not in the environment: Lambda caps a function's environment at 4 KB, and the
   * configuration grows by about 620 bytes a stage.
   * @default - the function does not get the configuration
   */
  readonly config?: StackpilotConfig;
}

/**
 * A stackpilot Lambda function: Node.js 22 on ARM64, X-Ray active tracing, an ESM bundle
 * with source maps, its own log group with retention, Powertools settings, and by default
 * its own role without managed policies (no AWSLambdaBasicExecutionRole: the function may
 * write to its own log group only).
 */
export class StackpilotFunction extends nodejs.NodejsFunction {
  /** The execution role (the function's own unless one was passed). */
  declare readonly role: iam.IRole;

  constructor(scope: Construct, id: string, props: StackpilotFunctionProps) {
    const { folder, logRetention, environment, bundling, workflow, role, config, ...rest } = props;
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      retention: logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    super(scope, id, {
      role: role ?? ownRole(scope, id, workflow),
      memorySize: 256,
      timeout: Duration.seconds(30),
      ...rest,
      entry: join(PROJECT_ROOT, 'functions', folder, 'handler.ts'),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      tracing: lambda.Tracing.ACTIVE,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      bundling: {
        ...BUNDLING,
        ...bundling,
        ...(config && { commandHooks: withConfigFile(scope, config, bundling?.commandHooks) }),
      },
      environment: {
        POWERTOOLS_SERVICE_NAME: `stackpilot-${folder}`,
        NODE_OPTIONS: '--enable-source-maps',
        ...(config && { [CONFIG_FILE_ENV]: CONFIG_FILE_NAME }),
        ...environment,
      },
    });
    this.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'WriteOwnLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'StackpilotFunction pins Node.js 22, the runtime the bundles target (esbuild node22) and the tests run against; moving to a newer runtime is one change there for every function.',
    });
  }

  /** Sets `variable` to the secret's ARN and lets the function read it. */
  bindSecret(variable: string, secret: secretsmanager.ISecret): this {
    this.addEnvironment(variable, secret.secretArn);
    secret.grantRead(this);
    return this;
  }
}

/**
 * Bundling hooks that also copy the configuration, as JSON, next to the bundle. The JSON is
 * staged once per configuration in the cloud assembly folder when the first function bundles
 * (never when bundling is skipped), and copied with `cp` like the bundling's own file steps.
 * The asset hash covers the bundle's output, so a changed configuration updates the functions.
 */
function withConfigFile(
  scope: Construct,
  config: StackpilotConfig,
  hooks: nodejs.ICommandHooks | undefined,
): nodejs.ICommandHooks {
  const json = JSON.stringify(config);
  const digest = createHash('sha256').update(json).digest('hex').slice(0, 16);
  const outdir = Stage.of(scope)?.outdir;
  if (!outdir) throw new Error('a StackpilotFunction with a configuration must be inside a CDK app');
  const staged = join(outdir, `stackpilot-config-${digest}.json`);
  return {
    beforeBundling: (inputDir, outputDir) => hooks?.beforeBundling(inputDir, outputDir) ?? [],
    beforeInstall: (inputDir, outputDir) => hooks?.beforeInstall(inputDir, outputDir) ?? [],
    afterBundling: (inputDir, outputDir) => {
      writeFileSync(staged, json);
      return [
        ...(hooks?.afterBundling(inputDir, outputDir) ?? []),
        `cp ${shellQuote(staged)} ${shellQuote(join(outputDir, CONFIG_FILE_NAME))}`,
      ];
    },
  };
}

/** One POSIX shell word, whatever the path holds. */
function shellQuote(word: string): string {
  return `'${word.replaceAll("'", "'\\''")}'`;
}

/** A function role without managed policies, in the function's scope as `<id>Role`. */
function ownRole(scope: Construct, id: string, workflow: StateMachineKind | undefined): iam.Role {
  const role = new iam.Role(scope, `${id}Role`, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: `stackpilot${workflow ? ` ${workflow}` : ''}: role of the ${id} function`,
  });
  Validations.of(role).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'The X-Ray statement of active tracing: xray:PutTraceSegments/PutTelemetryRecords have no resource-level permissions.',
  });
  return role;
}

/**
 * One function per step of a workflow: construct `<Step>` (role `<Step>Role`) in `scope`,
 * bundling `functions/<folder>/`, 30 s, with the validated configuration.
 */
export function stepFunctions<Step extends string>(
  scope: Construct,
  workflow: StateMachineKind,
  steps: Readonly<Record<Step, string>>,
  config: StackpilotConfig,
): Record<Step, StackpilotFunction> {
  const fns = {} as Record<Step, StackpilotFunction>;
  for (const [step, folder] of Object.entries(steps) as [Step, string][])
    fns[step] = new StackpilotFunction(scope, step, {
      folder,
      workflow,
      description: `stackpilot ${workflow}: ${folder.replaceAll('-', ' ')}`,
      timeout: Duration.seconds(30),
      config,
    });
  return fns;
}

/** Lets `fn` do `actions` on `resources` (with `conditions`), as one statement named `sid`. */
export function allow(
  fn: StackpilotFunction,
  sid: string,
  actions: string[],
  resources: string[],
  conditions?: Record<string, unknown>,
): void {
  fn.addToRolePolicy(
    new iam.PolicyStatement({ sid, actions, resources, ...(conditions ? { conditions } : {}) }),
  );
}
