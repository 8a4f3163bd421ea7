import { describe, expect, it } from 'vitest';
import { type AslDefinition, runStateMachine } from '../../../sandbox/state-machines.ts';

const definition: AslDefinition = {
  StartAt: 'Compute',
  States: {
    Compute: {
      Type: 'Task',
      Resource: 'arn:aws:lambda:us-east-1:000000000000:function:compute',
      Next: 'Cool Down',
    },
    'Cool Down': { Type: 'Wait', SecondsPath: '$.result.cooldownSeconds', Next: 'Settle' },
    Settle: { Type: 'Wait', Seconds: 30, End: true },
  },
};

async function timed(options: Parameters<typeof runStateMachine>[2]) {
  const started = performance.now();
  const result = await runStateMachine(definition, {}, options);
  return { result, ms: performance.now() - started };
}

describe('runStateMachine timeScale', () => {
  // The engine itself takes up to a few hundred ms per run on a busy machine: compare runs.
  it('scales Seconds waits and SecondsPath waits computed from the state input', async () => {
    // 2,500 s + 30 s at 1000x: about 2.5 s; 1 s + 30 s: about 31 ms.
    const long = await timed({
      tasks: { Compute: () => ({ result: { cooldownSeconds: 2500 } }) },
      timeScale: 1000,
    });
    const short = await timed({
      tasks: { Compute: () => ({ result: { cooldownSeconds: 1 } }) },
      timeScale: 1000,
    });
    expect(long.result.status).toBe('SUCCEEDED');
    expect(long.result.statesEntered).toEqual(['Compute', 'Cool Down', 'Settle']);
    expect(long.ms).toBeGreaterThanOrEqual(2500);
    expect(long.ms).toBeLessThan(20_000); // unscaled, it would take 42 minutes
    expect(short.ms).toBeGreaterThanOrEqual(30);
    expect(long.ms - short.ms).toBeGreaterThan(2000);
  });

  it('lets explicit waits win and keeps every wait at 0 ms without a time scale', async () => {
    const fixed = await timed({
      tasks: { Compute: () => ({ result: { cooldownSeconds: 2500 } }) },
      timeScale: 1000,
      waits: { 'Cool Down': 0, Settle: 0 },
    });
    const instant = await timed({ tasks: { Compute: () => ({ result: { cooldownSeconds: 2500 } }) } });
    expect(fixed.result.status).toBe('SUCCEEDED');
    expect(fixed.ms).toBeLessThan(2000);
    expect(instant.ms).toBeLessThan(2000);
  });
});
