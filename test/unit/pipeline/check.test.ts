import { describe, expect, it } from 'vitest';
import { assessCheck, type CheckFacts } from '../../../shared/pipeline/check.ts';
import {
  type ActionAttempt,
  actionReason,
  describeOutcome,
  failedAction,
} from '../../../shared/pipeline/failure.ts';
import { interpretStatus } from '../../../shared/pipeline/status.ts';

const COMMIT = '9fceb02d0ae598e95dc970b74767f19372d61af8';
const facts = (over: Partial<CheckFacts>): CheckFacts => ({
  pipelineName: 'stackpilot-starter-dev',
  pipelineExecutionId: 'exec-1',
  commit: COMMIT,
  status: 'InProgress',
  elapsedSeconds: 0,
  limitSeconds: 3600,
  ...over,
});

const buildFailed: ActionAttempt = {
  stage: 'Build',
  action: 'Build',
  status: 'Failed',
  lastUpdateTime: new Date('2026-11-21T10:03:00Z'),
  errorMessage: 'Error while executing command: docker build .',
  summary: 'Build terminated with state: FAILED',
};

describe('pipeline status', () => {
  it.each([
    ['InProgress', { done: false, failed: false, error: null }],
    ['Stopping', { done: false, failed: false, error: null }],
    ['Succeeded', { done: true, failed: false, error: null }],
    ['Failed', { done: true, failed: true, error: 'PipelineFailed' }],
    ['Stopped', { done: true, failed: true, error: 'PipelineStopped' }],
    ['Superseded', { done: true, failed: true, error: 'PipelineSuperseded' }],
    ['Cancelled', { done: true, failed: true, error: 'PipelineCancelled' }],
    ['SomethingNew', { done: false, failed: false, error: null }],
    [undefined, { done: false, failed: false, error: null }],
  ])('maps %s', (status, meaning) => {
    expect(interpretStatus(status)).toEqual(meaning);
  });
});

describe('failed action', () => {
  it('blames the most recent failure when a stage was retried', () => {
    const first = {
      ...buildFailed,
      errorMessage: 'first try',
      lastUpdateTime: new Date('2026-11-21T10:01:00Z'),
    };
    const attempts: ActionAttempt[] = [
      { stage: 'Source', action: 'Source', status: 'Succeeded' },
      first,
      buildFailed,
      { stage: 'Release', action: 'Release', status: 'Abandoned' },
    ];
    expect(failedAction(attempts)).toBe(buildFailed);
    expect(failedAction(attempts.reverse())).toBe(buildFailed);
  });

  it('finds nothing to blame when no action failed', () => {
    expect(failedAction([{ stage: 'Source', action: 'Source', status: 'Succeeded' }])).toBeUndefined();
  });

  it('joins the error message and the summary in one line, once each', () => {
    expect(actionReason({ ...buildFailed, errorMessage: 'line one\n  line two' })).toBe(
      'line one line two; Build terminated with state: FAILED',
    );
    expect(actionReason({ ...buildFailed, summary: buildFailed.errorMessage })).toBe(
      'Error while executing command: docker build .',
    );
    expect(actionReason({ stage: 'Build', action: 'Build', status: 'Failed' })).toBe(
      'the action gave no reason',
    );
  });

  it('says CodePipeline gave no reason when no action is to blame', () => {
    expect(
      describeOutcome({
        pipelineName: 'p',
        pipelineExecutionId: 'e',
        commit: COMMIT,
        error: 'PipelineFailed',
        status: 'Failed',
      }),
    ).toBe(`pipeline p execution e failed for commit ${COMMIT}: CodePipeline gave no reason`);
  });
});

describe('assessCheck', () => {
  it('keeps waiting, 10 s after the start, while the pipeline runs', () => {
    expect(assessCheck(facts({}))).toMatchObject({
      done: false,
      failed: false,
      error: null,
      nextWaitSeconds: 10,
    });
  });

  it('succeeds when the pipeline succeeded', () => {
    expect(assessCheck(facts({ status: 'Succeeded', elapsedSeconds: 250.4 }))).toEqual({
      pipelineName: 'stackpilot-starter-dev',
      pipelineExecutionId: 'exec-1',
      status: 'Succeeded',
      done: true,
      failed: false,
      error: null,
      stage: null,
      action: null,
      reason: null,
      cause: null,
      elapsedSeconds: 250,
      nextWaitSeconds: 113,
    });
  });

  it('fails naming the stage, action and reason of a failed pipeline', () => {
    const check = assessCheck(facts({ status: 'Failed', actions: [buildFailed] }));
    expect(check).toMatchObject({
      done: true,
      failed: true,
      error: 'PipelineFailed',
      stage: 'Build',
      action: 'Build',
      reason: 'Error while executing command: docker build .; Build terminated with state: FAILED',
    });
    expect(check.cause).toBe(
      `pipeline stackpilot-starter-dev execution exec-1 failed in stage Build, action Build, for commit ${COMMIT}: ` +
        'Error while executing command: docker build .; Build terminated with state: FAILED',
    );
  });

  it('fails with PipelineStopped and the status summary of a stopped pipeline', () => {
    const check = assessCheck(facts({ status: 'Stopped', statusSummary: 'Stopped by ops: bad image' }));
    expect(check).toMatchObject({
      error: 'PipelineStopped',
      stage: null,
      reason: 'Stopped by ops: bad image',
    });
    expect(check.cause).toBe(
      `pipeline stackpilot-starter-dev execution exec-1 was stopped before it released commit ${COMMIT}: Stopped by ops: bad image`,
    );
  });

  it('gives up with PipelineTimedOut once the wait limit has passed', () => {
    const check = assessCheck(facts({ status: 'InProgress', elapsedSeconds: 3605 }));
    expect(check).toMatchObject({ done: true, failed: true, error: 'PipelineTimedOut' });
    expect(check.cause).toBe(
      `gave up waiting for pipeline stackpilot-starter-dev execution exec-1 after 60 minutes (status InProgress); commit ${COMMIT} may still be released: watch the pipeline`,
    );
  });

  it('reports a pipeline that finished after the limit as finished, not timed out', () => {
    expect(assessCheck(facts({ status: 'Succeeded', elapsedSeconds: 4000 }))).toMatchObject({
      done: true,
      failed: false,
    });
  });
});
