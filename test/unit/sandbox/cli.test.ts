import { Readable } from 'node:stream';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListStateMachinesCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../../sandbox/cli.ts';
import { runCommand } from '../../../sandbox/commands/run.ts';

function io(stdin = '') {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: {
      stdout: { write: (t: string) => out.push(t) },
      stderr: { write: (t: string) => err.push(t) },
      stdin: Readable.from([Buffer.from(stdin)]),
    },
    out: () => out.join(''),
    err: () => err.join(''),
  };
}

describe('stackpilot CLI usage', () => {
  it.each([
    [[], /usage: stackpilot <command>/],
    [
      ['publish'],
      /unknown command publish; the commands are start, status, deploy, rollback, redeploy, promote, pr, watch, run, load, logs, history, cost, schema/,
    ],
    [['deploy'], /deploy needs <app> <stage>, e.g. stackpilot deploy starter dev/],
    [['promote', 'starter'], /promote needs <app> <from> <to>, e.g. stackpilot promote starter dev prod/],
    [
      ['deploy', 'starter', 'dev', '--commit', 'xyz'],
      /--commit must be a commit id \(lowercase hex digits\), got xyz/,
    ],
    [['deploy', 'Starter', 'dev'], /app "Starter" is not a name from stackpilot.yml/],
    [['deploy', 'starter', 'dev', '--config', 'x.yml'], /--config goes with --aws/],
    [
      ['deploy', 'starter', 'dev', '--aws', '--commit', 'abc1234'],
      /--commit with --aws must be a full commit id/,
    ],
    [['rollback', 'starter'], /rollback needs <app> <stage>/],
    [
      ['rollback', 'starter', 'dev', '--to', '0'],
      /--to must be a task-definition revision \(a positive integer\), got 0/,
    ],
    [['redeploy', 'starter', 'dev', 'extra'], /unexpected argument extra/],
    [
      ['redeploy', 'starter', 'dev', '--timeout', 'soon'],
      /--timeout must be a positive number of seconds, got soon/,
    ],
    [['status', '--bogus'], /stackpilot status: Unknown option '--bogus'/],
    [['run'], /run needs a state machine: deploy, release, scale or preview/],
    [['run', 'rollout', '--input', 'x.json'], /no state machine rollout/],
    [['run', 'deploy'], /run needs --input <file\|->/],
    [
      ['run', 'deploy', '--input', '/nonexistent/input.json'],
      /cannot read --input \/nonexistent\/input.json: ENOENT/,
    ],
    [['load', 'starter'], /load needs <app> <stage>/],
    [['load', 'starter', 'dev'], /load needs --cpu <percent>/],
    [['load', 'starter', 'dev', '--cpu', '120'], /--cpu must be a percentage from 0 to 100, got 120/],
    [['logs'], /logs needs <app> <stage>/],
    [['pr', 'merge', 'starter'], /pr needs open, update or close/],
    [['pr', 'open'], /pr open needs <app>/],
    [['pr', 'open', 'starter'], /name the pull request: --branch B \(or --number N\)/],
    [['pr', 'open', 'starter', '--branch', 'f', '--merged'], /--merged goes with close/],
    [['pr', 'close', 'starter', '--number', '0'], /--number must be a pull request number/],
    [['start', '--time-scale', '0'], /--time-scale must be a positive number, got 0/],
    [['start', '--port', 'abc'], /--port must be a port number, got abc/],
    [['status', '--limit', '0'], /--limit must be a positive integer, got 0/],
  ])('exits 2 with one line for %j', async (argv, message) => {
    const t = io();
    expect(await main(argv, t.io)).toBe(2);
    expect(t.err()).toMatch(message);
    expect(t.err().trim().split('\n').length === 1 || argv.length === 0).toBe(true);
  });

  it('refuses --input - that is not JSON', async () => {
    const t = io('{not json');
    expect(await main(['run', 'deploy', '--input', '-'], t.io)).toBe(2);
    expect(t.err()).toMatch(/--input \(stdin\) is not JSON/);
  });

  it('prints the usage of a command with --help and exits 0', async () => {
    for (const command of [
      'start',
      'status',
      'deploy',
      'rollback',
      'redeploy',
      'watch',
      'run',
      'load',
      'logs',
      'history',
      'cost',
      'schema',
    ]) {
      const t = io();
      expect(await main([command, '--help'], t.io)).toBe(0);
      expect(t.out()).toMatch(new RegExp(`usage: stackpilot ${command}`));
    }
  });

  it.each([
    [['status']],
    [['logs', 'deploy-1']],
    [['load', 'starter', 'dev', '--cpu', '50']],
    [['deploy', 'starter', 'dev']],
    [['rollback', 'starter', 'dev']],
    [['redeploy', 'starter', 'dev']],
    [['redeploy', 'starter', 'dev', '--image', 'x/stackpilot/starter:1']],
  ])('says in one line, exit 1, that no sandbox answers: %j', async (argv) => {
    const t = io();
    expect(await main([...argv, '--url', 'http://127.0.0.1:9'], t.io)).toBe(1);
    expect(t.err()).toBe(
      `stackpilot ${argv[0]}: no sandbox answers at http://127.0.0.1:9: start one with \`npm start\` (or pass --url)\n`,
    );
  });
});

describe('stackpilot run --aws', () => {
  const sfn = mockClient(SFNClient);
  afterEach(() => sfn.reset());
  const machine = 'arn:aws:states:eu-west-1:111122223333:stateMachine:stackpilot-release';
  const execution = 'arn:aws:states:eu-west-1:111122223333:execution:stackpilot-release:by-hand';

  function started() {
    sfn
      .on(ListStateMachinesCommand)
      .resolvesOnce({
        stateMachines: [{ name: 'other', stateMachineArn: 'x', type: 'STANDARD', creationDate: new Date() }],
        nextToken: 'p2',
      })
      .resolvesOnce({
        stateMachines: [
          {
            name: 'stackpilot-release',
            stateMachineArn: machine,
            type: 'STANDARD',
            creationDate: new Date(),
          },
        ],
      });
    sfn.on(StartExecutionCommand).resolves({ executionArn: execution, startDate: new Date() });
    sfn.on(GetExecutionHistoryCommand).resolves({
      events: [
        { id: 1, type: 'ExecutionStarted', timestamp: new Date() },
        {
          id: 2,
          type: 'TaskStateEntered',
          timestamp: new Date(),
          stateEnteredEventDetails: { name: 'Prepare Release' },
        },
      ],
    });
  }

  it('starts the deployed state machine, follows it and prints its output', async () => {
    started();
    sfn
      .on(DescribeExecutionCommand)
      .resolvesOnce({
        executionArn: execution,
        status: 'RUNNING',
        stateMachineArn: machine,
        startDate: new Date(),
      })
      .resolves({
        executionArn: execution,
        status: 'SUCCEEDED',
        stateMachineArn: machine,
        startDate: new Date(),
        output: '{"revision":7}',
      });
    const t = io('{"app":"starter","stage":"dev","action":"rollback"}');
    const code = await runCommand(['release', '--input', '-', '--aws', '--name', 'by-hand'], t.io, {
      sfn: sfn as unknown as SFNClient,
      pollMs: 1,
    });
    expect(code).toBe(0);
    expect(JSON.parse(t.out())).toEqual({ revision: 7 });
    expect(sfn).toReceiveCommandWith(StartExecutionCommand, {
      stateMachineArn: machine,
      name: 'by-hand',
      input: '{"app":"starter","stage":"dev","action":"rollback"}',
    });
    // The history is read on each poll; each state shows once.
    expect(t.err().match(/-> Prepare Release/g)).toHaveLength(1);
  });

  it('exits 1 with the Error and the readable Cause of a failed execution', async () => {
    started();
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn: execution,
      status: 'FAILED',
      stateMachineArn: machine,
      startDate: new Date(),
      error: 'NoPreviousRelease',
      cause: JSON.stringify({
        errorType: 'NoPreviousRelease',
        errorMessage: 'starter/dev has no earlier release',
        trace: [],
      }),
    });
    const t = io('{"app":"starter","stage":"dev","action":"rollback"}');
    expect(
      await runCommand(['release', '--input', '-', '--aws'], t.io, {
        sfn: sfn as unknown as SFNClient,
        pollMs: 1,
      }),
    ).toBe(1);
    expect(t.err()).toContain('FAILED: NoPreviousRelease: starter/dev has no earlier release');
  });

  it('says which state machine is missing from the account', async () => {
    sfn.on(ListStateMachinesCommand).resolves({ stateMachines: [] });
    const t = io('{}');
    await expect(
      runCommand(['scale', '--input', '-', '--aws'], t.io, { sfn: sfn as unknown as SFNClient }),
    ).rejects.toThrow(/no state machine stackpilot-scale in this account and region/);
  });
});

describe('the Node version note of stackpilot start', () => {
  it('says once, in one line, what to upgrade and why on Node 20, and nothing on 22', async () => {
    const { nodeVersionNote } = await import('../../../sandbox/commands/start.ts');
    expect(nodeVersionNote('20.20.2')).toMatch(
      /^note: Node 20\.20\.2 runs stackpilot today, but AWS SDK releases after the first week of January 2027 need Node 22 or later .*: upgrade Node to 22 LTS$/,
    );
    expect(nodeVersionNote('22.12.0')).toBeUndefined();
    expect(nodeVersionNote('24.1.0')).toBeUndefined();
  });
});
