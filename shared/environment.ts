/**
 * The environment of an app's container: plain `environment` values and `secrets` that ECS
 * resolves when it starts a task, configured per app with per-stage overrides.
 *
 * One place for the idea: the schema (used by `config.ts`), the merge of a stage over its app,
 * the variables stackpilot sets itself, the `valueFrom` ECS reads a secret from and the exact
 * ARN the execution role may read for it. The CDK app renders the task definition from
 * {@link stageEnvironment}; the sandbox shows and injects the same result.
 */
import * as z from 'zod';

/** What a shell and ECS accept as a variable name. */
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Set by stackpilot on every task (see {@link stageEnvironment}). */
export const RESERVED_NAMES: readonly string[] = ['PORT'];
/** `STACKPILOT_APP`, `STACKPILOT_STAGE` and any future variable of stackpilot's own. */
export const RESERVED_PREFIXES: readonly string[] = [
  'STACKPILOT_',
  // Set by the ECS agent: overriding them cuts the task off from its role credentials and metadata.
  'AWS_CONTAINER_',
  'ECS_CONTAINER_METADATA_URI',
];

/**
 * The largest value, in bytes. ECS refuses a task definition over 64 KiB; a value may take
 * half of that, and {@link MAX_ENVIRONMENT_BYTES} bounds all of them together.
 */
export const MAX_VALUE_BYTES = 32 * 1024;
/** The largest resolved environment of a stage (names, values and secret references), in bytes. */
export const MAX_ENVIRONMENT_BYTES = 32 * 1024;

/** Why `name` may not be set by the configuration, or undefined when it may. */
export function reservedReason(name: string): string | undefined {
  if (RESERVED_NAMES.includes(name)) return `${name} is reserved: stackpilot sets it (containerPort)`;
  const prefix = RESERVED_PREFIXES.find((p) => name.startsWith(p));
  if (prefix === 'STACKPILOT_')
    return `${name} is reserved: names starting with STACKPILOT_ are stackpilot's`;
  if (prefix) return `${name} is reserved: ECS sets names starting with ${prefix}`;
  return undefined;
}

const variableName = z.string().superRefine((name, ctx) => {
  if (!VARIABLE_NAME.test(name)) {
    ctx.addIssue({
      code: 'custom',
      message: `invalid variable name "${name}": letters, digits and underscores, not starting with a digit`,
    });
    return;
  }
  const reserved = reservedReason(name);
  if (reserved) ctx.addIssue({ code: 'custom', message: reserved });
});

const byteLength = (value: string) => Buffer.byteLength(value, 'utf8');

/** YAML reads `WORKERS: 4` and `DEBUG: true` as a number and a boolean: the container gets their text. */
const plainValue = z
  .union([z.string(), z.number(), z.boolean()], { error: 'a string, number or boolean value' })
  .transform(String)
  .refine((v) => byteLength(v) <= MAX_VALUE_BYTES, {
    message: `value is over ${MAX_VALUE_BYTES} bytes (ECS caps the whole task definition at 64 KiB)`,
  });

/** Secrets Manager names: 1-512 of letters, digits and `/_+=.@-`. */
const secretName = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const secretArn = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;
/** SSM parameter names: letters, digits and `_.-/`; a hierarchy starts with `/`. */
const parameterName = /^(\/?[A-Za-z0-9_.-]+)(\/[A-Za-z0-9_.-]+)*$/;
const parameterArn = /^arn:aws[a-z-]*:ssm:[a-z0-9-]+:\d{12}:parameter\/[A-Za-z0-9_./-]+$/;

const secretsManagerRef = z
  .object({
    /** Name of a secret in the stage's account and region, or the complete ARN of any secret. */
    secretsManager: z
      .string()
      .refine((s) => secretName.test(s) || secretArn.test(s), 'a Secrets Manager secret name or ARN'),
    /** A key of the secret's JSON value: the variable gets that key's value, not the whole secret. */
    key: z
      .string()
      .regex(/^[^:]{1,256}$/, 'a JSON key of 1-256 characters without ":"')
      .optional(),
  })
  .strict();

const parameterRef = z
  .object({
    /** Name (`/app/db-url`) of an SSM parameter in the stage's account and region, or its ARN. */
    parameter: z
      .string()
      .refine(
        (p) => (parameterName.test(p) && p.length <= 1011) || parameterArn.test(p),
        'an SSM parameter name such as /app/api-key, or its ARN',
      ),
  })
  .strict();

/** Where a secret's value lives. ECS reads it with the stage's execution role when a task starts. */
export const secretRefSchema = z.union([secretsManagerRef, parameterRef], {
  error:
    'a secret is { secretsManager: <name or ARN>, key?: <JSON key> } or { parameter: <SSM name or ARN> }',
});
export type SecretRef = z.output<typeof secretRefSchema>;

/** `environment:` of an app or a stage. */
export const environmentSchema = z.record(variableName, plainValue);
/** `secrets:` of an app or a stage. */
export const secretsSchema = z.record(variableName, secretRefSchema);

export interface EnvironmentLayer {
  readonly environment?: Readonly<Record<string, string>>;
  readonly secrets?: Readonly<Record<string, SecretRef>>;
}

/** A problem with a layer or a merged environment, with the path (below the layer) it is about. */
export interface EnvironmentIssue {
  readonly path: (string | number)[];
  readonly message: string;
}

/** A name under both `environment` and `secrets` of one layer is ambiguous. */
export function duplicateNames(layer: EnvironmentLayer): EnvironmentIssue[] {
  return Object.keys(layer.secrets ?? {})
    .filter((name) => Object.hasOwn(layer.environment ?? {}, name))
    .map((name) => ({
      path: ['secrets', name],
      message: `${name} is both in environment and in secrets; keep one`,
    }));
}

/** What the configuration gives the container, before stackpilot's own variables. */
export interface ResolvedEnvironment {
  readonly environment: Record<string, string>;
  readonly secrets: Record<string, SecretRef>;
}

/**
 * The stage's layer over the app's: a name the stage sets, as a value or as a secret, replaces
 * the app's entry of that name whichever kind it was (a stage may turn an app's plain value
 * into a secret, and back).
 */
export function mergeEnvironment(app: EnvironmentLayer, stage: EnvironmentLayer): ResolvedEnvironment {
  const environment: Record<string, string> = { ...app.environment };
  const secrets: Record<string, SecretRef> = { ...app.secrets };
  for (const [name, value] of Object.entries(stage.environment ?? {})) {
    delete secrets[name];
    environment[name] = value;
  }
  for (const [name, ref] of Object.entries(stage.secrets ?? {})) {
    delete environment[name];
    secrets[name] = ref;
  }
  return { environment, secrets };
}

/** Bytes of a resolved environment as ECS stores it (names, values and references). */
export function environmentBytes(resolved: ResolvedEnvironment): number {
  let total = 0;
  for (const [name, value] of Object.entries(resolved.environment))
    total += byteLength(name) + byteLength(value);
  for (const [name, ref] of Object.entries(resolved.secrets)) {
    total += byteLength(name) + byteLength(JSON.stringify(ref));
  }
  return total;
}

/** The variables stackpilot sets on every task of a stage. */
export function stackpilotVariables(
  app: string,
  stage: string,
  containerPort: number,
): Record<string, string> {
  return { PORT: String(containerPort), STACKPILOT_APP: app, STACKPILOT_STAGE: stage };
}

/** Where the tasks of a stage run: what a name or a partial reference resolves against. */
export interface AccountScope {
  readonly partition: string;
  readonly region: string;
  readonly account: string;
}

/** A secret as the task definition and the execution role see it. */
export interface SecretSource {
  /** `secrets[].valueFrom` of the container definition. */
  readonly valueFrom: string;
  /** The ARN the execution role may read for it (with the `-??????` suffix of a named secret). */
  readonly resourceArn: string;
  /** The one action ECS calls with the execution role to read it. */
  readonly action: 'secretsmanager:GetSecretValue' | 'ssm:GetParameters';
}

/**
 * `valueFrom` and the readable ARN of a secret reference. A Secrets Manager name becomes its
 * partial ARN (ECS needs an ARN to select a JSON key); the policy allows that name followed by
 * the six random characters Secrets Manager appends, so exactly that secret. A complete ARN is
 * used as given. An SSM parameter name becomes its ARN in the stage's region.
 */
export function secretSource(ref: SecretRef, scope: AccountScope): SecretSource {
  if ('secretsManager' in ref) {
    const isArn = ref.secretsManager.startsWith('arn:');
    const arn = isArn
      ? ref.secretsManager
      : `arn:${scope.partition}:secretsmanager:${scope.region}:${scope.account}:secret:${ref.secretsManager}`;
    return {
      // <arn>:<json-key>:<version-stage>:<version-id>, empty stage and id = the current version.
      valueFrom: ref.key === undefined ? arn : `${arn}:${ref.key}::`,
      resourceArn: isArn ? arn : `${arn}-??????`,
      action: 'secretsmanager:GetSecretValue',
    };
  }
  const arn = ref.parameter.startsWith('arn:')
    ? ref.parameter
    : `arn:${scope.partition}:ssm:${scope.region}:${scope.account}:parameter/${ref.parameter.replace(/^\//, '')}`;
  return { valueFrom: arn, resourceArn: arn, action: 'ssm:GetParameters' };
}
