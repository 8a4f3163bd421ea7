/**
 * The first step of the `scale` state machine: what does this input ask for? An alarm
 * transition of a stackpilot alarm, a placement failure of a stackpilot service, or an
 * operator's count become a {@link ScalingRequest}; anything that needs no action becomes
 * a skip with the reason (the execution then succeeds, saying why it did nothing).
 */
import * as z from 'zod';
import {
  type CloudWatchAlarmStateChange,
  cloudWatchAlarmStateChangeSchema,
} from '#events/cloudwatch-alarm.ts';
import {
  type EcsServiceAction,
  ecsServiceActionSchema,
  parseServiceArn,
  TASK_PLACEMENT_FAILURE,
} from '#events/ecs-service-action.ts';
import { type ScaleOperatorInput, scaleOperatorInputSchema } from '#events/scale.ts';
import { allStages, findStage, type StackpilotConfig } from '../config.ts';
import { InvalidInput } from '../errors.ts';
import { matchAlarmName, stageNames } from '../naming.ts';
import { leaseSeconds } from './decisions.ts';

/** What one scaling loop does; the input of every later step (`$.InterpretResult`). */
export const scalingRequestSchema = z.object({
  skip: z.literal(false),
  app: z.string().min(1),
  stage: z.string().min(1),
  target: z.enum(['service', 'cluster']),
  trigger: z.enum(['alarm', 'placement-failure', 'operator']),
  /** Alarm and placement-failure loops step in a direction... */
  direction: z.enum(['out', 'in']).optional(),
  /** ...an operator sets a count. */
  desiredCount: z.number().int().nonnegative().optional(),
  /** The alarm the loop re-reads after each cooldown (alarm trigger only). */
  alarmName: z.string().optional(),
  /** How many times the loop switched direction (alarm trigger only). */
  switches: z.number().int().nonnegative().optional(),
  /** Identifies the triggering event: the same key twice is the same event (idempotency guard). */
  eventKey: z.string().min(1),
  /** How long the loop may hold the (stage, target) lease. */
  leaseSeconds: z.number().int().positive(),
  reason: z.string(),
});
export type ScalingRequest = z.output<typeof scalingRequestSchema>;

export interface Skip {
  readonly skip: true;
  readonly reason: string;
}

/** The input of the interpret step: the execution's input and the execution's name. */
export const interpretInputSchema = z.object({ event: z.unknown(), executionName: z.string().min(1) });

function fromAlarm(event: CloudWatchAlarmStateChange, config: StackpilotConfig): ScalingRequest | Skip {
  const { alarmName, state } = event.detail;
  const match = matchAlarmName(alarmName, allStages(config));
  if (!match)
    return {
      skip: true,
      reason: `alarm ${quote(alarmName)} is not a stackpilot scaling alarm of this configuration`,
    };
  if (state.value !== 'ALARM')
    return { skip: true, reason: `alarm ${alarmName} went to ${state.value}: no scaling needed` };
  const stage = findStage(config, match.app, match.stage);
  if (!stage) return { skip: true, reason: `no stage ${match.stage} of app ${match.app}` };
  return {
    skip: false,
    app: match.app,
    stage: match.stage,
    target: match.target,
    trigger: 'alarm',
    direction: match.direction,
    alarmName,
    // One transition of one alarm: redeliveries of the event carry the same name and timestamp.
    eventKey: `alarm/${alarmName}/${state.timestamp}`,
    leaseSeconds: leaseSeconds(stage.stageConfig, match.target),
    reason: `alarm ${alarmName} is in ALARM: scale the ${match.target} ${match.direction}`,
  };
}

/**
 * The debounce of placement failures: ECS reports one for every task it cannot place, and a
 * storm of them must add one instance, not one each. The guard's event key is the stage and
 * the cooldown window the event falls in, so at most one execution per stage and window gets
 * past *Acquire Lease*; the others end as *Already Handled* without scaling. Without a
 * cooldown, or with an unreadable time, every event is its own key.
 */
export function placementFailureKey(
  app: string,
  stage: string,
  event: Pick<EcsServiceAction, 'id' | 'time'>,
  cooldownSeconds: number,
): string {
  const t = Date.parse(event.time);
  if (cooldownSeconds <= 0 || Number.isNaN(t)) return `ecs/${event.id}`;
  const window = Math.floor(t / (cooldownSeconds * 1000));
  return `placement/${app}/${stage}/${window}`;
}

function fromPlacementFailure(event: EcsServiceAction, config: StackpilotConfig): ScalingRequest | Skip {
  const { eventName, reason } = event.detail;
  if (eventName !== TASK_PLACEMENT_FAILURE)
    return { skip: true, reason: `ECS service action ${quote(eventName)} needs no scaling` };
  const arn = event.resources[0] as string;
  const names = parseServiceArn(arn);
  const stage = names
    ? allStages(config).find((s) => {
        const n = stageNames(s.app, s.stage);
        return n.cluster === names.cluster && n.service === names.service;
      })
    : undefined;
  if (!stage)
    return { skip: true, reason: `service ${quote(arn)} is not a stackpilot service of this configuration` };
  return {
    skip: false,
    app: stage.app,
    stage: stage.stage,
    target: 'cluster',
    trigger: 'placement-failure',
    direction: 'out',
    eventKey: placementFailureKey(
      stage.app,
      stage.stage,
      event,
      stage.stageConfig.clusterScaling.cooldownOutSeconds,
    ),
    leaseSeconds: leaseSeconds(stage.stageConfig, 'cluster'),
    reason: `ECS could not place a task of ${names?.service} (${reason === undefined ? 'no reason given' : quote(reason)}): add an instance`,
  };
}

function fromOperator(
  input: ScaleOperatorInput,
  config: StackpilotConfig,
  executionName: string,
): ScalingRequest {
  const stage = findStage(config, input.app, input.stage);
  if (!stage)
    throw new InvalidInput(
      `there is no stage ${quote(input.stage)} of app ${quote(input.app)} in stackpilot.yml`,
    );
  const bounds = input.target === 'service' ? stage.stageConfig.tasks : stage.stageConfig.instances;
  const unit = input.target === 'service' ? 'tasks' : 'instances';
  if (input.desiredCount < bounds.min || input.desiredCount > bounds.max)
    throw new InvalidInput(
      `desiredCount ${input.desiredCount} is outside the ${unit} bounds [${bounds.min}, ${bounds.max}] of ${input.app}/${input.stage} in stackpilot.yml`,
    );
  return {
    skip: false,
    app: input.app,
    stage: input.stage,
    target: input.target,
    trigger: 'operator',
    desiredCount: input.desiredCount,
    // Execution names are unique per state machine: a console start is one event.
    eventKey: `operator/${executionName}`,
    leaseSeconds: leaseSeconds(stage.stageConfig, input.target),
    reason: `operator asked for ${input.desiredCount} ${unit}`,
  };
}

/**
 * Interprets the execution's input. Throws {@link InvalidInput} for an input that is none
 * of the three known shapes, or an operator input naming an unknown stage or a count
 * outside the stage's bounds.
 */
export function interpretScalingEvent(
  event: unknown,
  config: StackpilotConfig,
  executionName: string,
): ScalingRequest | Skip {
  const source = (event as { source?: unknown } | null)?.source;
  if (source === 'aws.cloudwatch') {
    const parsed = cloudWatchAlarmStateChangeSchema.safeParse(event);
    if (parsed.success) return fromAlarm(parsed.data, config);
    throw new InvalidInput(`invalid CloudWatch alarm event: ${summarize(parsed.error)}`);
  }
  if (source === 'aws.ecs') {
    const parsed = ecsServiceActionSchema.safeParse(event);
    if (parsed.success) return fromPlacementFailure(parsed.data, config);
    throw new InvalidInput(`invalid ECS service action event: ${summarize(parsed.error)}`);
  }
  const parsed = scaleOperatorInputSchema.safeParse(event);
  if (parsed.success) return fromOperator(parsed.data, config, executionName);
  throw new InvalidInput(
    `input is neither a CloudWatch alarm event, an ECS service action event nor an operator input {app, stage, target, desiredCount}: ${summarize(parsed.error)}`,
  );
}

/** Longest value quoted whole in a reason or an error message. */
export const MAX_QUOTED = 60;

/**
 * A value from the input, shortened for a message: inputs are unbounded (a 64 KiB field
 * would make a 64 KiB Cause), and 60 characters are enough to recognise one.
 */
export function quote(value: string, max = MAX_QUOTED): string {
  const chars = Array.from(value);
  return chars.length <= max ? value : `${chars.slice(0, max - 1).join('')}…`;
}

/** The issues of a parse, each path and message shortened; at most 10 of them. */
function summarize(error: z.ZodError): string {
  const issues = error.issues.map(
    (i) => `${i.path.length ? quote(i.path.map(String).join('.')) : '(root)'}: ${quote(i.message, 200)}`,
  );
  const more = issues.length > 10 ? `; and ${issues.length - 10} more` : '';
  return issues.slice(0, 10).join('; ') + more;
}
