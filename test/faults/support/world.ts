/**
 * The AWS world the fault suite runs in: the sandbox's emulated account
 * (`sandbox/account/`), created from the templates of the example `stackpilot.yml` as `cdk deploy`
 * leaves it, answering the project's own SDK clients through their middleware, so
 * the production adapters and handlers run unchanged. Time is a manual clock that the
 * runner moves forward before each Task, which is how rollouts, builds and drains progress
 * while every Wait state takes 0 ms; `Date` is faked to follow it, so the handlers' own
 * deadlines (rollout, drain and pipeline time-outs) fall in emulated time too.
 *
 * Each scenario gets a fresh account in its own temporary folder: a scenario never sees
 * what the previous one scaled, deployed or left behind.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vi } from 'vitest';
import { clients } from '#shared/aws/clients.ts';
import { CONFIG_ENV, CONFIG_FILE_ENV, type StackpilotConfig } from '#shared/config.ts';
import { loadConfigFile } from '#shared/config-file.ts';
import {
  createEmulatedAccount,
  type EmulatedAccount,
  type ManualClock,
  manualClock,
} from '../../../sandbox/account/index.ts';
import { SHARED_TEMPLATE_CACHE } from '../../../sandbox/templates/synth.ts';
import type { FaultInjector } from './faults.ts';

/** When every world's emulated time starts: a whole hour, so every alarm period starts on it. */
export const EPOCH = Date.UTC(2026, 10, 21, 12, 0, 0);

export interface World {
  readonly account: EmulatedAccount;
  readonly clock: ManualClock;
  readonly config: StackpilotConfig;
  /** Moves emulated time forward and lets every emulator catch up. */
  advance(ms: number): void;
  dispose(): void;
}

/** The example configuration, optionally changed (the deploy scenarios point the repository at a local git server). */
export function exampleConfig(
  change: (config: StackpilotConfig) => void = () => undefined,
): StackpilotConfig {
  const config = loadConfigFile('stackpilot.yml');
  change(config);
  return config;
}

export interface WorldOptions {
  readonly config?: StackpilotConfig;
  /** The injector must sit in front of the account on each client: it is attached first. */
  readonly injector: FaultInjector;
  /** What the pipeline's Release stage does; by default the release succeeds at once. */
  readonly onRelease?: EmulatedAccount['hooks']['onRelease'];
}

let injectorAttached: FaultInjector | undefined;

/** A fresh emulated account with the app's stacks, attached to `shared/aws/clients.ts` behind the fault injector. */
export async function createWorld(options: WorldOptions): Promise<World> {
  const config = options.config ?? exampleConfig();
  const dataDir = mkdtempSync(join(tmpdir(), 'stackpilot-faults-'));
  // The handlers read time from Date (deadlines of rollouts, drains, pipelines): Date follows the emulated clock,
  // which starts at the same instant every time, so alarm periods fall alike in every run.
  const clock = manualClock(EPOCH);
  vi.useFakeTimers({ toFake: ['Date'], now: clock.now() });
  const account = createEmulatedAccount({
    dataDir,
    config,
    clock,
    hooks: {
      onRelease:
        options.onRelease ??
        (async (request) => ({
          status: 'SUCCEEDED',
          executionArn: `arn:aws:states:us-east-1:123456789012:execution:stackpilot-release:${request.pipelineExecutionId}`,
        })),
    },
  });
  // Middlewares of one step and priority run in the order they were added: the injector goes first.
  if (injectorAttached !== options.injector) {
    injectorAttached?.detach();
    options.injector.attach(clients);
    injectorAttached = options.injector;
  }
  account.attach(clients);
  const deployed = await account.deployApp(SHARED_TEMPLATE_CACHE);

  // The buckets and ARNs the templates give the functions; the configuration inline (no bundle).
  const { [CONFIG_FILE_ENV]: _bundledFile, ...environment } = deployed.environment;
  Object.assign(process.env, environment);
  process.env[CONFIG_ENV] = JSON.stringify(config);

  return {
    account,
    clock,
    config,
    advance(ms) {
      clock.advance(ms);
      vi.setSystemTime(clock.now());
      account.tick();
    },
    dispose() {
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
