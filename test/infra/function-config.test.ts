/**
 * The configuration reaches the functions in their bundle, not in their environment: Lambda
 * caps a function's environment at 4 KB, and the configuration grows by about 620 bytes a
 * stage. Synthesized here for 20 apps of 3 stages each.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/app.ts';
import { PROJECT_ROOT, StackpilotFunction } from '../../infra/constructs/stackpilot-function.ts';
import {
  CONFIG_ENV,
  CONFIG_FILE_ENV,
  CONFIG_FILE_NAME,
  parseConfig,
  runtimeConfig,
  type StackpilotConfig,
} from '../../shared/config.ts';

/** Lambda's cap on a function's environment: the keys and values of its variables, in bytes. */
const LAMBDA_ENVIRONMENT_LIMIT = 4 * 1024;

/**
 * Bytes a value of the template takes once deployed. A reference (Ref, Fn::GetAtt, …) counts as
 * 256 bytes, more than any ARN or name a function's environment refers to here.
 */
function deployedBytes(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (typeof value === 'number' || typeof value === 'boolean') return String(value).length;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (join) {
    const [separator, parts] = join;
    return (
      parts.reduce<number>((sum, part) => sum + deployedBytes(part), 0) +
      separator.length * (parts.length - 1)
    );
  }
  return 256;
}

function environmentBytes(variables: Record<string, unknown>): number {
  return Object.entries(variables).reduce((sum, [key, value]) => sum + key.length + deployedBytes(value), 0);
}

/** 20 apps with a dev, a staging and a prod stage each, with the optional fields a real file has. */
function twentyAppsOfThreeStages(): StackpilotConfig {
  const apps: Record<string, unknown> = {};
  for (let i = 1; i <= 20; i++) {
    const name = `service-${String(i).padStart(2, '0')}`;
    apps[name] = {
      repository:
        i % 2 === 0
          ? {
              provider: 'github',
              url: `https://github.com/acme-corp/${name}.git`,
              tokenSecret: `stackpilot/${name}`,
            }
          : { provider: 'gitlab', url: `https://gitlab.example.com/platform/${name}.git` },
      containerPort: 8080,
      healthCheckPath: '/health',
      stages: {
        dev: { branch: 'main', instanceType: 't3.micro' },
        staging: { branch: 'staging', scale: 'hyperscale', instanceType: 't3.small' },
        prod: {
          branch: 'release',
          scale: 'hyperscale',
          instanceType: 'm7g.large',
          tasks: { min: 2, max: 20 },
          instances: { min: 2, max: 8 },
          certificateArn: `arn:aws:acm:us-east-1:111122223333:certificate/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9${String(i).padStart(2, '0')}`,
        },
      },
    };
  }
  return parseConfig({ apps });
}

interface LambdaResource {
  readonly Type: string;
  readonly Properties?: { readonly Environment?: { readonly Variables?: Record<string, unknown> } };
}

/**
 * Function folders whose handler reads the configuration: itself, or through its feature's deps
 * factory (every factory named here reads `runtimeConfig()`, or its steps do).
 */
const readsConfig = readdirSync(join(PROJECT_ROOT, 'functions')).filter((folder) =>
  /\b(runtimeConfig|webhookEnvironment|webhookDeps|sourceDeps|releaseDeps|scalingDeps|previewDeps)\(/.test(
    readFileSync(join(PROJECT_ROOT, 'functions', folder, 'handler.ts'), 'utf8'),
  ),
);

describe('the configuration of 20 apps x 3 stages', () => {
  const config = twentyAppsOfThreeStages();
  let functions: { stack: string; id: string; variables: Record<string, unknown> }[];
  let outdir: string;
  beforeAll(() => {
    outdir = mkdtempSync(join(tmpdir(), 'stackpilot-synth-'));
    // Bundling is skipped: the templates do not depend on it (the bundled case is below).
    const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
    const assembly = buildApp(config, app).app.synth();
    functions = assembly.stacks.flatMap((stack) =>
      Object.entries(stack.template.Resources as Record<string, LambdaResource>)
        .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
        .map(([id, r]) => ({
          stack: stack.stackName,
          id,
          variables: r.Properties?.Environment?.Variables ?? {},
        })),
    );
  }, 600_000);
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('is a configuration of about 620 bytes a stage', () => {
    expect(Object.keys(config.apps)).toHaveLength(20);
    expect(Buffer.byteLength(JSON.stringify(config))).toBeGreaterThan(60 * 500);
  });

  it('keeps every function’s environment under Lambda’s 4 KB', () => {
    expect(functions.length).toBeGreaterThan(0);
    const over = functions
      .map((f) => ({ fn: `${f.stack}/${f.id}`, bytes: environmentBytes(f.variables) }))
      .filter((f) => f.bytes >= LAMBDA_ENVIRONMENT_LIMIT);
    expect(over).toEqual([]);
  });

  it('points every function that reads the configuration at its bundled file, and puts the configuration itself in none', () => {
    expect(readsConfig).toEqual(expect.arrayContaining(['webhook', 'package-source', 'prepare-release']));
    // The 20 apps run no previews, so the preview workflow is not built here (previews.test.ts
    // checks its functions' configuration).
    for (const folder of readsConfig.filter((f) => !/-previews?$/.test(f))) {
      const matching = functions.filter(
        (f) => f.variables.POWERTOOLS_SERVICE_NAME === `stackpilot-${folder}`,
      );
      expect(matching, folder).toHaveLength(1);
      expect(matching[0]?.variables[CONFIG_FILE_ENV], folder).toBe(CONFIG_FILE_NAME);
    }
    expect(functions.filter((f) => CONFIG_ENV in f.variables)).toEqual([]);
  });
});

describe('a bundled function', () => {
  const saved = { ...process.env };
  const dirs: string[] = [];
  afterEach(() => {
    process.env = { ...saved };
  });
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  /** Bundles one function for real (esbuild, the hooks) and returns its asset folder. */
  function bundleWith(config: StackpilotConfig): string {
    const outdir = mkdtempSync(join(tmpdir(), 'stackpilot-synth-'));
    dirs.push(outdir);
    const app = new App({ outdir });
    new StackpilotFunction(new Stack(app, 'Functions'), 'ReadAlarmState', {
      folder: 'read-alarm-state',
      config,
    });
    app.synth();
    const assets = readdirSync(outdir).filter((entry) => entry.startsWith('asset.'));
    expect(assets).toHaveLength(1);
    return join(outdir, assets[0] as string);
  }

  const small = parseConfig({
    apps: {
      web: {
        repository: { provider: 'github', url: 'https://github.com/acme/web.git' },
        stages: { dev: { branch: 'main' } },
      },
    },
  });

  it('carries the configuration next to its code, where it reads it at cold start', () => {
    const asset = bundleWith(small);
    expect(readdirSync(asset)).toEqual(expect.arrayContaining(['index.mjs', CONFIG_FILE_NAME]));
    expect(JSON.parse(readFileSync(join(asset, CONFIG_FILE_NAME), 'utf8'))).toEqual(small);

    // What Lambda sets: the code folder, and the function's environment from the template.
    delete process.env[CONFIG_ENV];
    process.env.LAMBDA_TASK_ROOT = asset;
    process.env[CONFIG_FILE_ENV] = CONFIG_FILE_NAME;
    expect(runtimeConfig()).toEqual(small);
  }, 120_000);

  it('gets a new asset when the configuration changes, so a deploy updates the function', () => {
    const changed = structuredClone(small);
    const dev = changed.apps.web?.stages.dev;
    if (!dev) throw new Error('no dev stage');
    dev.branch = 'trunk';
    expect(bundleWith(changed).split('asset.')[1]).not.toBe(bundleWith(small).split('asset.')[1]);
  }, 120_000);
});
