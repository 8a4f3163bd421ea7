/**
 * The alert and commit status patterns against the AWS sample events, with the sandbox's
 * matcher (`npm run test:aws` checks the same on moto), and variants that must not match.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildFailedPattern } from '../../../events/codebuild.ts';
import { taskExitedPattern } from '../../../events/ecs-task.ts';
import { releaseFailedPattern } from '../../../events/release-alert.ts';
import {
  EXECUTION_STATUSES,
  executionStatusChangePattern,
  UNSUCCESSFUL_STATUSES,
} from '../../../events/step-functions-execution.ts';
import { matchesPattern } from '../../../sandbox/event-pattern.ts';

// biome-ignore lint/suspicious/noExplicitAny: AWS events are untyped JSON.
const sample = (name: string): Record<string, any> =>
  JSON.parse(readFileSync(new URL(`../../../events/samples/${name}`, import.meta.url), 'utf8'));

const DEPLOY = 'arn:aws:states:us-east-1:123456789012:stateMachine:stackpilot-deploy';
const RELEASE = 'arn:aws:states:us-east-1:123456789012:stateMachine:stackpilot-release';
const CLUSTER = 'arn:aws:ecs:us-east-1:123456789012:cluster/stackpilot-starter-dev';

describe('alert and commit status patterns on the samples', () => {
  it('sends every deploy status change, and no release one, to the commit status', () => {
    const pattern = executionStatusChangePattern([DEPLOY], EXECUTION_STATUSES);
    const running = sample('step-functions-execution-running.json');
    expect(matchesPattern(pattern, running)).toBe(true);
    expect(matchesPattern(pattern, sample('step-functions-execution-failed.json'))).toBe(false);
  });

  it('routes a failed release, not a succeeded one', () => {
    const pattern = executionStatusChangePattern([RELEASE], UNSUCCESSFUL_STATUSES);
    const failed = sample('step-functions-execution-failed.json');
    expect(matchesPattern(pattern, failed)).toBe(true);
    expect(matchesPattern(pattern, { ...failed, detail: { ...failed.detail, status: 'SUCCEEDED' } })).toBe(
      false,
    );
  });

  it('alerts a stage on its own failed release only', () => {
    const event = sample('stackpilot-release-failed.json');
    expect(matchesPattern(releaseFailedPattern('starter', 'dev'), event)).toBe(true);
    expect(matchesPattern(releaseFailedPattern('starter', 'prod'), event)).toBe(false);
  });

  it("alerts a stage on its project's failed builds, not on a success or another project", () => {
    const event = sample('codebuild-build-failed.json');
    const pattern = buildFailedPattern('stackpilot-starter-dev');
    expect(matchesPattern(pattern, event)).toBe(true);
    expect(
      matchesPattern(pattern, { ...event, detail: { ...event.detail, 'build-status': 'SUCCEEDED' } }),
    ).toBe(false);
    expect(matchesPattern(buildFailedPattern('stackpilot-starter-prod'), event)).toBe(false);
  });

  it('alerts on a crashed task with a non-zero exit, not on exit 0 or a task the scheduler stopped', () => {
    const event = sample('ecs-task-stopped.json');
    const pattern = taskExitedPattern(CLUSTER);
    const container = event.detail.containers[0];
    expect(matchesPattern(pattern, event)).toBe(true);
    expect(
      matchesPattern(pattern, {
        ...event,
        detail: { ...event.detail, containers: [{ ...container, exitCode: 0 }] },
      }),
    ).toBe(false);
    expect(
      matchesPattern(pattern, {
        ...event,
        detail: {
          ...event.detail,
          stopCode: 'ServiceSchedulerInitiated',
          containers: [{ ...container, exitCode: 143 }],
        },
      }),
    ).toBe(false);
    expect(matchesPattern(taskExitedPattern(`${CLUSTER}-other`), event)).toBe(false);
  });
});
