#!/usr/bin/env node
/**
 * The stackpilot CDK app: the control plane, and one stack per app stage of `stackpilot.yml`
 * (or the file named by `STACKPILOT_CONFIG`).
 */
import { Annotations, App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { allStages, type StackpilotConfig } from '#shared/config.ts';
import { loadConfigFile } from '#shared/config-file.ts';
import { capacityWarnings } from '#shared/scaling/capacity.ts';
import {
  AppRepositoryStack,
  AppStageStack,
  appRepositoryStackId,
  appStageStackId,
} from './stacks/app-stage-stack.ts';
import { ControlPlaneStack } from './stacks/control-plane-stack.ts';

export interface BuiltApp {
  readonly app: App;
  readonly controlPlane: ControlPlaneStack;
  /** One ECR repository stack per app. */
  readonly repositories: AppRepositoryStack[];
  /** One stack per (app, stage), in file order. */
  readonly stages: AppStageStack[];
}

/** Builds the whole app from a validated configuration (the synth test calls this too). */
export function buildApp(config: StackpilotConfig, app = new App()): BuiltApp {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const env = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
  const controlPlane = new ControlPlaneStack(app, 'StackpilotControlPlane', { env, config });
  const repositories = new Map<string, AppRepositoryStack>();
  const stages = allStages(config).map((ref) => {
    let repository = repositories.get(ref.app);
    if (!repository) {
      repository = new AppRepositoryStack(app, appRepositoryStackId(ref.app), {
        env,
        app: ref.app,
        appConfig: ref.appConfig,
      });
      repositories.set(ref.app, repository);
    }
    const stage = new AppStageStack(app, appStageStackId(ref.app, ref.stage), {
      env,
      stage: ref,
      sourceBucket: controlPlane.sourceBucket,
    });
    // Found by name, not referenced: the dependencies order the deployment.
    stage.addStackDependency(repository);
    stage.addStackDependency(controlPlane);
    return stage;
  });
  // Bounds that disagree with the cluster deploy fine but scale badly: say so at synth time.
  for (const warning of capacityWarnings(config))
    Annotations.of(controlPlane).addWarningV2('stackpilot:capacity', warning);
  return { app, controlPlane, repositories: [...repositories.values()], stages };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    buildApp(loadConfigFile()).app.synth();
  } catch (error) {
    // A bad stackpilot.yml is a message naming the field, not a stack trace.
    console.error((error as Error).message);
    process.exit(1);
  }
}
