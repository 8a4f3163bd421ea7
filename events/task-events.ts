/**
 * The AWS events that end a wait of the `deploy` and `release` state machines (samples:
 * `events/samples/codepipeline-execution-state-change.json`,
 * `events/samples/ecs-deployment-state-change.json`, shaped as in the AWS docs), and the
 * pattern of the rule that sends them to the relay. The sandbox's event bus routes by the
 * same pattern.
 */
import * as z from 'zod';
import { PREFIX } from './names.ts';

export const PIPELINE_EXECUTION_STATE_CHANGE = 'CodePipeline Pipeline Execution State Change';
export const ECS_DEPLOYMENT_STATE_CHANGE = 'ECS Deployment State Change';

/** Pipeline execution states after which the execution does not change any more (unless retried). */
export const PIPELINE_END_STATES = ['SUCCEEDED', 'FAILED', 'CANCELED', 'SUPERSEDED', 'STOPPED'] as const;
/** Deployment events that end a rollout: `rolloutState` COMPLETED or FAILED. */
export const DEPLOYMENT_END_EVENTS = ['SERVICE_DEPLOYMENT_COMPLETED', 'SERVICE_DEPLOYMENT_FAILED'] as const;

export const pipelineExecutionEventSchema = z.looseObject({
  'detail-type': z.literal(PIPELINE_EXECUTION_STATE_CHANGE),
  source: z.literal('aws.codepipeline'),
  time: z.string(),
  detail: z.looseObject({
    pipeline: z.string().min(1),
    'execution-id': z.string().min(1),
    state: z.string().min(1),
  }),
});

export const ecsDeploymentEventSchema = z.looseObject({
  'detail-type': z.literal(ECS_DEPLOYMENT_STATE_CHANGE),
  source: z.literal('aws.ecs'),
  time: z.string(),
  resources: z.array(z.string()),
  detail: z.looseObject({
    eventName: z.string().min(1),
    deploymentId: z.string().min(1),
    reason: z.string().optional(),
  }),
});

/** An event the relay acts on. */
export const taskEventSchema = z.union([pipelineExecutionEventSchema, ecsDeploymentEventSchema]);
export type TaskEvent = z.output<typeof taskEventSchema>;

/** EventBridge pattern (JSON form): a stackpilot pipeline's execution ended. */
export const pipelineExecutionEndPattern = {
  source: ['aws.codepipeline'],
  'detail-type': [PIPELINE_EXECUTION_STATE_CHANGE],
  detail: { pipeline: [{ prefix: `${PREFIX}-` }], state: [...PIPELINE_END_STATES] },
} as const;

/** EventBridge pattern (JSON form): a deployment of a stackpilot service ended. */
export const deploymentEndPattern = {
  source: ['aws.ecs'],
  'detail-type': [ECS_DEPLOYMENT_STATE_CHANGE],
  resources: [{ wildcard: `arn:aws*:ecs:*:*:service/${PREFIX}-*/${PREFIX}-*` }],
  detail: { eventName: [...DEPLOYMENT_END_EVENTS] },
} as const;
