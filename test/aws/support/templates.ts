/**
 * The CDK app's templates for the suite: synthesized once per run (in the global setup) from
 * `stackpilot.yml`, with the feature flags of cdk.json and no asset bundling (bundles do not
 * change a template's resources), in deployment order.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StackTemplate, Template } from '../../../sandbox/templates/index.ts';
import type { StackpilotConfig } from '../../../shared/config.ts';

const PROJECT_ROOT = join(import.meta.dirname, '..', '..', '..');

export async function synthesizeTemplates(config: StackpilotConfig): Promise<StackTemplate[]> {
  const [{ App }, { buildApp }] = await Promise.all([import('aws-cdk-lib'), import('../../../infra/app.ts')]);
  const outdir = mkdtempSync(join(tmpdir(), 'stackpilot-aws-synth-'));
  try {
    const { context } = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
      context: Record<string, unknown>;
    };
    const app = new App({ outdir, context: { ...context, 'aws:cdk:bundling-stacks': [] } });
    buildApp(config, app);
    const assembly = app.synth();
    const stacks = assembly.stacks.map((s) => ({
      stackName: s.stackName,
      template: s.template as Template,
      dependencies: s.dependencies.map((d) => d.id),
    }));
    // Each stack after the stacks it depends on (the order `cdk deploy --all` takes).
    const ordered: StackTemplate[] = [];
    const visit = (stack: StackTemplate) => {
      if (ordered.includes(stack)) return;
      for (const name of stack.dependencies) {
        const dependency = stacks.find((s) => s.stackName === name);
        if (dependency) visit(dependency);
      }
      ordered.push(stack);
    };
    for (const stack of stacks) visit(stack);
    return ordered;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
