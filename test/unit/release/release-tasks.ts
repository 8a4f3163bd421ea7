/** The `release` state machine's Task handlers wired to a {@link FakeAccount} and its virtual clock. */
import { checkDeployment } from '../../../functions/check-deployment/handler.ts';
import { prepareRelease } from '../../../functions/prepare-release/handler.ts';
import { recordRelease } from '../../../functions/record-release/handler.ts';
import { registerReleaseRevision } from '../../../functions/register-task-definition/handler.ts';
import { rollBackRelease } from '../../../functions/roll-back-release/handler.ts';
import { updateService } from '../../../functions/update-service/handler.ts';
import { toTaskError } from '../../../shared/errors.ts';
import type { FakeAccount } from './fake-account.ts';

/**
 * The release step functions as Lambda runs them (transient errors become TransientError),
 * on the account's virtual clock: each Check step first moves the clock by the wait of the
 * Wait state before it. Shared by the release path tests and the workflow-cost benchmark.
 */
export function tasks(a: FakeAccount) {
  const now = () => a.now;
  const task =
    <T>(fn: (input: unknown) => Promise<T>) =>
    async (input: unknown) => {
      try {
        return await fn(input);
      } catch (error) {
        throw toTaskError(error);
      }
    };
  const waited = new Set<string>();
  const check = task((input) => {
    // The Wait state before this Check waited `waitSeconds` (once per poll, not per retry).
    const { deployment } = input as {
      deployment: { deploymentId: string; polls: number; waitSeconds: number };
    };
    const poll = `${deployment.deploymentId}#${deployment.polls}`;
    if (!waited.has(poll)) {
      waited.add(poll);
      a.advance(deployment.waitSeconds);
    }
    return checkDeployment(input, { now });
  });
  return {
    'Prepare Release': task((input) => prepareRelease(input, { now })),
    'Register Task Definition': task(registerReleaseRevision),
    'Update Service': task((input) => updateService(input, { now })),
    'Check Deployment': check,
    'Roll Back': task((input) => rollBackRelease(input, { now })),
    'Check Rollback': check,
    'Record Release': task((input) => recordRelease(input, { now })),
    'Record Failed Release': task((input) => recordRelease(input, { now })),
  };
}
