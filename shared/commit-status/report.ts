/**
 * Reports a deploy execution's status change on its commit. Never throws: a status that cannot
 * be reported is logged (with {@link STATUS_FAILED_METRIC}, which a metric filter counts) and
 * the deploy goes on, since the status is the deploy's news, not part of it.
 */
import { executionStatusChangeSchema } from '../../events/step-functions-execution.ts';
import { commitStatusTokenSecret, type StackpilotConfig } from '../config.ts';
import { type StatusRequest, statusRequest } from './request.ts';
import { type CommitState, commitStatusFor, STATUS_FAILED_METRIC } from './status.ts';

export interface ReporterLog {
  info(message: string, attributes?: Record<string, unknown>): void;
  warn(message: string, attributes?: Record<string, unknown>): void;
  error(message: string, attributes?: Record<string, unknown>): void;
}

export interface ReporterDeps {
  readonly config: () => StackpilotConfig;
  /** The text of a Secrets Manager secret (name or ARN). */
  readonly secretText: (secretId: string) => Promise<string>;
  /** Sends the request; resolves with the HTTP status, throws on anything but 2xx. */
  readonly send: (request: StatusRequest) => Promise<number>;
  readonly log: ReporterLog;
}

export type ReportOutcome =
  | {
      readonly reported: true;
      readonly state: CommitState;
      readonly context: string;
      readonly httpStatus: number;
    }
  | { readonly reported: false; readonly reason: string };

/** One per function instance: it remembers which apps it already said have no token. */
export class CommitStatusReporter {
  private readonly toldNoToken = new Set<string>();

  constructor(private readonly deps: ReporterDeps) {}

  async report(event: unknown): Promise<ReportOutcome> {
    const { log } = this.deps;
    const parsed = executionStatusChangeSchema.safeParse(event);
    if (!parsed.success) {
      const reason = `not a Step Functions Execution Status Change: ${parsed.error.issues[0]?.message ?? 'bad shape'}`;
      log.warn('no commit status', { reason });
      return { reported: false, reason };
    }
    const report = commitStatusFor(parsed.data);
    if ('skipped' in report) {
      log.info('no commit status', { reason: report.skipped });
      return { reported: false, reason: report.skipped };
    }
    const { app, stage, commit, state, context } = report;
    let tokenSecret: string | undefined;
    try {
      const appConfig = this.deps.config().apps[app];
      if (!appConfig) return this.skip(`app ${app} is not in stackpilot.yml`, report);
      tokenSecret = commitStatusTokenSecret(appConfig);
    } catch (error) {
      return this.failed(`the configuration cannot be read: ${(error as Error).message}`, report);
    }
    if (!tokenSecret) {
      const reason = `app ${app} has no commit status token (commitStatus.tokenSecret or repository.tokenSecret in stackpilot.yml): no status is reported`;
      if (!this.toldNoToken.has(app)) {
        this.toldNoToken.add(app);
        log.warn('no commit status', { reason });
      }
      return { reported: false, reason };
    }
    let token: string;
    try {
      token = (await this.deps.secretText(tokenSecret)).trim();
    } catch (error) {
      return this.failed(
        `cannot read the token secret ${tokenSecret}: ${(error as Error).name}: ${(error as Error).message}`,
        report,
      );
    }
    let request: StatusRequest;
    try {
      request = statusRequest(report, token);
    } catch (error) {
      return this.failed((error as Error).message, report);
    }
    try {
      const httpStatus = await this.deps.send(request);
      log.info('commit status set', { app, stage, commit, state, context, httpStatus });
      return { reported: true, state, context, httpStatus };
    } catch (error) {
      return this.failed((error as Error).message, report);
    }
  }

  private skip(reason: string, report: { app: string; stage: string }): ReportOutcome {
    this.deps.log.warn('no commit status', { reason, app: report.app, stage: report.stage });
    return { reported: false, reason };
  }

  private failed(
    reason: string,
    report: { app: string; stage: string; commit: string; state: CommitState },
  ): ReportOutcome {
    this.deps.log.error('commit status not set', {
      metric: STATUS_FAILED_METRIC,
      reason,
      app: report.app,
      stage: report.stage,
      commit: report.commit,
      state: report.state,
    });
    return { reported: false, reason };
  }
}
