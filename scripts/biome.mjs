#!/usr/bin/env node
// Runs Biome's native binary for this platform. The project depends on the platform
// packages directly (optionalDependencies) rather than on the `@biomejs/biome` wrapper,
// whose optional dependencies for every other platform `npm ci` would insist on.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const pkg = `@biomejs/cli-${process.platform}-${process.arch}`;
let binary;
try {
  binary = require.resolve(`${pkg}/biome`);
} catch {
  console.error(
    `biome: no ${pkg} installed; stackpilot's lint runs on linux x64 and arm64 (see package.json)`,
  );
  process.exit(2);
}
const result = spawnSync(binary, process.argv.slice(2), { stdio: 'inherit' });
process.exit(result.status ?? 1);
