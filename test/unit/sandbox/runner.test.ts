import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  InvalidName,
  StateMachineDoesNotExist,
} from '@aws-sdk/client-sfn';
import type { Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type LambdaHandler, Runner, STATE_MACHINE_KINDS, TASK_FUNCTIONS } from '../../../sandbox/runner.ts';
import { type AslDefinition, placeholdersOf } from '../../../sandbox/state-machines.ts';

const fn = (folder: string) => `arn:aws:lambda:us-east-1:000000000000:function:stackpilot-${folder}`;

/** A small deploy-like machine: a task, a wait computed by it, a second task, a Fail on error. */
const definition: AslDefinition = {
  StartAt: 'Start Pipeline',
  States: {
    'Start Pipeline': {
      Type: 'Task',
      Resource: fn('start-pipeline'),
      ResultPath: '$.StartResult',
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.StartError', Next: 'Deploy Failed' }],
      Next: 'Wait For Pipeline',
    },
    'Wait For Pipeline': { Type: 'Wait', SecondsPath: '$.StartResult.waitSeconds', Next: 'Check Pipeline' },
    'Check Pipeline': {
      Type: 'Task',
      Resource: fn('check-pipeline'),
      ResultPath: '$.CheckResult',
      End: true,
    },
    'Deploy Failed': { Type: 'Fail', Error: 'PipelineFailed', Cause: 'the pipeline could not start' },
  },
};

describe('Runner', () => {
  let dataDir: string;
  let contexts: Context[];
  let gate: Promise<void>;
  let open: () => void;

  const handlers: Record<string, LambdaHandler> = {
    'start-pipeline': async (event, context) => {
      contexts.push(context);
      await gate;
      if ((event as { fail?: boolean }).fail) {
        const error = new Error('pipeline stackpilot-starter-dev does not exist');
        error.name = 'PipelineNotFound';
        throw error;
      }
      return { executionId: 'p-1', waitSeconds: 30 };
    },
    'check-pipeline': async () => ({ state: 'SUCCEEDED' }),
  };

  const runner = (options: Partial<ConstructorParameters<typeof Runner>[0]> = {}) =>
    new Runner({
      dataDir,
      accountId: '000000000000',
      region: 'us-east-1',
      timeScale: 1000,
      definitions: { deploy: definition },
      loadHandler: async (folder) => handlers[folder] as LambdaHandler,
      ...options,
    });

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'sandbox-runner-'));
    contexts = [];
    gate = Promise.resolve();
    open = () => undefined;
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('runs an execution with the in-process handlers and records it on disk', async () => {
    const r = runner();
    const started = r.start('deploy', { app: 'starter' }, 'delivery-1');
    expect(started.status).toBe('RUNNING');
    const ended = await r.wait(started.executionArn);
    expect(ended).toMatchObject({
      name: 'delivery-1',
      status: 'SUCCEEDED',
      executionArn: 'arn:aws:states:us-east-1:000000000000:execution:stackpilot-deploy:delivery-1',
      statesEntered: ['Start Pipeline', 'Wait For Pipeline', 'Check Pipeline'],
      output: { app: 'starter', StartResult: { executionId: 'p-1' }, CheckResult: { state: 'SUCCEEDED' } },
    });
    expect(ended.history.map((h) => h.type)).toContain('ExecutionSucceeded');
    expect(contexts[0]).toMatchObject({
      functionName: 'stackpilot-start-pipeline',
      invokedFunctionArn: fn('start-pipeline'),
    });
    const onDisk = JSON.parse(readFileSync(join(dataDir, 'executions/deploy/delivery-1.json'), 'utf8'));
    expect(onDisk).toMatchObject({ status: 'SUCCEEDED', stopDate: expect.any(String) });
  });

  it('records a failed execution with the Error and Cause of its Fail state', async () => {
    const r = runner();
    const ended = await r.wait(r.start('deploy', { fail: true }, 'bad').executionArn);
    expect(ended).toMatchObject({
      status: 'FAILED',
      error: 'PipelineFailed',
      cause: 'the pipeline could not start',
    });
    expect(ended.statesEntered).toEqual(['Start Pipeline', 'Deploy Failed']);
    const caught = ended.history.find((h) => h.type === 'StateFailed');
    expect(caught).toMatchObject({ state: 'Start Pipeline', error: 'PipelineNotFound' });
    expect(JSON.parse(caught?.cause ?? '{}').errorMessage).toBe(
      'pipeline stackpilot-starter-dev does not exist',
    );
  });

  it('treats the execution name as the idempotency key, as Step Functions does', async () => {
    gate = new Promise((resolve) => (open = resolve));
    const r = runner();
    const first = r.start('deploy', { app: 'starter' }, 'same');
    expect(r.start('deploy', { app: 'starter' }, 'same')).toBe(first);
    expect(() => r.start('deploy', { app: 'other' }, 'same')).toThrow(ExecutionAlreadyExists);
    open();
    await r.wait(first.executionArn);
    expect(() => r.start('deploy', { app: 'starter' }, 'same')).toThrow(/Execution Already Exists/);
    expect(contexts).toHaveLength(1);
  });

  it('refuses names Step Functions refuses', () => {
    expect(() => runner().start('deploy', {}, 'has space')).toThrow(InvalidName);
    expect(() => runner().start('deploy', {}, 'x'.repeat(81))).toThrow(InvalidName);
  });

  it('keeps executions across a restart and aborts those the stop interrupted', async () => {
    gate = new Promise((resolve) => (open = resolve));
    const first = runner();
    const done = first.start('deploy', { app: 'starter' }, 'finished');
    open();
    await first.wait(done.executionArn);
    gate = new Promise(() => undefined);
    first.start('deploy', { app: 'starter' }, 'interrupted');
    first.close();
    expect(() => first.start('deploy', {}, 'late')).toThrow(/stopping/);

    const second = runner();
    expect(second.list().map((r) => [r.name, r.status])).toEqual(
      expect.arrayContaining([
        ['finished', 'SUCCEEDED'],
        ['interrupted', 'ABORTED'],
      ]),
    );
    expect(second.byName('interrupted')?.cause).toMatch(/stopped/);
  });

  it('ends the waits of running executions when the sandbox stops, so the process can exit', async () => {
    // Unscaled, the wait would last 30 s; stopping must not wait for it.
    const r = runner({ timeScale: 1 });
    const record = r.start('deploy', { app: 'starter' }, 'long-wait');
    await expect.poll(() => r.get(record.executionArn)?.statesEntered.at(-1)).toBe('Wait For Pipeline');
    const stopped = performance.now();
    r.close();
    const ended = await r.wait(record.executionArn);
    expect(performance.now() - stopped).toBeLessThan(1000);
    expect(ended).toMatchObject({ status: 'ABORTED', error: 'States.Aborted' });
    expect(ended.statesEntered).not.toContain('Check Pipeline');
  });

  it('answers StartExecution and DescribeExecution with the SDK types and errors', async () => {
    const r = runner();
    const sfn = r.sfnCommands();
    const started = sfn.StartExecution({
      stateMachineArn: r.stateMachineArn('deploy'),
      name: 'from-webhook',
      input: '{"app":"starter"}',
    });
    await r.wait(started.executionArn as string);
    const described = sfn.DescribeExecution({ executionArn: started.executionArn });
    expect(described).toMatchObject({
      name: 'from-webhook',
      status: 'SUCCEEDED',
      input: '{"app":"starter"}',
    });
    expect(JSON.parse(described.output ?? '{}').CheckResult).toEqual({ state: 'SUCCEEDED' });
    expect(described.startDate).toBeInstanceOf(Date);
    expect(() =>
      sfn.StartExecution({
        stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:nope',
        input: '{}',
      }),
    ).toThrow(StateMachineDoesNotExist);
    expect(() =>
      sfn.DescribeExecution({
        executionArn: 'arn:aws:states:us-east-1:000000000000:execution:stackpilot-deploy:none',
      }),
    ).toThrow(ExecutionDoesNotExist);
  });

  it('maps every function placeholder of the ASL files to an existing handler', () => {
    for (const kind of STATE_MACHINE_KINDS) {
      for (const placeholder of placeholdersOf(kind)) {
        const folder = TASK_FUNCTIONS[placeholder];
        expect(folder, `${kind}: \${${placeholder}}`).toBeDefined();
        expect(existsSync(new URL(`../../../functions/${folder}/handler.ts`, import.meta.url))).toBe(true);
      }
    }
  });
});
