/**
 * The modules that read files next to their own source: the sandbox server (ASL files, the
 * starter app, the CDK app), `start` (the server) and `cost` (its price table). The compiled
 * CLI does not bundle them: its build (`scripts/build-cli.mjs`) turns each `import()` here
 * into a load of the TypeScript source through tsx, registered only when one is needed.
 */
export function importServer(): Promise<typeof import('../server.ts')> {
  return import('../server.ts');
}

export function importStart(): Promise<typeof import('./start.ts')> {
  return import('./start.ts');
}

export function importCost(): Promise<typeof import('./cost.ts')> {
  return import('./cost.ts');
}
