/**
 * The CDK app's templates for a configuration: synthesized in process (no asset bundling, no
 * CloudFormation validation: neither changes a template) and cached in a folder keyed by a
 * hash of the configuration and of the code the templates come from (infra/, every file it
 * imports, the ASL files, the lockfile, cdk.json). A warm start reads one JSON file and never
 * loads the CDK.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StackpilotConfig } from '#shared/config.ts';
import { writeFileAtomic } from '../account/store.ts';
import type { StackTemplate, Template, TemplateSet } from './template.ts';

/** Root of the repository (infra/, shared/, package-lock.json). */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * A cache the tests and benchmarks share (one entry per configuration they use): they create
 * many accounts, each from the templates, and synthesize each configuration once.
 */
export const SHARED_TEMPLATE_CACHE: AppTemplatesOptions = {
  cacheDir: join(tmpdir(), 'stackpilot-templates'),
  keep: 'all',
};

/** Bumped when the cache's file layout changes. */
const CACHE_FORMAT = 1;
const TEMPLATES_FILE = 'templates.json';

export interface AppTemplatesOptions {
  /** Folder of the cache: one sub-folder per hash. */
  readonly cacheDir: string;
  /** Keep only the newest entry (a sandbox's data folder) or every one (a cache tests share). @default 'latest' */
  readonly keep?: 'latest' | 'all';
}

/** The templates of the CDK app for `config`, from the cache when its hash matches. */
export async function appTemplates(
  config: StackpilotConfig,
  options: AppTemplatesOptions,
): Promise<TemplateSet & { readonly fromCache: boolean }> {
  const hash = templatesHash(config);
  const file = join(options.cacheDir, hash, TEMPLATES_FILE);
  if (existsSync(file)) {
    return { ...(JSON.parse(readFileSync(file, 'utf8')) as TemplateSet), fromCache: true };
  }
  const stacks = await synthesize(config, options.cacheDir);
  const set: TemplateSet = { hash, stacks };
  writeFileAtomic(file, JSON.stringify(set));
  if ((options.keep ?? 'latest') === 'latest') {
    for (const entry of readdirSync(options.cacheDir)) {
      if (entry !== hash && /^[0-9a-f]{64}$/.test(entry)) {
        rmSync(join(options.cacheDir, entry), { recursive: true, force: true });
      }
    }
  }
  return { ...set, fromCache: false };
}

/**
 * Hash of everything the templates depend on: the configuration, the account and region the
 * CDK may read from the environment, and the content of the infra code and what it reads.
 */
export function templatesHash(config: StackpilotConfig, root = PROJECT_ROOT): string {
  const hash = createHash('sha256');
  hash.update(`format ${CACHE_FORMAT}\n`);
  hash.update(JSON.stringify(config));
  hash.update(`\n${process.env.CDK_DEFAULT_ACCOUNT ?? ''}/${process.env.CDK_DEFAULT_REGION ?? ''}\n`);
  for (const file of templateInputs(root)) {
    hash.update(`${relative(root, file)}\n`);
    hash.update(readFileSync(file));
    hash.update('\n');
  }
  return hash.digest('hex');
}

/**
 * The files the templates are made from: everything under infra/, the modules infra/ imports
 * (followed through relative and `#shared`/`#events` imports), the ASL files, the lockfile
 * (library versions) and cdk.json (feature flags). Sorted, so the hash is stable.
 */
export function templateInputs(root = PROJECT_ROOT): string[] {
  const files = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else files.add(path);
    }
  };
  walk(join(root, 'infra'));
  const stateMachines = join(root, 'state-machines');
  for (const entry of readdirSync(stateMachines)) {
    if (entry.endsWith('.asl.json')) files.add(join(stateMachines, entry));
  }
  for (const name of ['package-lock.json', 'cdk.json']) files.add(join(root, name));

  const pending = [...files].filter((f) => f.endsWith('.ts'));
  while (pending.length > 0) {
    const file = pending.pop() as string;
    for (const imported of localImports(file, root)) {
      if (files.has(imported)) continue;
      files.add(imported);
      if (imported.endsWith('.ts')) pending.push(imported);
    }
  }
  return [...files].sort();
}

const IMPORT =
  /(?:^|[\s;])(?:import|export)\s(?:[^'"]*?\sfrom\s*)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** The project files a module imports (packages are covered by the lockfile). */
function localImports(file: string, root: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const match of text.matchAll(IMPORT)) {
    const specifier = match[1] ?? match[2] ?? '';
    let path: string | undefined;
    if (specifier.startsWith('.')) path = resolve(dirname(file), specifier);
    else if (specifier.startsWith('#shared/'))
      path = join(root, 'shared', specifier.slice('#shared/'.length));
    else if (specifier.startsWith('#events/'))
      path = join(root, 'events', specifier.slice('#events/'.length));
    if (path && existsSync(path) && statSync(path).isFile()) found.push(path);
  }
  return found;
}

/** Runs the CDK app in this process and reads its stacks from the cloud assembly. */
async function synthesize(config: StackpilotConfig, cacheDir: string): Promise<StackTemplate[]> {
  // Loaded only on a cache miss: the CDK takes seconds to import.
  const [{ App }, { buildApp }] = await Promise.all([import('aws-cdk-lib'), import('../../infra/app.ts')]);
  mkdirSync(cacheDir, { recursive: true });
  const outdir = mkdtempSync(join(cacheDir, 'synth-'));
  try {
    const { context } = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
      context: Record<string, unknown>;
    };
    const app = new App({
      outdir,
      // The same feature flags as `npx cdk synth`; no bundling: the sandbox runs the handlers from source.
      context: { ...context, 'aws:cdk:bundling-stacks': [] },
      // CloudFormation schema validation takes most of a synth and changes no template.
      builtinCloudFormationValidation: false,
      treeMetadata: false,
    });
    buildApp(config, app);
    const assembly = app.synth();
    const names = new Set(assembly.stacks.map((s) => s.stackName));
    const unordered = assembly.stacks.map((s) => ({
      stackName: s.stackName,
      template: s.template as Template,
      dependencies: s.dependencies.map((d) => d.id).filter((id) => names.has(id)),
    }));
    return deploymentOrder(unordered);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** Stacks after the stacks they depend on (the order `cdk deploy --all` takes). */
export function deploymentOrder(stacks: readonly StackTemplate[]): StackTemplate[] {
  const byName = new Map(stacks.map((s) => [s.stackName, s]));
  const ordered: StackTemplate[] = [];
  const done = new Set<string>();
  const visit = (stack: StackTemplate) => {
    if (done.has(stack.stackName)) return;
    done.add(stack.stackName);
    for (const dependency of stack.dependencies) {
      const found = byName.get(dependency);
      if (found) visit(found);
    }
    ordered.push(stack);
  };
  for (const stack of stacks) visit(stack);
  return ordered;
}
