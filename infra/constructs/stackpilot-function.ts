import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { CONFIG_ENV, type StackpilotConfig } from '../../shared/config.ts';

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
}

/**
 * A stackpilot Lambda function: Node.js 22 on ARM64, X-Ray active tracing, an ESM bundle
 * with source maps, its own log group with retention, Powertools settings.
 */
export class StackpilotFunction extends nodejs.NodejsFunction {
  constructor(scope: Construct, id: string, props: StackpilotFunctionProps) {
    const { folder, logRetention, environment, bundling, ...rest } = props;
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      retention: logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    super(scope, id, {
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
      bundling: { ...BUNDLING, ...bundling },
      environment: {
        POWERTOOLS_SERVICE_NAME: `stackpilot-${folder}`,
        NODE_OPTIONS: '--enable-source-maps',
        ...environment,
      },
    });
  }

  /** Gives the function the validated configuration (read once, at cold start). */
  bindConfig(config: StackpilotConfig): this {
    this.addEnvironment(CONFIG_ENV, JSON.stringify(config));
    return this;
  }

  /** Sets `variable` to the secret's ARN and lets the function read it. */
  bindSecret(variable: string, secret: secretsmanager.ISecret): this {
    this.addEnvironment(variable, secret.secretArn);
    secret.grantRead(this);
    return this;
  }
}
