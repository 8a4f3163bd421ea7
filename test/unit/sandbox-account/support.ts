/**
 * An emulated account in a fresh temporary folder, on a manual clock, with its events
 * collected: what every sandbox-account test starts from.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, type StackpilotConfig } from '#shared/config.ts';
import {
  type AccountEvent,
  createEmulatedAccount,
  type EmulatedAccountOptions,
  manualClock,
} from '../../../sandbox/account/index.ts';
import { SHARED_TEMPLATE_CACHE } from '../../../sandbox/templates/synth.ts';

export const credentials = { accessKeyId: 'x', secretAccessKey: 'x' };
export const clientConfig = { region: 'us-east-1', credentials } as const;

/** One app `shop` with a `dev` stage on t3.small instances (two 512 MiB tasks fit on one). */
export function testConfig(stage: Record<string, unknown> = {}): StackpilotConfig {
  return parseConfig({
    apps: {
      shop: {
        repository: { provider: 'github', url: 'https://github.com/acme/shop.git' },
        cpu: 256,
        memory: 512,
        stages: {
          dev: {
            branch: 'main',
            instanceType: 't3.small',
            tasks: { min: 1, max: 5 },
            instances: { min: 1, max: 3 },
            ...stage,
          },
        },
      },
    },
  });
}

export function newDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'stackpilot-account-'));
}

export function removeDataDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * An account created from the CDK app's templates for the configuration, on a manual clock;
 * `advance(ms)` moves the clock and the emulators.
 */
export async function testAccount(options: Partial<EmulatedAccountOptions> & { dataDir: string }) {
  const clock = manualClock();
  const events: AccountEvent[] = [];
  const account = createEmulatedAccount({
    config: testConfig(),
    clock,
    ...options,
    hooks: { onEvent: (event) => void events.push(event), ...options.hooks },
  });
  await account.deployApp(SHARED_TEMPLATE_CACHE);
  const advance = (ms: number) => {
    clock.advance(ms);
    account.tick();
  };
  return { account, clock, events, advance };
}
