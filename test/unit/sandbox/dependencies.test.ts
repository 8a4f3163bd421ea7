/**
 * `npm ci --omit=dev` installs what the `stackpilot` command needs at run time: the CLI, the
 * sandbox it starts (which synthesizes the CDK app and runs the handlers in process) and so
 * the functions. Checked here from the sources, so that CI need not install twice: every
 * package a run-time folder imports as a value is a dependency, and every dependency is
 * imported by one of them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
/** What `npx stackpilot …` loads: the CLI and sandbox, the CDK app, the handlers and what they share. */
const RUNTIME_FOLDERS = ['sandbox', 'shared', 'infra', 'functions', 'events', 'scripts'];
/** Dependencies that no source imports by name: loaded through another package or a script. */
const INDIRECT: Record<string, string> = {};

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|mjs)$/.test(e.name) && !e.parentPath.includes('starter-app'))
    .map((e) => join(e.parentPath, e.name));
}

/** Package names a file imports as values (`import type` and `typeof import()` need no install). */
function valueImports(text: string): string[] {
  const names: string[] = [];
  const pattern =
    /(?:^|\n)\s*(?:import|export)\s+(?!type\s)[^'";]*?from\s+'([^']+)'|(?<!typeof\s)import\('([^']+)'\)|^import\s+'([^']+)'/g;
  for (const match of text.matchAll(pattern)) {
    const specifier = match[1] ?? match[2] ?? match[3] ?? '';
    // Relative, aliased (#shared/…) and built-in modules, and the odd specifier in a comment.
    if (!/^(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*(\/\S*)?$/.test(specifier)) continue;
    names.push(
      specifier.startsWith('@')
        ? specifier.split('/').slice(0, 2).join('/')
        : (specifier.split('/')[0] ?? ''),
    );
  }
  return names;
}

const imported = new Map<string, string>();
for (const file of RUNTIME_FOLDERS.flatMap(sources)) {
  for (const name of valueImports(readFileSync(file, 'utf8'))) imported.set(name, relative(root, file));
}

describe('dependencies match what runs', () => {
  it('finds the imports it checks', () => {
    expect(imported.get('zod')).toBeDefined();
    expect(imported.get('aws-local-stepfunctions')).toBe('sandbox/state-machines.ts');
    expect(valueImports("import type { X } from 'only-types';\nimport { Y } from 'a-value';")).toEqual([
      'a-value',
    ]);
  });

  it('lists every package the CLI, the sandbox and the functions import as a dependency', () => {
    // esbuild is loaded by scripts/build-cli.mjs only when present (a dev install compiles the CLI).
    const missing = [...imported]
      .filter(([name]) => !pkg.dependencies[name] && name !== 'esbuild')
      .map(([name, file]) => `${name} (imported by ${file})`);
    expect(missing).toEqual([]);
  });

  it('keeps no dependency that nothing at run time imports', () => {
    const unused = Object.keys(pkg.dependencies).filter((name) => !imported.has(name) && !INDIRECT[name]);
    expect(unused).toEqual([]);
  });

  it('pins every version exactly', () => {
    const loose = Object.entries({ ...pkg.dependencies, ...pkg.devDependencies }).filter(
      ([, version]) => !/^\d+\.\d+\.\d+$/.test(version),
    );
    expect(loose).toEqual([]);
  });

  it('uses one version of Powertools for all its packages', () => {
    const versions = new Set(
      Object.entries(pkg.dependencies)
        .filter(([name]) => name.startsWith('@aws-lambda-powertools/'))
        .map(([, version]) => version),
    );
    expect(versions.size).toBe(1);
  });
});
