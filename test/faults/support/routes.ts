/**
 * Routes through the state machines: an input, what the world must look like before it,
 * and the compensation invariants that must hold after the execution, whatever it met.
 * The fault scenarios pick, for each Task state, a route whose fault-free run goes through
 * it; some compensation steps are only reached when another step fails, so a route can
 * carry `prefaults` (faults that force that path).
 */
import { readFileSync } from 'node:fs';
import { GetRoutesCommand } from '@aws-sdk/client-apigatewayv2';
import { DescribeAutoScalingGroupsCommand, SetDesiredCapacityCommand } from '@aws-sdk/client-auto-scaling';
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ListContainerInstancesCommand,
  ListTaskDefinitionsCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { ListMultipartUploadsCommand, ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { ListServicesCommand } from '@aws-sdk/client-servicediscovery';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { clients } from '#shared/aws/clients.ts';
import type { StackpilotConfig } from '#shared/config.ts';
import { previewNames, stageNames } from '#shared/naming.ts';
import { frontDoorParameter, frontDoorSchema } from '#shared/preview/front-door.ts';
import { getPreviewRecord } from '#shared/preview/records.ts';
import type { StateMachineName } from '../../../sandbox/state-machines.ts';
import type { FaultPlan } from './faults.ts';
import { type Outcome, runExecution } from './run.ts';
import type { World } from './world.ts';

export const APP = 'starter';
export const STAGE = 'dev';
export const NAMES = stageNames(APP, STAGE);

/** A JSON sample of `events/samples/`. */
// biome-ignore lint/suspicious/noExplicitAny: samples are JSON documents.
export function sample(name: string): any {
  return JSON.parse(readFileSync(new URL(`../../../events/samples/${name}`, import.meta.url), 'utf8'));
}

/** What the world looked like before the run, for the invariants. */
export interface Before {
  /** The stage service's PRIMARY task definition. */
  readonly taskDefinition: string | undefined;
  /** Versions of the stage's source zip in the source bucket. */
  readonly sourceVersions: number;
}

export interface Route {
  readonly name: string;
  readonly machine: StateMachineName;
  /** Puts the world in the state the route needs (runs without faults). */
  readonly setup?: (world: World) => Promise<void>;
  readonly input: (world: World) => unknown;
  /** Changes the world's configuration for this route. */
  readonly configure?: (config: StackpilotConfig) => void;
  /** Emulated time before each Task invocation (default: the runner's). */
  readonly stepMs?: number;
  /** Faults armed for the whole run to force a failure path. */
  readonly prefaults?: readonly FaultPlan[];
  /**
   * What is left half done after the execution; empty when every change was completed or
   * undone. `faulted` names the Task state whose calls failed, if any.
   */
  readonly invariants: (
    world: World,
    before: Before,
    outcome: Outcome,
    faulted?: string,
  ) => Promise<string[]>;
}

/** The stage service's PRIMARY deployment's task definition (ARN). */
export async function primaryTaskDefinition(): Promise<string | undefined> {
  const { services } = await clients.ecs.send(
    new DescribeServicesCommand({ cluster: NAMES.cluster, services: [NAMES.service] }),
  );
  return services?.[0]?.deployments?.find((d) => d.status === 'PRIMARY')?.taskDefinition;
}

async function imagesOf(taskDefinition: string): Promise<string[]> {
  const { taskDefinition: td } = await clients.ecs.send(
    new DescribeTaskDefinitionCommand({ taskDefinition }),
  );
  return (td?.containerDefinitions ?? []).map((c) => c.image ?? '');
}

/** How many versions of the stage's source zip the source bucket holds. */
async function sourceVersions(world: World): Promise<number> {
  const { Versions } = await clients.s3.send(
    new ListObjectVersionsCommand({ Bucket: world.account.sourceBucket, Prefix: NAMES.sourceKey }),
  );
  return (Versions ?? []).filter((v) => v.Key === NAMES.sourceKey).length;
}

/**
 * After a deploy: no multipart upload left open in the source bucket (every failed upload
 * was aborted), and a deploy that failed while packaging the source wrote no zip version.
 */
async function deployInvariants(world: World, before: Before, outcome: Outcome): Promise<string[]> {
  const { Uploads } = await clients.s3.send(
    new ListMultipartUploadsCommand({ Bucket: world.account.sourceBucket }),
  );
  const problems = (Uploads ?? []).map(
    (u) => `multipart upload ${u.UploadId} of s3://${world.account.sourceBucket}/${u.Key} left open`,
  );
  const packaged = outcome.invoked.includes('Start Pipeline');
  const versions = await sourceVersions(world);
  if (!packaged && versions !== before.sourceVersions)
    problems.push(
      `the failed packaging left ${versions - before.sourceVersions} new version(s) of ${NAMES.sourceKey}`,
    );
  return problems;
}

/** No container instance of the stage's cluster left DRAINING. */
async function noDrainingInstance(stageName = STAGE): Promise<string[]> {
  const { containerInstanceArns } = await clients.ecs.send(
    new ListContainerInstancesCommand({ cluster: stageNames(APP, stageName).cluster, status: 'DRAINING' }),
  );
  return (containerInstanceArns ?? []).map((arn) => `container instance ${arn} left DRAINING`);
}

/** The stage service's PRIMARY deployment: task definition and rollout state. */
async function primaryDeployment() {
  const { services } = await clients.ecs.send(
    new DescribeServicesCommand({ cluster: NAMES.cluster, services: [NAMES.service] }),
  );
  return services?.[0]?.deployments?.find((d) => d.status === 'PRIMARY');
}

/**
 * After a release: the service runs the new image when it succeeded. When it failed, the
 * service is back on the revision it ran before, or on a revision whose deployment
 * completed (the release deployed, then failed to record itself): never on a broken one.
 * When the rollback's own calls were the ones failing, the Cause must say the rollback failed.
 */
function releaseInvariants(expectedImage: (world: World) => string | undefined) {
  return async (world: World, before: Before, outcome: Outcome, faulted?: string): Promise<string[]> => {
    const primary = await primaryDeployment();
    const now = primary?.taskDefinition;
    if (!now) return ['the service has no PRIMARY deployment'];
    if (outcome.result?.status === 'SUCCEEDED') {
      const wanted = expectedImage(world);
      const images = await imagesOf(now);
      return wanted && !images.includes(wanted)
        ? [`release succeeded but the service runs ${images.join(', ')}, not ${wanted}`]
        : [];
    }
    if (now === before.taskDefinition) return [];
    const images = await imagesOf(now);
    const healthy = primary.rolloutState === 'COMPLETED' && !images.some((i) => /:fail-/.test(i));
    if (healthy) return [];
    if (faulted === 'Roll Back' && /roll/i.test(outcome.result?.cause ?? '')) return [];
    return [
      `failed release left the service on ${now} (${primary.rolloutState}, ${images.join(', ')}) instead of ${before.taskDefinition}`,
    ];
  };
}

let imageCounter = 0;
/** A new image of the starter app per run, so every release registers and deploys a revision. */
function freshImage(world: World, prefix = ''): string {
  imageCounter += 1;
  const tag = `${prefix}${imageCounter.toString(16).padStart(8, '0')}${'0'.repeat(32)}`;
  return `${world.account.accountId}.dkr.ecr.${world.account.region}.amazonaws.com/stackpilot/${APP}:${tag}`;
}

const images = new WeakMap<World, string>();
function releaseInput(world: World, prefix = '') {
  const image = freshImage(world, prefix);
  images.set(world, image);
  const input = sample('release-input.json');
  input.image = image;
  input.commit = image.slice(image.lastIndexOf(':') + 1, image.lastIndexOf(':') + 41).padEnd(40, '0');
  if (prefix) delete input.commit;
  return input;
}

/** Turns the circuit breaker's automatic rollback off: failures are then undone by the release's Roll Back. */
async function withoutAutomaticRollback(): Promise<void> {
  await clients.ecs.send(
    new UpdateServiceCommand({
      cluster: NAMES.cluster,
      service: NAMES.service,
      deploymentConfiguration: {
        minimumHealthyPercent: 100,
        maximumPercent: 200,
        deploymentCircuitBreaker: { enable: true, rollback: false },
      },
    }),
  );
}

/** Runs a clean release of a fresh image (route setup). */
async function releaseOnce(world: World): Promise<void> {
  const outcome = await runExecution(world, 'release', releaseInput(world));
  if (outcome.result?.status !== 'SUCCEEDED')
    throw new Error(`setup release failed: ${outcome.lost ?? outcome.result?.cause}`);
}

/** The docs' alarm event for one of the stage's alarms. */
export function alarmEvent(alarmName: string, state = 'ALARM') {
  const event = sample('cloudwatch-alarm-state-change.json');
  event.detail.alarmName = alarmName;
  event.resources = [`arn:aws:cloudwatch:us-east-1:111122223333:alarm:${alarmName}`];
  event.detail.state.value = state;
  event.detail.state.timestamp = new Date().toISOString().replace('Z', '+0000');
  return event;
}

/** One instance more than the group's minimum, registered in the cluster (so scale-in may drain one). */
async function oneInstanceAboveMinimum(world: World, stageName = STAGE): Promise<void> {
  const stage = world.config.apps[APP]?.stages[stageName];
  if (!stage) throw new Error(`no stage ${APP}/${stageName}`);
  await clients.autoScaling.send(
    new SetDesiredCapacityCommand({
      AutoScalingGroupName: stageNames(APP, stageName).autoScalingGroup,
      DesiredCapacity: stage.instances.min + 1,
    }),
  );
  await until(
    world,
    'the new instance to join the cluster',
    async () => (await activeInstances(stageName)) > stage.instances.min,
  );
}

/** ACTIVE container instances of the stage's cluster. */
async function activeInstances(stageName = STAGE): Promise<number> {
  const { containerInstanceArns } = await clients.ecs.send(
    new ListContainerInstancesCommand({ cluster: stageNames(APP, stageName).cluster, status: 'ACTIVE' }),
  );
  return containerInstanceArns?.length ?? 0;
}

/** Moves emulated time 30 s at a time until `done`, for at most an emulated hour. */
async function until(world: World, what: string, done: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 120; i++) {
    if (await done()) return;
    world.advance(30_000);
  }
  throw new Error(`route setup: waited an emulated hour for ${what}`);
}

/** The prod stage: t3.small instances with room for more than one task each. */
const PROD = 'prod';

/** One task per instance on one instance more than the minimum: any instance may be drained. */
async function oneTaskPerInstance(world: World, stageName: string): Promise<void> {
  await oneInstanceAboveMinimum(world, stageName);
  const names = stageNames(APP, stageName);
  const instances = await activeInstances(stageName);
  await clients.ecs.send(
    new UpdateServiceCommand({ cluster: names.cluster, service: names.service, desiredCount: instances }),
  );
  await until(world, `${instances} running tasks`, async () => {
    const { services } = await clients.ecs.send(
      new DescribeServicesCommand({ cluster: names.cluster, services: [names.service] }),
    );
    return services?.[0]?.runningCount === instances;
  });
}

/**
 * After scaling: no instance left DRAINING (unless the restore itself kept failing and the
 * Cause says the instance is left DRAINING), task count and group capacity within bounds.
 */
function scaleInvariantsOf(stageName: string) {
  return async (world: World, _before: Before, outcome: Outcome, faulted?: string): Promise<string[]> => {
    const names = stageNames(APP, stageName);
    // When the restore's own calls keep failing, nothing can undo the drain: the Cause must say so.
    const restoreFailed =
      faulted?.startsWith('Restore Instance') === true && /DRAINING/.test(outcome.result?.cause ?? '');
    const problems = restoreFailed ? [] : await noDrainingInstance(stageName);
    const stage = world.config.apps[APP]?.stages[stageName];
    const { services } = await clients.ecs.send(
      new DescribeServicesCommand({ cluster: names.cluster, services: [names.service] }),
    );
    const desired = services?.[0]?.desiredCount ?? 0;
    if (stage && (desired < stage.tasks.min || desired > stage.tasks.max))
      problems.push(`service desired count ${desired} outside [${stage.tasks.min}, ${stage.tasks.max}]`);
    const { AutoScalingGroups } = await clients.autoScaling.send(
      new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [names.autoScalingGroup] }),
    );
    const capacity = AutoScalingGroups?.[0]?.DesiredCapacity ?? 0;
    if (stage && (capacity < stage.instances.min || capacity > stage.instances.max))
      problems.push(
        `group desired capacity ${capacity} outside [${stage.instances.min}, ${stage.instances.max}]`,
      );
    return problems;
  };
}

const scaleInvariants = scaleInvariantsOf(STAGE);

/** The preview the preview routes deploy and remove: the console samples'. */
const PREVIEW_NUMBER = sample('preview-deploy.json').number as number;
const PREVIEW = previewNames(APP, STAGE, PREVIEW_NUMBER);

/** What exists of the preview in the account: its service, revisions, route parts (record apart). */
async function previewParts(): Promise<string[]> {
  const parts: string[] = [];
  const { services } = await clients.ecs.send(
    new DescribeServicesCommand({ cluster: PREVIEW.cluster, services: [PREVIEW.service] }),
  );
  const service = services?.find((s) => s.serviceName === PREVIEW.service);
  if (service && service.status !== 'INACTIVE') parts.push(`service ${PREVIEW.service} (${service.status})`);
  for (const status of ['ACTIVE', 'INACTIVE'] as const) {
    const { taskDefinitionArns } = await clients.ecs.send(
      new ListTaskDefinitionsCommand({ familyPrefix: PREVIEW.taskFamily, status }),
    );
    for (const arn of taskDefinitionArns ?? []) parts.push(`revision ${arn} (${status})`);
  }
  const parameter = await clients.ssm.send(new GetParameterCommand({ Name: frontDoorParameter(APP, STAGE) }));
  const door = frontDoorSchema.parse(JSON.parse(parameter.Parameter?.Value ?? '{}'));
  if (door.scale !== 'standard') throw new Error('the preview routes expect a standard stage');
  const { Services } = await clients.serviceDiscovery.send(
    new ListServicesCommand({
      Filters: [{ Name: 'NAMESPACE_ID', Values: [door.namespaceId], Condition: 'EQ' }],
    }),
  );
  for (const s of Services ?? [])
    if (s.Name === PREVIEW.discoveryService) parts.push(`Cloud Map service ${s.Name}`);
  const { Items } = await clients.apiGatewayV2.send(new GetRoutesCommand({ ApiId: door.apiId }));
  for (const r of Items ?? [])
    if (r.RouteKey?.includes(PREVIEW.pathPrefix)) parts.push(`API route ${r.RouteKey}`);
  return parts;
}

/**
 * After a preview execution: whatever exists of the preview has its record (so closing the pull
 * request or the expiry removes it); a deploy that succeeded serves; a removal that succeeded left
 * nothing, record included.
 */
function previewInvariants(action: 'deploy' | 'remove') {
  return async (world: World, _before: Before, outcome: Outcome): Promise<string[]> => {
    const parts = await previewParts();
    const record = await getPreviewRecord(world.account.sourceBucket, APP, STAGE, PREVIEW_NUMBER, clients.s3);
    const succeeded = outcome.result?.status === 'SUCCEEDED';
    if (succeeded && action === 'remove')
      return [...parts, ...(record ? ['the preview record'] : [])].map((p) => `removal left ${p}`);
    if (succeeded && record?.status !== 'serving') return [`deployed preview's record is ${record?.status}`];
    if (!record && parts.length > 0) return [`no record of what the preview left: ${parts.join(', ')}`];
    return [];
  };
}

/** A preview deploy of the console sample, with an image of its own per run (`fail-`: its tasks fail). */
function previewDeployInput(world: World, prefix = '') {
  const input = sample('preview-deploy.json');
  input.image = freshImage(world, prefix);
  return input;
}

/** Every route the fault scenarios and the bad-input suite use. */
export const ROUTES: readonly Route[] = [
  {
    name: 'release a new image',
    machine: 'release',
    input: (world) => releaseInput(world),
    invariants: releaseInvariants((world) => images.get(world)),
  },
  {
    name: 'release an image whose tasks fail, rolled back by the circuit breaker',
    machine: 'release',
    input: (world) => releaseInput(world, 'fail-'),
    invariants: releaseInvariants(() => undefined),
  },
  {
    name: 'release an image whose tasks fail, rolled back by the release',
    machine: 'release',
    setup: withoutAutomaticRollback,
    input: (world) => releaseInput(world, 'fail-'),
    invariants: releaseInvariants(() => undefined),
  },
  {
    name: 'roll back to the previous release',
    machine: 'release',
    setup: async (world) => {
      await releaseOnce(world);
      await releaseOnce(world);
    },
    input: () => sample('release-rollback.json'),
    invariants: releaseInvariants(() => undefined),
  },
  {
    name: 'scale the service out on its CPU alarm',
    machine: 'scale',
    input: () => alarmEvent(NAMES.alarm('service', 'out')),
    invariants: scaleInvariants,
  },
  {
    // Under low load the cluster's low alarm is in ALARM too: after the scale-in it is re-armed.
    name: 'scale the service in on its CPU alarm under low load',
    machine: 'scale',
    setup: async (world) => {
      world.account.cloudWatch.setLoad(APP, STAGE, 5);
      await clients.ecs.send(
        new UpdateServiceCommand({ cluster: NAMES.cluster, service: NAMES.service, desiredCount: 2 }),
      );
      for (let i = 0; i < 40; i++) world.advance(30_000);
    },
    input: () => alarmEvent(NAMES.alarm('service', 'in')),
    invariants: scaleInvariants,
  },
  {
    name: 'add an instance on a task placement failure',
    machine: 'scale',
    input: () => sample('ecs-task-placement-failure.json'),
    invariants: scaleInvariants,
  },
  {
    name: 'set the desired count from the console',
    machine: 'scale',
    input: () => sample('scale-operator.json'),
    invariants: scaleInvariants,
  },
  {
    name: 'scale the cluster in on its CPU alarm',
    machine: 'scale',
    setup: oneInstanceAboveMinimum,
    input: () => alarmEvent(NAMES.alarm('cluster', 'in')),
    invariants: scaleInvariants,
  },
  {
    // The drained task needs 10 s to start elsewhere; with a 1-second drain limit and 2 s between
    // Tasks, Check Drain sees it still there after the limit, and Restore Instance sets it ACTIVE again.
    name: 'scale the cluster in while the drain outlasts its time limit',
    machine: 'scale',
    configure: (config) => {
      const stage = config.apps[APP]?.stages[PROD];
      if (stage) stage.clusterScaling.drainTimeoutSeconds = 1;
    },
    stepMs: 2_000,
    setup: (world) => oneTaskPerInstance(world, PROD),
    input: () => alarmEvent(stageNames(APP, PROD).alarm('cluster', 'in')),
    invariants: scaleInvariantsOf(PROD),
  },
  {
    name: 'scale the cluster in while the drain cannot be watched',
    machine: 'scale',
    setup: oneInstanceAboveMinimum,
    input: () => alarmEvent(NAMES.alarm('cluster', 'in')),
    prefaults: [
      { service: 'ecs', command: 'DescribeContainerInstances', mode: 'always', state: 'Check Drain' },
    ],
    invariants: scaleInvariants,
  },
  {
    name: 'deploy a preview',
    machine: 'preview',
    input: previewDeployInput,
    invariants: previewInvariants('deploy'),
  },
  {
    // Check Preview fails: Mark Failed marks the record, so closing the pull request removes the rest.
    name: 'deploy a preview whose task fails',
    machine: 'preview',
    input: (world) => previewDeployInput(world, 'fail-'),
    invariants: previewInvariants('deploy'),
  },
  {
    name: 'remove a preview',
    machine: 'preview',
    setup: async (world) => {
      const outcome = await runExecution(world, 'preview', previewDeployInput(world));
      if (outcome.result?.status !== 'SUCCEEDED')
        throw new Error(`setup preview failed: ${outcome.lost ?? outcome.result?.cause}`);
    },
    input: () => sample('preview-remove.json'),
    invariants: previewInvariants('remove'),
  },
  {
    name: 'scale the service out while its update keeps failing',
    machine: 'scale',
    input: () => alarmEvent(NAMES.alarm('service', 'out')),
    prefaults: [{ service: 'ecs', command: 'UpdateService', mode: 'always', state: 'Scale Service' }],
    invariants: scaleInvariants,
  },
];

/** What the world looks like now, for a route's invariants. */
export async function snapshotBefore(world: World): Promise<Before> {
  return { taskDefinition: await primaryTaskDefinition(), sourceVersions: await sourceVersions(world) };
}

export { deployInvariants };
