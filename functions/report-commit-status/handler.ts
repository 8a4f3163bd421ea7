import { commitStatusDeps, reportCommitStatus } from '#shared/commit-status/steps.ts';
import { instrument } from '#shared/powertools.ts';

/** Built once per function instance: it remembers which apps it already said have no token. */
const deps = commitStatusDeps();

/**
 * Target of the rule on the `deploy` state machine's "Step Functions Execution Status Change"
 * events: sets the commit status of the pushed commit (GitHub or GitLab). Never fails: a status
 * that cannot be set is logged and counted, and the deploy goes on.
 */
export const handler = instrument(async (event: unknown) => reportCommitStatus(event, deps));
