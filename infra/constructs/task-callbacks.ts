import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { deploymentEndPattern, pipelineExecutionEndPattern } from '#events/task-events.ts';
import { CALLBACK_BUCKET_ENV } from '#shared/callbacks/store.ts';
import { stateMachineName } from '#shared/naming.ts';
import { acknowledge, arnToken, wildcardResource } from './nag.ts';
import { toEventPattern } from './scale-workflow.ts';
import { StackpilotFunction } from './stackpilot-function.ts';

/** Key prefix of the tokens and outcomes in the callback bucket (`callbacks/<kind>/<id>/…json`). */
export const CALLBACK_PREFIX = 'callbacks';

/** The state machines whose waits the callbacks resume. */
const WAITING_MACHINES = ['deploy', 'release'] as const;

export interface TaskCallbacksProps {
  /**
   * Where the tokens and outcomes are kept (under `callbacks/`): the control plane's source
   * bucket (versioned, encrypted, access-logged; no new store to run).
   */
  readonly bucket: s3.IBucket;
}

/**
 * The callback path of the `deploy` and `release` waits: the await-event function (Task of
 * their `.waitForTaskToken` states: stores the token under the pipeline execution id or ECS
 * deployment id) and the relay (target of the rules on CodePipeline's execution-state and
 * ECS's deployment-state events: records the outcome and resumes the waiting execution).
 * Both may send task results only to the two state machines, and touch only `callbacks/`.
 */
export class TaskCallbacks extends Construct {
  readonly awaitFunction: StackpilotFunction;
  readonly relayFunction: StackpilotFunction;
  readonly pipelineEndRule: events.Rule;
  readonly deploymentEndRule: events.Rule;

  constructor(scope: Construct, id: string, props: TaskCallbacksProps) {
    super(scope, id);
    const stack = Stack.of(this);
    // By name, not by reference: the state machines reference the await function.
    const machineArns = WAITING_MACHINES.map((kind) =>
      stack.formatArn({
        service: 'states',
        resource: 'stateMachine',
        resourceName: stateMachineName(kind),
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      }),
    );
    const environment = { [CALLBACK_BUCKET_ENV]: props.bucket.bucketName };
    this.awaitFunction = new StackpilotFunction(this, 'AwaitEvent', {
      folder: 'await-event',
      description: 'stackpilot: stores the task token of a deploy or release wait where the relay finds it',
      timeout: Duration.seconds(30),
      environment,
    });
    this.relayFunction = new StackpilotFunction(this, 'RelayTaskEvent', {
      folder: 'relay-task-event',
      description: 'stackpilot: resumes the deploy or release waiting for a pipeline or deployment end event',
      timeout: Duration.seconds(30),
      environment,
    });
    for (const fn of [this.awaitFunction, this.relayFunction]) {
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'KeepCallbacks',
          actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
          resources: [props.bucket.arnForObjects(`${CALLBACK_PREFIX}/*`)],
        }),
      );
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'ResumeWaitingExecutions',
          actions: ['states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat'],
          resources: machineArns,
        }),
      );
      acknowledge(
        fn.role,
        'Token and outcome keys name a pipeline execution id or ECS deployment id, known only at run time: the statement is limited to callbacks/ of the bucket.',
        wildcardResource(`${arnToken(props.bucket)}/${CALLBACK_PREFIX}/*`),
      );
    }
    // EventBridge retries a failed delivery (a throttled S3 or Step Functions call) for up to two hours.
    const target = () =>
      new targets.LambdaFunction(this.relayFunction, { retryAttempts: 8, maxEventAge: Duration.hours(2) });
    this.pipelineEndRule = new events.Rule(this, 'PipelineEndRule', {
      description: 'stackpilot: a stackpilot-* pipeline execution ended: resume the deploy waiting for it',
      eventPattern: toEventPattern(pipelineExecutionEndPattern),
      targets: [target()],
    });
    this.deploymentEndRule = new events.Rule(this, 'DeploymentEndRule', {
      description:
        'stackpilot: a deployment of a stackpilot-* service ended: resume the release waiting for it',
      eventPattern: toEventPattern(deploymentEndPattern),
      targets: [target()],
    });
  }
}
