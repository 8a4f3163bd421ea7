/**
 * Operator input of the `scale` state machine: set a stage's task count or instance count
 * (`events/samples/scale-operator.json`, pasted into the Step Functions console as is).
 * The state machine's other inputs are the AWS events of `cloudwatch-alarm.ts` and
 * `ecs-service-action.ts`.
 */
import * as z from 'zod';

/**
 * The name rule of apps and stages in stackpilot.yml (`shared/config.ts`): an operator input
 * naming anything else cannot match a stage, and is refused before it is quoted anywhere.
 */
export const scaleNameSchema = z
  .string()
  .regex(
    /^[a-z][a-z0-9-]{0,19}$/,
    'a lowercase name of 1-20 letters, digits or hyphens, starting with a letter (as in stackpilot.yml)',
  );

export const scaleTargetSchema = z.enum(['service', 'cluster']);

export const scaleOperatorInputSchema = z
  .object({
    app: scaleNameSchema,
    stage: scaleNameSchema,
    /** `service`: the ECS service's desired task count; `cluster`: the Auto Scaling group's instance count. */
    target: scaleTargetSchema,
    /** Must lie within the stage's bounds (`tasks` or `instances` in stackpilot.yml). */
    desiredCount: z.number().int().min(0),
  })
  .strict();

export type ScaleOperatorInput = z.output<typeof scaleOperatorInputSchema>;
