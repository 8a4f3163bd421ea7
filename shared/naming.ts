/**
 * Physical names of the resources of an app stage.
 *
 * The CDK app creates the resources with these names and the functions find them by
 * the same names, so a state machine input only needs `{app, stage}` and the control
 * plane can scope its IAM policies to a stage's resources without cross-stack references.
 */

import { ecrRepositoryName, PREFIX } from '#events/names.ts';

export { ecrRepositoryName, PREFIX };

/**
 * Name of the app's container in every task-definition revision of a stage. The release finds
 * the container by this name (never by its image: the first revision runs a public placeholder).
 */
export const APP_CONTAINER_NAME = 'app';

/** `stackpilot-<app>-<stage>`: cluster, service, pipeline, Auto Scaling group, log group stem. */
export function stageResourceName(app: string, stage: string): string {
  return `${PREFIX}-${app}-${stage}`;
}

/** The resources of one stage, by name. */
export function stageNames(app: string, stage: string) {
  const base = stageResourceName(app, stage);
  return {
    cluster: base,
    service: base,
    pipeline: base,
    autoScalingGroup: base,
    taskFamily: base,
    /**
     * SSM parameter holding the image the stage released last (`NO_RELEASE` before the first
     * release); the stage's task definition resolves it at every `cdk deploy`.
     */
    releasedImageParameter: `/${PREFIX}/${app}/${stage}/released-image`,
    /**
     * The front door's 5xx-rate alarm, which rolls a release back during its bake window
     * (ECS deployment alarms). Dotted, not `stackpilot-…`: the scaling rule takes every alarm
     * named with that prefix, and this one is not a scaling alarm.
     */
    errorRateAlarm: `${PREFIX}.${app}.${stage}.5xx-rate`,
    /** Key of the source zip in the control plane's source bucket. */
    sourceKey: `sources/${app}/${stage}/source.zip`,
    /** Alarm names carry app, stage, target and direction: `stackpilot-<app>-<stage>-<target>-cpu-<high|low>`. */
    alarm: (target: ScaleTarget, direction: ScaleDirection) =>
      `${base}-${target}-cpu-${direction === 'out' ? 'high' : 'low'}`,
  } as const;
}

/**
 * The resources of the preview of pull request (GitLab: merge request) `number`, run in the
 * cluster of `stage` (docs/previews.md). Created and removed at run time by the `preview`
 * state machine, never by CloudFormation.
 */
export function previewNames(app: string, stage: string, number: number) {
  const base = `${stageResourceName(app, stage)}-pr-${number}`;
  return {
    cluster: stageResourceName(app, stage),
    /** ECS service and task-definition family of the preview. */
    service: base,
    taskFamily: base,
    /** Path prefix of the preview on the stage's front door (stripped before the app sees it). */
    pathPrefix: `/pr-${number}`,
    /** Cloud Map service (standard tier), in the stage's namespace. */
    discoveryService: `pr-${number}`,
    /**
     * Target group (hyperscale tier). ELB names are 32 characters at most, so the stage part is
     * a hash: `sp-<8 hex of app/stage>-pr-<number>`.
     */
    targetGroup: `sp-${shortHash(`${app}/${stage}`)}-pr-${number}`,
    /** The preview's record in the control plane's source bucket. */
    recordKey: `${previewPrefix(app, stage)}pr-${number}.json`,
  } as const;
}

/** Key prefix of the preview records of a stage (`previews/<app>/<stage>/`). */
export function previewPrefix(app: string, stage: string): string {
  return `previews/${app}/${stage}/`;
}

/** The preview pipeline of a stage (previews build in parallel, never superseding the stage's pushes). */
export function previewPipelineName(app: string, stage: string): string {
  return `${stageResourceName(app, stage)}-previews`;
}

/**
 * ECR repository of an app's preview images (`stackpilot/<app>/previews`): apart from the app's
 * repository, so that pull requests never count against `imagesToKeep` (the release images a
 * rollback needs) nor move its `latest`, and a release input cannot name a preview's image.
 */
export function previewRepositoryName(app: string): string {
  return `${ecrRepositoryName(app)}/previews`;
}

/** Preview images kept: three per open preview (`previews.max`), at least ten. */
export function previewImagesToKeep(max: number): number {
  return Math.max(10, 3 * max);
}

/** Key of the previews' source zip (one key, one S3 version per preview build). */
export function previewSourceKey(app: string, stage: string): string {
  return `sources/${app}/${stage}/previews/source.zip`;
}

/** 8 hex digits of FNV-1a: short, stable names where AWS limits the length. */
function shortHash(text: string): string {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

/**
 * IAM role the tasks of a stage run as: `stackpilot-<app>-<stage>-task`. A fixed name lets
 * the release workflow pass exactly this role (`iam:PassRole`) without cross-stack references.
 */
export function taskRoleName(app: string, stage: string): string {
  return `${stageResourceName(app, stage)}-task`;
}

/** IAM role ECS uses to pull the image and write logs for a stage's tasks: `stackpilot-<app>-<stage>-execution`. */
export function executionRoleName(app: string, stage: string): string {
  return `${stageResourceName(app, stage)}-execution`;
}

export type ScaleTarget = 'service' | 'cluster';
export type ScaleDirection = 'out' | 'in';

/**
 * Finds which of the known stages made an alarm name (names may contain hyphens, so the
 * name alone is ambiguous: `stackpilot-a-b-c-…` could be app `a-b`, stage `c` or app `a`,
 * stage `b-c`). Undefined for any alarm that is not stackpilot's.
 */
export function matchAlarmName(
  alarmName: string,
  stages: Iterable<{ readonly app: string; readonly stage: string }>,
): { app: string; stage: string; target: ScaleTarget; direction: ScaleDirection } | undefined {
  for (const { app, stage } of stages) {
    const names = stageNames(app, stage);
    for (const target of ['service', 'cluster'] as const) {
      for (const direction of ['out', 'in'] as const) {
        if (names.alarm(target, direction) === alarmName) return { app, stage, target, direction };
      }
    }
  }
  return undefined;
}

export type StateMachineKind = 'deploy' | 'release' | 'scale' | 'preview';

/** `stackpilot-<kind>`: the control plane's state machines have fixed names, so stages can refer to them. */
export function stateMachineName(kind: StateMachineKind): string {
  return `${PREFIX}-${kind}`;
}
