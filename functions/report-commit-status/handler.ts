import { secretsManagerClient } from '#shared/aws/clients.ts';
import { getSecretText } from '#shared/aws/secrets.ts';
import { CommitStatusReporter } from '#shared/commit-status/report.ts';
import { sendStatusRequest } from '#shared/commit-status/request.ts';
import { runtimeConfig } from '#shared/config.ts';
import { instrument, logger } from '#shared/powertools.ts';

const reporter = new CommitStatusReporter({
  config: () => runtimeConfig(),
  secretText: (secretId) => getSecretText(secretId, secretsManagerClient),
  send: (request) => sendStatusRequest(request),
  log: {
    info: (message, attributes) => logger.info(message, attributes ?? {}),
    warn: (message, attributes) => logger.warn(message, attributes ?? {}),
    error: (message, attributes) => logger.error(message, attributes ?? {}),
  },
});

/**
 * Target of the rule on the `deploy` state machine's "Step Functions Execution Status Change"
 * events: sets the commit status of the pushed commit (GitHub or GitLab). Never fails: a status
 * that cannot be set is logged and counted, and the deploy goes on.
 */
export const handler = instrument(async (event: unknown) => reporter.report(event));
