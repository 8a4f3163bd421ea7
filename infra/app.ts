#!/usr/bin/env node
/**
 * The stackpilot CDK app: the control plane, and one stack per app stage of `stackpilot.yml`
 * (or the file named by `STACKPILOT_CONFIG`).
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadConfigFile, type StackpilotConfig } from '../shared/config.ts';
import { ControlPlaneStack } from './stacks/control-plane-stack.ts';

export interface BuiltApp {
  readonly app: App;
  readonly controlPlane: ControlPlaneStack;
}

/** Builds the whole app from a validated configuration (the synth test calls this too). */
export function buildApp(config: StackpilotConfig, app = new App()): BuiltApp {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const env = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
  const controlPlane = new ControlPlaneStack(app, 'StackpilotControlPlane', { env, config });
  return { app, controlPlane };
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
