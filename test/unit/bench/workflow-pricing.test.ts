import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { taskFunctions } from '../../../bench/workflow-cost.ts';
import {
  addCounts,
  countExecution,
  type ExecutionCount,
  fixedPollCount,
  functionFolderOf,
  gbSeconds,
  type HistoryEvent,
  loadPrices,
  priceOf,
} from '../../../bench/workflow-pricing.ts';

const entered = (name: string, type = 'Task'): HistoryEvent => ({
  type: 'StateEntered',
  state: { name, type },
});
const retried = (name: string, type = 'Task'): HistoryEvent => ({
  type: 'StateRetried',
  state: { name, type },
});
const exited = (name: string, type = 'Task'): HistoryEvent => ({
  type: 'StateExited',
  state: { name, type },
});

const FUNCTIONS: Record<string, string> = {
  'Update Service': 'update-service',
  'Check Deployment': 'check-deployment',
};
const functionOf = (state: string) => FUNCTIONS[state];

describe('countExecution', () => {
  it('bills a transition per state entered and per retry, and an invocation per Task attempt', () => {
    const count = countExecution(
      [
        { type: 'ExecutionStarted' },
        entered('Update Service'),
        retried('Update Service'),
        retried('Update Service'),
        exited('Update Service'),
        entered('Wait For Deployment', 'Wait'),
        entered('Check Deployment'),
        entered('Deployment Done?', 'Choice'),
        retried('Deployment Done?', 'Choice'),
        entered('Released', 'Succeed'),
        { type: 'ExecutionSucceeded' },
      ],
      functionOf,
    );
    expect(count).toEqual({
      transitions: 8,
      invocations: 4,
      invocationsByFunction: { 'update-service': 3, 'check-deployment': 1 },
    });
  });

  it('refuses a Task state that invokes no known function rather than leaving it unpriced', () => {
    expect(() => countExecution([entered('Mystery Step')], functionOf)).toThrow(
      'Task state "Mystery Step" invokes no known function',
    );
  });
});

describe('fixedPollCount', () => {
  const count: ExecutionCount = {
    transitions: 26,
    invocations: 10,
    invocationsByFunction: { 'check-deployment': 5, 'update-service': 1 },
  };

  it('replaces the backed-off turns by one turn per interval until the rollout is done', () => {
    // A 2-minute rollout polled every 15 s: 8 turns instead of 5, 3 transitions and 1 invocation each.
    const ref = fixedPollCount(
      count,
      { waits: 5, doneAfterSeconds: 120, statesPerTurn: 3 },
      'check-deployment',
    );
    expect(ref).toEqual({
      transitions: 26 + 3 * 3,
      invocations: 13,
      invocationsByFunction: { 'check-deployment': 8, 'update-service': 1 },
    });
  });

  it('counts the turn that sees a rollout done between two polls', () => {
    const ref = fixedPollCount(
      count,
      { waits: 1, doneAfterSeconds: 16, statesPerTurn: 3 },
      'check-deployment',
      15,
    );
    expect(ref.invocations - count.invocations).toBe(1);
  });

  it('refuses an interval that is not positive', () => {
    expect(() => fixedPollCount(count, { waits: 1, doneAfterSeconds: 60, statesPerTurn: 3 }, 'x', 0)).toThrow(
      'poll interval must be positive, got 0',
    );
  });

  it('property: the fixed poll costs exactly statesPerTurn transitions per invocation it adds or saves', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 1, max: 3600 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 120 }),
        (waits, done, perTurn, interval) => {
          const ref = fixedPollCount(
            count,
            { waits, doneAfterSeconds: done, statesPerTurn: perTurn },
            'check-deployment',
            interval,
          );
          const added = ref.invocations - count.invocations;
          expect(ref.transitions - count.transitions).toBe(added * perTurn);
          expect(added).toBe(Math.ceil(done / interval) - waits);
          expect(ref.invocationsByFunction['update-service']).toBe(1);
        },
      ),
    );
  });
});

describe('prices', () => {
  const prices = loadPrices();

  it('keeps a dated us-east-1 list-price table as data', () => {
    expect(prices).toMatchObject({
      region: 'us-east-1',
      currency: 'USD',
      stepFunctions: { workflowType: 'STANDARD', perThousandStateTransitions: 0.025 },
      lambda: { architecture: 'arm64', perMillionRequests: 0.2, perGbSecond: 0.0000133334 },
    });
    expect(prices.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it('refuses a table without a date, naming the field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'prices-'));
    const file = join(dir, 'prices.json');
    const { date: _date, ...undated } = JSON.parse(
      readFileSync(new URL('../../../bench/prices.json', import.meta.url), 'utf8'),
    );
    writeFileSync(file, JSON.stringify(undated));
    expect(() => loadPrices(file)).toThrow(/date/);
  });

  it('prices transitions, requests and GB-seconds at the list prices', () => {
    const count: ExecutionCount = {
      transitions: 40,
      invocations: 12,
      invocationsByFunction: { 'package-source': 2, 'check-pipeline': 10 },
    };
    const memory = { 'package-source': 1769, 'check-pipeline': 256 };
    const billed = { default: 100, 'package-source': 2000 };
    // 2 × 1769/1024 GB × 2 s + 10 × 0.25 GB × 0.1 s
    const gbs = 2 * (1769 / 1024) * 2 + 10 * 0.25 * 0.1;
    expect(gbSeconds(count.invocationsByFunction, memory, billed)).toBeCloseTo(gbs, 12);
    const price = priceOf(count, memory, prices, 1000, billed);
    expect(price.stepFunctions).toBeCloseTo(1000 * 40 * 0.000025, 12);
    expect(price.lambdaRequests).toBeCloseTo(1000 * 12 * 0.0000002, 12);
    expect(price.lambdaCompute).toBeCloseTo(1000 * gbs * 0.0000133334, 12);
    expect(price.total).toBeCloseTo(price.stepFunctions + price.lambdaRequests + price.lambdaCompute, 12);
  });

  it('refuses to price a function whose memory is not configured', () => {
    expect(() => gbSeconds({ 'new-step': 1 }, {})).toThrow('no configured memory for function new-step');
  });
});

describe('addCounts and functionFolderOf', () => {
  it('adds the executions of a deploy, function by function', () => {
    const a = { transitions: 20, invocations: 7, invocationsByFunction: { 'check-pipeline': 5, x: 2 } };
    const b = { transitions: 26, invocations: 10, invocationsByFunction: { 'check-deployment': 10 } };
    expect(addCounts(a, b)).toEqual({
      transitions: 46,
      invocations: 17,
      invocationsByFunction: { 'check-pipeline': 5, x: 2, 'check-deployment': 10 },
    });
  });

  it('maps a CDK substitution placeholder to its functions/ folder', () => {
    expect(functionFolderOf('CheckDeploymentFunctionArn')).toBe('check-deployment');
    expect(functionFolderOf('InterpretScalingEventFunctionArn')).toBe('interpret-scaling-event');
    expect(() => functionFolderOf('SourceBucket')).toThrow('SourceBucket is not a function ARN placeholder');
  });
});

describe('taskFunctions', () => {
  it.each(['deploy', 'release', 'scale'] as const)(
    'names an existing function folder for every Task state of %s.asl.json',
    (name) => {
      const functions = taskFunctions(name);
      expect(functions.size).toBeGreaterThan(0);
      for (const [state, folder] of functions) {
        const entry = new URL(`../../../functions/${folder}/handler.ts`, import.meta.url);
        expect(existsSync(entry), state).toBe(true);
      }
    },
  );
});
