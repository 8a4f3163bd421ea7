import { Duration, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import {
  EXECUTION_STATUSES,
  executionStatusChangePattern,
  UNSUCCESSFUL_STATUSES,
} from '#events/step-functions-execution.ts';
import { STATUS_FAILED_METRIC } from '#shared/commit-status/status.ts';
import { commitStatusTokenSecret, type StackpilotConfig } from '#shared/config.ts';
import { toEventPattern } from './scale-workflow.ts';
import { secretArns } from './secret-arns.ts';
import { StackpilotFunction } from './stackpilot-function.ts';

/** CloudWatch namespace of stackpilot's own metrics. */
export const METRICS_NAMESPACE = 'stackpilot';

export interface ExecutionNotificationsProps {
  /** The validated `stackpilot.yml`: which token secrets the status function may read. */
  readonly config: StackpilotConfig;
  /** The `deploy` state machine, whose status changes become commit statuses. */
  readonly deployStateMachine: sfn.IStateMachine;
  /** The `release` state machine, whose failures become alerts of their stage. */
  readonly releaseStateMachine: sfn.IStateMachine;
}

/**
 * What the control plane tells people, from the state machines' "Step Functions Execution Status
 * Change" events (no change to the state machines themselves):
 *
 * - every status change of a `deploy` execution -> `report-commit-status`, which sets the pushed
 *   commit's status on GitHub or GitLab (pending when packaging starts, success or failure when
 *   the release ends). It may read exactly the token secrets `stackpilot.yml` names; a status it
 *   cannot set is counted in the `stackpilot` / `CommitStatusFailed` metric;
 * - a `release` execution that failed, timed out or was stopped -> `route-release-alert`, which
 *   puts a "stackpilot Release Failed" event naming the stage; each stage's rule sends it to the
 *   stage's alert topic (`StageAlerts`).
 */
export class ExecutionNotifications extends Construct {
  readonly reportCommitStatusFunction: StackpilotFunction;
  readonly commitStatusRule: events.Rule;
  readonly routeReleaseAlertFunction: StackpilotFunction;
  readonly releaseFailedRule: events.Rule;

  constructor(scope: Construct, id: string, props: ExecutionNotificationsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const target = (fn: StackpilotFunction) =>
      new targets.LambdaFunction(fn, { retryAttempts: 4, maxEventAge: Duration.hours(1) });

    // --- Commit status.
    this.reportCommitStatusFunction = new StackpilotFunction(this, 'ReportCommitStatus', {
      folder: 'report-commit-status',
      workflow: 'deploy',
      description: 'stackpilot deploy: sets the commit status of the pushed commit on GitHub or GitLab',
      timeout: Duration.seconds(20),
      config: props.config,
    });
    const tokenSecrets = [
      ...new Set(Object.values(props.config.apps).flatMap((app) => commitStatusTokenSecret(app) ?? [])),
    ];
    if (tokenSecrets.length > 0) {
      this.reportCommitStatusFunction.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'ReadCommitStatusTokens',
          actions: ['secretsmanager:GetSecretValue'],
          resources: tokenSecrets.flatMap((secret) => secretArns(stack, secret)),
        }),
      );
    }
    new logs.MetricFilter(this, 'CommitStatusFailures', {
      logGroup: this.reportCommitStatusFunction.logGroup,
      filterPattern: logs.FilterPattern.stringValue('$.metric', '=', STATUS_FAILED_METRIC),
      metricNamespace: METRICS_NAMESPACE,
      metricName: STATUS_FAILED_METRIC,
      metricValue: '1',
    });
    this.commitStatusRule = new events.Rule(this, 'CommitStatusRule', {
      description: 'stackpilot: every status change of a deploy execution sets the pushed commit status',
      eventPattern: toEventPattern(
        executionStatusChangePattern([props.deployStateMachine.stateMachineArn], EXECUTION_STATUSES),
      ),
      targets: [target(this.reportCommitStatusFunction)],
    });

    // --- Release alerts.
    this.routeReleaseAlertFunction = new StackpilotFunction(this, 'RouteReleaseAlert', {
      folder: 'route-release-alert',
      workflow: 'release',
      description: 'stackpilot release: sends a failed release to the alerts of its stage',
      timeout: Duration.seconds(20),
      // Its step's dependencies are the release's (releaseDeps()), which read the configuration.
      config: props.config,
    });
    this.routeReleaseAlertFunction.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'PutAlertEvents',
        actions: ['events:PutEvents'],
        resources: [stack.formatArn({ service: 'events', resource: 'event-bus', resourceName: 'default' })],
      }),
    );
    this.releaseFailedRule = new events.Rule(this, 'ReleaseFailedRule', {
      description: 'stackpilot: a release that failed, timed out or was stopped alerts its stage',
      eventPattern: toEventPattern(
        executionStatusChangePattern([props.releaseStateMachine.stateMachineArn], UNSUCCESSFUL_STATUSES),
      ),
      targets: [target(this.routeReleaseAlertFunction)],
    });
  }
}
