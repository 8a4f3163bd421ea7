/**
 * The commit-status feature's one step: reports a deploy execution's status change on its
 * commit. Never throws: a status that cannot be reported is logged (with
 * {@link STATUS_FAILED_METRIC}, which a metric filter counts) and the deploy goes on, since the
 * status is the deploy's news, not part of it. Takes the event and
 * `{clients, config, send, toldNoToken}`.
 */
import { executionStatusChangeSchema } from '#events/step-functions-execution.ts';
import { type Clients, secretsManagerClient } from '../aws/clients.ts';
import { getSecretText } from '../aws/secrets.ts';
import { commitStatusTokenSecret, runtimeConfig, type StackpilotConfig } from '../config.ts';
import { logger } from '../powertools.ts';
import { type StatusRequest, sendStatusRequest, statusRequest } from './request.ts';
import { type CommitState, commitStatusFor, STATUS_FAILED_METRIC } from './status.ts';

/** What the step uses: Secrets Manager (the tokens), the configuration, the HTTP call, and what it already said. */
export interface CommitStatusDeps {
  readonly clients: Pick<Clients, 'secretsManager'>;
  /**
   * The configuration, read per event: a configuration that cannot be read is a logged
   * "commit status not set", not a failed invocation.
   */
  readonly config: () => StackpilotConfig;
  /** Sends the request; resolves with the HTTP status, throws on anything but 2xx. */
  readonly send: (request: StatusRequest) => Promise<number>;
  /** The apps already said to have no token: one set per function instance, so it is said once per app. */
  readonly toldNoToken: Set<string>;
}

/**
 * The deployed function's dependencies: the shared client (the named one, not the `clients`
 * record, so the bundle carries only the SDK client it calls), the bundled configuration,
 * `fetch`. The handler builds them once, at module init, so `toldNoToken` lasts as long as
 * the function instance.
 */
export function commitStatusDeps(): CommitStatusDeps {
  return {
    clients: { secretsManager: secretsManagerClient },
    config: runtimeConfig,
    send: sendStatusRequest,
    toldNoToken: new Set(),
  };
}

export type ReportOutcome =
  | {
      readonly reported: true;
      readonly state: CommitState;
      readonly context: string;
      readonly httpStatus: number;
    }
  | { readonly reported: false; readonly reason: string };

/** Sets the commit status an execution status change reports, or logs why it sets none. */
export async function reportCommitStatus(event: unknown, deps: CommitStatusDeps): Promise<ReportOutcome> {
  const parsed = executionStatusChangeSchema.safeParse(event);
  if (!parsed.success) {
    const reason = `not a Step Functions Execution Status Change: ${parsed.error.issues[0]?.message ?? 'bad shape'}`;
    logger.warn('no commit status', { reason });
    return { reported: false, reason };
  }
  const report = commitStatusFor(parsed.data);
  if ('skipped' in report) {
    logger.info('no commit status', { reason: report.skipped });
    return { reported: false, reason: report.skipped };
  }
  const { app, stage, commit, state, context } = report;
  let tokenSecret: string | undefined;
  try {
    const appConfig = deps.config().apps[app];
    if (!appConfig) return skip(`app ${app} is not in stackpilot.yml`, report);
    tokenSecret = commitStatusTokenSecret(appConfig);
  } catch (error) {
    return failed(`the configuration cannot be read: ${(error as Error).message}`, report);
  }
  if (!tokenSecret) {
    const reason = `app ${app} has no commit status token (commitStatus.tokenSecret or repository.tokenSecret in stackpilot.yml): no status is reported`;
    if (!deps.toldNoToken.has(app)) {
      deps.toldNoToken.add(app);
      logger.warn('no commit status', { reason });
    }
    return { reported: false, reason };
  }
  let token: string;
  try {
    token = (await getSecretText(tokenSecret, deps.clients.secretsManager)).trim();
  } catch (error) {
    return failed(
      `cannot read the token secret ${tokenSecret}: ${(error as Error).name}: ${(error as Error).message}`,
      report,
    );
  }
  let request: StatusRequest;
  try {
    request = statusRequest(report, token);
  } catch (error) {
    return failed((error as Error).message, report);
  }
  try {
    const httpStatus = await deps.send(request);
    logger.info('commit status set', { app, stage, commit, state, context, httpStatus });
    return { reported: true, state, context, httpStatus };
  } catch (error) {
    return failed((error as Error).message, report);
  }
}

function skip(reason: string, report: { app: string; stage: string }): ReportOutcome {
  logger.warn('no commit status', { reason, app: report.app, stage: report.stage });
  return { reported: false, reason };
}

function failed(
  reason: string,
  report: { app: string; stage: string; commit: string; state: CommitState },
): ReportOutcome {
  logger.error('commit status not set', {
    metric: STATUS_FAILED_METRIC,
    reason,
    app: report.app,
    stage: report.stage,
    commit: report.commit,
    state: report.state,
  });
  return { reported: false, reason };
}
