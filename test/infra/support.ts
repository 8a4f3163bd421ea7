/**
 * Synthesizes the CDK app from a configuration and runs cdk-nag's AwsSolutions checks
 * over it: a finding that is not acknowledged (with a reason, in code) is returned in
 * `nagFindings`, which the tests expect to be empty.
 *
 * The functions are not bundled here (`aws:cdk:bundling-stacks` is empty): templates and
 * cdk-nag do not depend on the bundles, and `test/infra/bundles.test.ts` builds every
 * bundle with the same esbuild settings instead of once per synth.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildApp } from '../../infra/app.ts';
import { PROJECT_ROOT } from '../../infra/constructs/stackpilot-function.ts';
import type { StackpilotConfig } from '../../shared/config.ts';
import { loadConfigFile } from '../../shared/config-file.ts';

export function synthApp(config: StackpilotConfig = loadConfigFile('stackpilot.yml')) {
  const outdir = mkdtempSync(join(tmpdir(), 'stackpilot-synth-'));
  // The same feature flags as `npx cdk synth` (cdk.json), so templates match real deploys.
  const { context } = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context: object };
  const app = new App({ outdir, context: { ...context, 'aws:cdk:bundling-stacks': [] } });
  const built = buildApp(config, app);
  const assembly = app.synth();
  const report = new AwsSolutionsChecks(app).validateScope(app);
  const nagFindings = report.violations.map(
    (v) => `${v.ruleName}: ${v.description} (${v.violatingResources.map((r) => r.constructPath).join(', ')})`,
  );
  return { ...built, assembly, outdir, nagFindings };
}
