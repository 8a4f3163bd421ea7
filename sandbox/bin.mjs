#!/usr/bin/env node
// The `stackpilot` command. It runs the CLI compiled at install (`npm install` runs
// scripts/build-cli.mjs as `prepare`) while the sources it was compiled from are unchanged;
// otherwise (an edited source, no build) it registers tsx and runs the TypeScript sources.
import { readFileSync, statSync } from 'node:fs';

// The AWS SDK prints a multi-line warning about Node versions on every process that loads
// it; `stackpilot start` says the same once, in one line, with what to do (commands/start.ts).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const root = new URL('../', import.meta.url);
const built = new URL('dist/cli/', root);

/** True when the build exists and none of its sources changed after it was made. */
function buildIsFresh() {
  try {
    const { builtAt, inputs } = JSON.parse(readFileSync(new URL('inputs.json', built), 'utf8'));
    return inputs.every((input) => statSync(new URL(input, root)).mtimeMs <= builtAt);
  } catch {
    return false;
  }
}

let main;
if (buildIsFresh()) {
  ({ main } = await import(new URL('cli.mjs', built).href));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('./cli.ts'));
}
process.exitCode = await main(process.argv.slice(2), process);
