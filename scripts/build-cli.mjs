#!/usr/bin/env node
/**
 * Compiles the `stackpilot` CLI to JavaScript (`npm install` runs it as `prepare`), so a
 * command starts in plain Node instead of compiling TypeScript through tsx on every call.
 *
 * One ESM bundle with a chunk per command (loaded when the command runs); packages stay in
 * node_modules. The modules of `sandbox/commands/from-source.ts` read files next to their
 * sources, so each of its `import()`s becomes a load of that source through tsx instead.
 * `dist/cli/inputs.json` lists the sources the build read: `sandbox/bin.mjs` uses the build
 * only while none of them changed since, and runs the sources through tsx otherwise.
 *
 * `node scripts/build-cli.mjs [OUTDIR]` (default dist/cli; inside the project, where node_modules resolves). Without esbuild (an install
 * without dev dependencies) it says so in one line and exits 0: the CLI then runs from the sources.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = resolve(root, process.argv[2] ?? join('dist', 'cli'));
const FROM_SOURCE = join(root, 'sandbox', 'commands', 'from-source.ts');

/** @type {typeof import('esbuild')} */
let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  console.log('stackpilot: esbuild is not installed; the CLI runs from its TypeScript sources');
  process.exit(0);
}

/** Rewrites from-source.ts: each `import('<relative .ts>')` loads that source through tsx. */
const fromSourcePlugin = {
  name: 'from-source',
  setup(build) {
    build.onLoad({ filter: /[\\/]sandbox[\\/]commands[\\/]from-source\.ts$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      let count = 0;
      const body = source.replaceAll(/(?<!typeof )import\('(\.{1,2}\/[^']+\.ts)'\)/g, (_match, specifier) => {
        count += 1;
        // Chunks are written flat into outdir: the path is relative to it.
        const target = relative(outdir, resolve(dirname(args.path), specifier))
          .split('\\')
          .join('/');
        return `fromSource(${JSON.stringify(target)})`;
      });
      if (count === 0) throw new Error(`${args.path}: no import('./….ts') to rewrite`);
      // tsx itself is loaded only when one of these modules is.
      const helper = `let registered = false;
async function fromSource(path) {
  if (!registered) {
    const { register } = await import('tsx/esm/api');
    register();
    registered = true;
  }
  return import(new URL(path, import.meta.url).href);
}
`;
      return { contents: helper + body, loader: 'ts' };
    });
  },
};

rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });
const started = Date.now();
const result = await esbuild.build({
  absWorkingDir: root,
  entryPoints: { cli: join(root, 'sandbox', 'cli.ts') },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunk-[hash]',
  packages: 'external',
  metafile: true,
  logLevel: 'warning',
  plugins: [fromSourcePlugin],
});
const inputs = Object.keys(result.metafile.inputs)
  .filter((input) => !input.includes('node_modules'))
  .concat(relative(root, FROM_SOURCE), 'package.json')
  .filter((input, i, all) => all.indexOf(input) === i)
  .sort();
writeFileSync(join(outdir, 'inputs.json'), `${JSON.stringify({ builtAt: Date.now(), inputs }, null, 1)}\n`);
console.log(
  `stackpilot: CLI compiled to ${relative(root, outdir) || '.'} (${inputs.length} sources, ${Date.now() - started} ms)`,
);
