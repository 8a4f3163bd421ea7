import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../../sandbox/cli.ts';
import { ProgressWriter, renderBlock, stepsOfSandbox } from '../../../sandbox/commands/progress.ts';
import { watchCommand } from '../../../sandbox/commands/watch.ts';
import type { HistoryEntry } from '../../../sandbox/runner.ts';
import { captureIo } from '../../support/process.ts';

/** The escape character of terminal control sequences. */
const ESC = String.fromCharCode(27);
const t0 = '2026-01-01T12:00:00.000Z';
const at = (s: number) => new Date(Date.parse(t0) + s * 1000).toISOString();
const history: HistoryEntry[] = [
  { timestamp: at(0), type: 'ExecutionStarted' },
  { timestamp: at(0), type: 'StateEntered', state: 'Prepare Release', stateType: 'Task' },
  { timestamp: at(2), type: 'StateExited', state: 'Prepare Release' },
  { timestamp: at(2), type: 'StateEntered', state: 'Update Service', stateType: 'Task' },
  { timestamp: at(3), type: 'StateRetried', state: 'Update Service', retryAttempt: 1 },
  {
    timestamp: at(5),
    type: 'StateFailed',
    state: 'Update Service',
    error: 'ServiceNotActive',
    cause: 'gone',
  },
];

describe('the progress of an execution', () => {
  it('reads each step, its result, retries and duration from the history', () => {
    expect(stepsOfSandbox(history)).toEqual([
      { state: 'Prepare Release', status: 'succeeded', enteredAt: at(0), exitedAt: at(2), retries: 0 },
      {
        state: 'Update Service',
        status: 'failed',
        enteredAt: at(2),
        exitedAt: at(5),
        retries: 1,
        detail: 'ServiceNotActive: gone',
      },
    ]);
    const block = renderBlock({
      title: 'release r-1',
      status: 'FAILED',
      startDate: at(0),
      stopDate: at(5),
      steps: stepsOfSandbox(history),
    });
    expect(block).toBe(
      [
        'release r-1  FAILED  5s',
        '  ✓ Prepare Release      2s',
        '  ✗ Update Service       3s  (1 retry)  ServiceNotActive: gone',
      ].join('\n'),
    );
  });

  it('prints one line per state in a pipe, each once, and redraws one block on a terminal', () => {
    const pipe = captureIo();
    const piped = new ProgressWriter(pipe.io.stdout, false);
    const term = captureIo();
    const drawn = new ProgressWriter(term.io.stdout, true);
    for (const upTo of [2, 4, 5, 6, 6]) {
      const view = {
        title: 'release r-1',
        status: 'RUNNING',
        startDate: at(0),
        steps: stepsOfSandbox(history.slice(0, upTo)),
      };
      piped.update(view);
      drawn.update(view);
    }
    expect(pipe.out()).toBe(
      [
        '  -> Prepare Release',
        '  -> Update Service',
        '     Update Service retried (attempt 1)',
        '     Update Service failed: ServiceNotActive: gone',
        '',
      ].join('\n'),
    );
    // Five draws: the first plain, each later one moves up over the previous block and clears it.
    expect(term.out().match(new RegExp(`${ESC}\\[\\d+F${ESC}\\[0J`, 'g'))).toHaveLength(4);
    expect(term.out()).toContain('\x1b[3F\x1b[0J');
  });
});

describe('stackpilot watch --aws', () => {
  const sfn = mockClient(SFNClient);
  afterEach(() => sfn.reset());
  const arn = 'arn:aws:states:us-east-1:123456789012:execution:stackpilot-release:r-1';

  function history() {
    sfn.on(GetExecutionHistoryCommand).resolves({
      events: [
        { id: 1, type: 'ExecutionStarted', timestamp: new Date(t0) },
        {
          id: 2,
          type: 'TaskStateEntered',
          timestamp: new Date(t0),
          stateEnteredEventDetails: { name: 'Prepare Release' },
        },
        {
          id: 3,
          type: 'TaskStateExited',
          timestamp: new Date(at(1)),
          stateExitedEventDetails: { name: 'Prepare Release' },
        },
      ],
    });
  }

  it('follows an execution by ARN until it ends and exits 0 when it succeeded', async () => {
    history();
    sfn
      .on(DescribeExecutionCommand)
      .resolvesOnce({
        executionArn: arn,
        name: 'r-1',
        status: 'RUNNING',
        startDate: new Date(t0),
        stateMachineArn: 'm',
      })
      .resolves({
        executionArn: arn,
        name: 'r-1',
        status: 'SUCCEEDED',
        startDate: new Date(t0),
        stopDate: new Date(at(4)),
        stateMachineArn: 'm',
      });
    const t = captureIo();
    expect(await watchCommand([arn, '--aws'], t.io, { sfn: sfn as unknown as SFNClient, pollMs: 1 })).toBe(0);
    expect(t.out().match(/-> Prepare Release/g)).toHaveLength(1);
  });

  it("finds the stage's running execution and exits 1 when it fails", async () => {
    history();
    sfn.on(ListStateMachinesCommand).resolves({
      stateMachines: [
        {
          name: 'stackpilot-deploy',
          stateMachineArn: 'arn:deploy',
          type: 'STANDARD',
          creationDate: new Date(),
        },
        {
          name: 'stackpilot-release',
          stateMachineArn: 'arn:release',
          type: 'STANDARD',
          creationDate: new Date(),
        },
      ],
    });
    sfn.on(ListExecutionsCommand, { stateMachineArn: 'arn:deploy' }).resolves({ executions: [] });
    sfn.on(ListExecutionsCommand, { stateMachineArn: 'arn:release' }).resolves({
      executions: [
        {
          executionArn: arn,
          stateMachineArn: 'arn:release',
          name: 'r-1',
          status: 'RUNNING',
          startDate: new Date(t0),
        },
      ],
    });
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn: arn,
      name: 'r-1',
      status: 'FAILED',
      error: 'RolloutFailed',
      cause: 'circuit breaker',
      input: '{"app":"starter","stage":"dev","image":"x"}',
      startDate: new Date(t0),
      stateMachineArn: 'arn:release',
    });
    const t = captureIo();
    expect(
      await watchCommand(['starter', 'dev', '--aws'], t.io, { sfn: sfn as unknown as SFNClient, pollMs: 1 }),
    ).toBe(1);
    expect(t.err()).toBe('FAILED: RolloutFailed: circuit breaker\n');
  });
});

describe('stackpilot watch: usage and no sandbox', () => {
  it.each([
    [['watch', 'a', 'b', 'c'], /unexpected argument c/],
    [['watch', 'x', '--timeout', 'never'], /--timeout must be a positive number of seconds, got never/],
  ])('exits 2 naming the fix for %j', async (argv, message) => {
    const t = captureIo();
    expect(await main([...argv, '--url', 'http://127.0.0.1:9'], t.io)).toBe(2);
    expect(t.err()).toMatch(message);
  });

  it('says that no sandbox answers (exit 1)', async () => {
    const t = captureIo();
    expect(await main(['watch', 'starter', 'dev', '--url', 'http://127.0.0.1:9'], t.io)).toBe(1);
    expect(t.err()).toBe(
      'stackpilot watch: no sandbox answers at http://127.0.0.1:9: start one with `npm start` (or pass --url)\n',
    );
  });
});
