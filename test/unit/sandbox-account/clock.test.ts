import { afterEach, describe, expect, it } from 'vitest';
import { createEmulatedAccount, manualClock, scaledClock } from '../../../sandbox/account/index.ts';
import { SHARED_TEMPLATE_CACHE } from '../../../sandbox/templates/synth.ts';
import { newDataDir, removeDataDir, testConfig } from './support.ts';

describe('emulated time', () => {
  let dataDir: string | undefined;
  afterEach(() => dataDir && removeDataDir(dataDir));

  it('runs a scaled clock timeScale times faster than the wall clock, sleeps included', async () => {
    const clock = scaledClock({ timeScale: 600 });
    const before = clock.now();
    const realBefore = Date.now();
    await clock.sleep(60_000); // one emulated minute: 100 ms
    const real = Date.now() - realBefore;
    expect(real).toBeGreaterThanOrEqual(90);
    expect(real).toBeLessThan(1_000);
    expect(clock.now() - before).toBeGreaterThanOrEqual(59_000);
  });

  it('wakes a manual clock sleeper only when its time comes', async () => {
    const clock = manualClock();
    let woke = false;
    const sleeping = clock.sleep(5_000).then(() => {
      woke = true;
    });
    clock.advance(4_999);
    await Promise.resolve();
    expect(woke).toBe(false);
    clock.advance(1);
    await sleeping;
    expect(woke).toBe(true);
  });

  it('resumes a fast clock from the time the saved state reached, so a restart never goes back in time', async () => {
    dataDir = newDataDir();
    const ahead = Date.now() + 10 * 3_600_000;
    const first = createEmulatedAccount({ dataDir, config: testConfig(), clock: manualClock(ahead) });
    await first.deployApp(SHARED_TEMPLATE_CACHE);
    first.flush();
    const clock = scaledClock({ timeScale: 60 });
    expect(clock.now()).toBeLessThan(ahead);
    createEmulatedAccount({ dataDir, config: testConfig(), clock });
    expect(clock.now()).toBeGreaterThanOrEqual(ahead);
  });
});
