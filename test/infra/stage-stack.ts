/**
 * Synthesizes one app stage stack on its own (no control plane: the stage finds the source
 * bucket and the release state machine by name) and runs cdk-nag over it: the quick way to
 * test a stage field without bundling every function.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AppStageStack, appStageStackId } from '../../infra/stacks/app-stage-stack.ts';
import { allStages, parseConfig } from '../../shared/config.ts';

/** A one-app configuration (app `web`) with `app` fields and one stage `dev` with `stage` fields. */
export function oneStageConfig(app: Record<string, unknown> = {}, stage: Record<string, unknown> = {}) {
  return parseConfig({
    apps: {
      web: {
        repository: { provider: 'github', url: 'https://github.com/acme/web.git' },
        ...app,
        stages: { dev: { branch: 'main', ...stage } },
      },
    },
  });
}

export interface StageSynthOptions {
  /** `{account, region}` of the stack; environment-agnostic when absent. */
  readonly env?: { account: string; region: string };
}

/** The template of the configuration's first stage, and cdk-nag's unacknowledged findings. */
export function synthStage(config: ReturnType<typeof parseConfig>, options: StageSynthOptions = {}) {
  const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'stackpilot-synth-')) });
  const [ref] = allStages(config);
  if (!ref) throw new Error('no stage');
  const stack = new AppStageStack(app, appStageStackId(ref.app, ref.stage), {
    stage: ref,
    sourceBucket: new s3.Bucket(new Stack(app, 'Sources', { env: options.env }), 'Sources'),
    env: options.env,
  });
  const template = Template.fromStack(stack);
  const report = new AwsSolutionsChecks(app).validateScope(stack);
  const nagFindings = report.violations.map(
    (v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
  );
  return { template, nagFindings, stack };
}
