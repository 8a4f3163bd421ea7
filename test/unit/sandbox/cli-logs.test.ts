import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  ClusterNotFoundException,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../../sandbox/cli.ts';
import { formatEvent, parseDuration } from '../../../sandbox/commands/app-logs.ts';
import { logsCommand } from '../../../sandbox/commands/logs.ts';

function io(isTTY = false) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: {
      stdout: { write: (t: string) => out.push(t), isTTY },
      stderr: { write: (t: string) => err.push(t) },
    },
    out: () => out.join(''),
    err: () => err.join(''),
  };
}

const ecsMock = mockClient(ECSClient);
const logsMock = mockClient(CloudWatchLogsClient);
const group = 'StackpilotStarterDev-ClusterLogs-0a1b2c';
const stream = (task: string) => `dev/app/${task}`;
const taskA = '5f2b9e0c7d1a4e3f8b6c0d9e1f2a3b4c';
const taskB = '0123456789abcdef0123456789abcdef';

function deployedStage() {
  ecsMock
    .on(DescribeServicesCommand, { cluster: 'stackpilot-starter-dev', services: ['stackpilot-starter-dev'] })
    .resolves({
      services: [
        {
          status: 'ACTIVE',
          taskDefinition: 'arn:aws:ecs:us-east-1:123456789012:task-definition/stackpilot-starter-dev:7',
        },
      ],
    });
  ecsMock.on(DescribeTaskDefinitionCommand).resolves({
    taskDefinition: {
      containerDefinitions: [
        {
          name: 'app',
          logConfiguration: {
            logDriver: 'awslogs',
            options: { 'awslogs-group': group, 'awslogs-stream-prefix': 'dev' },
          },
        },
      ],
    },
  });
}

afterEach(() => {
  ecsMock.reset();
  logsMock.reset();
});

describe('stackpilot logs <app> <stage> --aws', () => {
  it("reads the log group of the service's task definition, every page, each line prefixed by its task", async () => {
    deployedStage();
    logsMock
      .on(FilterLogEventsCommand, { logGroupName: group, nextToken: undefined })
      .resolves({
        events: [
          {
            logStreamName: stream(taskA),
            timestamp: Date.UTC(2026, 0, 1, 12, 0, 1),
            message: 'listening on 8080\n',
            eventId: '1',
          },
        ],
        nextToken: 'page-2',
      })
      .on(FilterLogEventsCommand, { logGroupName: group, nextToken: 'page-2' })
      .resolves({
        events: [
          {
            logStreamName: stream(taskB),
            timestamp: Date.UTC(2026, 0, 1, 12, 0, 2),
            message: 'GET / 200',
            eventId: '2',
          },
        ],
      });
    const t = io();
    const code = await logsCommand(['starter', 'dev', '--aws', '--since', '10m'], t.io, {
      ecs: new ECSClient({}),
      logs: new CloudWatchLogsClient({}),
      now: () => Date.UTC(2026, 0, 1, 12, 5),
    });
    expect(code).toBe(0);
    expect(t.out()).toBe('12:00:01 5f2b9e0c listening on 8080\n12:00:02 01234567 GET / 200\n');
    expect(logsMock).toHaveReceivedCommandWith(FilterLogEventsCommand, {
      logGroupName: group,
      startTime: Date.UTC(2026, 0, 1, 11, 55),
    });
  });

  it('--follow polls from the newest timestamp and prints each event once', async () => {
    deployedStage();
    const first = { logStreamName: stream(taskA), timestamp: 1000, message: 'one', eventId: 'e1' };
    const second = { logStreamName: stream(taskA), timestamp: 2000, message: 'two', eventId: 'e2' };
    const controller = new AbortController();
    const t = io();
    let polls = 0;
    logsMock.on(FilterLogEventsCommand).callsFake((input: { startTime?: number }) => {
      polls += 1;
      if (polls >= 4) controller.abort();
      const events = polls === 1 ? [first] : polls === 2 ? [first] : [first, second];
      return {
        events: events.filter((e) => input.startTime === undefined || e.timestamp >= input.startTime),
      };
    });
    const code = await logsCommand(['starter', 'dev', '--aws', '--follow', '--json'], t.io, {
      ecs: new ECSClient({}),
      logs: new CloudWatchLogsClient({}),
      pollMs: 1,
      signal: controller.signal,
    });
    expect(code).toBe(0);
    expect(
      t
        .out()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).message),
    ).toEqual(['one', 'two']);
    const calls = logsMock.commandCalls(FilterLogEventsCommand).map((c) => c.args[0].input.startTime);
    expect(calls.slice(0, 3)).toEqual([undefined, 1000, 1000]);
  });

  it('says the stage is not deployed when its cluster is missing (a CommandError: exit 1)', async () => {
    ecsMock
      .on(DescribeServicesCommand)
      .rejects(new ClusterNotFoundException({ message: 'Cluster not found.', $metadata: {} }));
    await expect(
      logsCommand(['starter', 'dev', '--aws'], io().io, {
        ecs: new ECSClient({}),
        logs: new CloudWatchLogsClient({}),
      }),
    ).rejects.toThrow('no cluster stackpilot-starter-dev: is starter/dev deployed (npx cdk deploy --all)?');
  });
});

describe('stackpilot logs: usage', () => {
  it.each([
    [
      ['logs'],
      /logs needs <app> <stage> \(the tasks' output, e\.g\. stackpilot logs starter dev\) or an execution name/,
    ],
    [
      ['logs', 'starter', 'dev', '--since', 'yesterday'],
      /--since takes a duration such as 30s, 10m, 2h or 1d, got yesterday/,
    ],
    [
      ['logs', 'deploy-1', '--follow'],
      /--follow go with <app> <stage>, e\.g\. stackpilot logs deploy-1 dev --follow/,
    ],
    [['logs', 'starter', 'dev', 'extra'], /unexpected argument extra/],
    [['history'], /history needs the execution name/],
  ])('exits 2 naming the fix for %j', async (argv, message) => {
    const t = io();
    expect(await main([...argv, '--url', 'http://127.0.0.1:9'], t.io)).toBe(2);
    expect(t.err()).toMatch(message);
  });

  it('says that no sandbox answers (exit 1) for the tasks of a stage and for an execution', async () => {
    for (const argv of [
      ['logs', 'starter', 'dev'],
      ['history', 'deploy-1'],
    ]) {
      const t = io();
      expect(await main([...argv, '--url', 'http://127.0.0.1:9'], t.io)).toBe(1);
      expect(t.err()).toContain('no sandbox answers at http://127.0.0.1:9');
    }
  });

  it('reads durations and colors the task only on a terminal', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('10m')).toBe(600_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('10')).toBeUndefined();
    const event = { logStreamName: stream(taskA), timestamp: 0, message: 'hi' };
    expect(formatEvent(event, { json: false, color: false })).toBe('00:00:00 5f2b9e0c hi');
    expect(formatEvent(event, { json: false, color: true })).toBe('00:00:00 \x1b[36m5f2b9e0c\x1b[0m hi');
  });
});
