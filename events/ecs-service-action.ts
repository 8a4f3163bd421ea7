/**
 * "ECS Service Action" events (sample: `events/samples/ecs-task-placement-failure.json`,
 * shaped as in the ECS docs), and the pattern of the rule that turns a stackpilot service's
 * `SERVICE_TASK_PLACEMENT_FAILURE` (no room on the cluster) into more cluster capacity.
 */
import * as z from 'zod';
import { eventIdSchema } from './cloudwatch-alarm.ts';
import { PREFIX } from './names.ts';

export const ECS_SERVICE_ACTION = 'ECS Service Action';
export const TASK_PLACEMENT_FAILURE = 'SERVICE_TASK_PLACEMENT_FAILURE';

export const ecsServiceActionSchema = z.looseObject({
  version: z.string(),
  /** The guard keys a placement failure by its id: bounded (EventBridge ids are UUIDs). */
  id: eventIdSchema,
  'detail-type': z.literal(ECS_SERVICE_ACTION),
  source: z.literal('aws.ecs'),
  account: z.string(),
  time: z.string(),
  region: z.string(),
  /** The service's ARN: `arn:aws:ecs:<region>:<account>:service/<cluster>/<service>`. */
  resources: z.array(z.string()).min(1),
  detail: z.looseObject({
    eventType: z.string(),
    eventName: z.string().min(1),
    clusterArn: z.string().min(1),
    createdAt: z.string().optional(),
    /** Why placement failed, e.g. `RESOURCE:CPU`, `RESOURCE:MEMORY`. */
    reason: z.string().optional(),
  }),
});

export type EcsServiceAction = z.output<typeof ecsServiceActionSchema>;

/** Cluster and service names from an ECS service ARN (long format), or undefined. */
export function parseServiceArn(arn: string): { cluster: string; service: string } | undefined {
  const match = /^arn:aws[a-z-]*:ecs:[^:]*:[^:]*:service\/([^/]+)\/([^/]+)$/.exec(arn);
  return match ? { cluster: match[1] as string, service: match[2] as string } : undefined;
}

/** EventBridge pattern (JSON form) of placement failures of stackpilot services. */
export const taskPlacementFailurePattern = {
  source: ['aws.ecs'],
  'detail-type': [ECS_SERVICE_ACTION],
  resources: [{ wildcard: `arn:aws*:ecs:*:*:service/${PREFIX}-*/${PREFIX}-*` }],
  detail: { eventName: [TASK_PLACEMENT_FAILURE] },
} as const;
