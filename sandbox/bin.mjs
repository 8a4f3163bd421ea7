#!/usr/bin/env node
// The `stackpilot` command: registers tsx so the TypeScript sources run as they are
// (no build step after `npm ci`), then runs the CLI.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./cli.ts');
process.exitCode = await main(process.argv.slice(2), process);
