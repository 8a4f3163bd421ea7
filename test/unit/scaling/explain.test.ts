/**
 * How a failed scaling is told (`explainScalingFailure`) and what Release Lease After Failure
 * does with the lease; the path tests (`test/unit/state-machines/scale.test.ts`) run it in the ASL.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GUARD_BUCKET_ENV } from '../../../shared/scaling/lease-store.ts';
import {
  explainScalingFailure,
  releaseAfterFailure,
  type ScalingDeps,
} from '../../../shared/scaling/steps.ts';

const lambdaError = (errorType: string, errorMessage: string) => ({
  Error: errorType,
  Cause: JSON.stringify({ errorType, errorMessage, trace: [] }),
});
const request = { app: 'starter', stage: 'dev', target: 'cluster' as const };

describe('explainScalingFailure', () => {
  it("tells a function's own error by its message, after the step's name", () => {
    expect(
      explainScalingFailure({ ScaleServiceError: lambdaError('TransientError', 'Rate exceeded') }),
    ).toEqual({
      Error: 'TransientError',
      Cause: 'Scale Service failed: Rate exceeded',
    });
  });

  it("keeps the Cause of the platform's errors, after the step's name", () => {
    const failed = { DrainCheckError: { Error: 'States.Timeout', Cause: 'The task timed out.' } };
    expect(explainScalingFailure(failed)).toEqual({
      Error: 'States.Timeout',
      Cause: 'Check Drain failed: The task timed out.',
    });
  });

  it('tells a failed restore over the error that led to it, with the command that sets the instance ACTIVE', () => {
    const failure = explainScalingFailure({
      InterpretResult: request,
      DrainResult: { containerInstanceArn: 'arn:ci/1', ec2InstanceId: 'i-1' },
      TerminateError: lambdaError('InstanceNotEmpty', 'not terminated'),
      RestoreAfterError: lambdaError('TransientError', 'Rate exceeded'),
    });
    expect(failure.Error).toBe('InstanceLeftDraining');
    expect(failure.Cause).toBe(
      'Restore Instance After Error failed: Rate exceeded; container instance arn:ci/1 (i-1) is still DRAINING in cluster stackpilot-starter-dev: set it ACTIVE with `aws ecs update-container-instances-state --cluster stackpilot-starter-dev --container-instances arn:ci/1 --status ACTIVE`',
    );
  });

  it("tells a timed-out drain by Check Drain's message", () => {
    expect(explainScalingFailure({ DrainCheckResult: { message: 'i-1 still runs 2 task(s)' } })).toEqual({
      Error: 'DrainTimeout',
      Cause: 'i-1 still runs 2 task(s)',
    });
  });
});

describe('releaseAfterFailure', () => {
  const sent: unknown[] = [];
  const deps = (send: (command: unknown) => Promise<unknown>) =>
    ({ clients: { s3: { send } as unknown as S3Client } }) as unknown as Pick<ScalingDeps, 'clients'>;
  beforeEach(() => {
    process.env[GUARD_BUCKET_ENV] = 'guard';
    sent.length = 0;
  });
  afterEach(() => {
    delete process.env[GUARD_BUCKET_ENV];
  });

  it('touches no lease before this execution took one', async () => {
    const failed = { InterpretResult: request, LeaseError: lambdaError('ConfigError', 'no bucket') };
    const result = await releaseAfterFailure(
      { owner: 'exec', failed },
      deps(async (c) => sent.push(c)),
    );
    expect(result).toMatchObject({
      Error: 'ConfigError',
      Cause: 'Acquire Lease failed: no bucket',
      released: false,
    });
    expect(sent).toEqual([]);
  });

  it('never hides the failure behind a lease it cannot give back', async () => {
    const failed = {
      InterpretResult: request,
      LeaseResult: { acquired: true },
      DrainError: lambdaError('TransientError', 'Rate exceeded'),
    };
    const result = await releaseAfterFailure(
      { owner: 'exec', failed },
      deps(async () => {
        throw Object.assign(new Error('Slow down'), { name: 'SlowDown' });
      }),
    );
    expect(result).toMatchObject({
      Error: 'TransientError',
      Cause: 'Drain Instance failed: Rate exceeded',
      released: false,
    });
    expect(result.reason).toContain('Slow down');
  });
});
