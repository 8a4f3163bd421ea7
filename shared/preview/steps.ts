/**
 * The steps of the `preview` state machine (docs/previews.md), one function per Task state, and
 * the hourly expiry. Each takes its input and `{clients, now, config, bucket}`; the handlers
 * under `functions/` parse, call one step and return.
 *
 * deploy: Prepare Preview (limit, front door, revision) -> Deploy Preview (record `deploying`,
 * route, service) -> Check Preview (until the deployment completes) -> Record Preview (`serving`).
 * remove: Remove Preview (route, service, task definitions, record), retried while it drains.
 */
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import * as z from 'zod';
import type { DeployPreviewInput, RemovePreviewInput } from '#events/preview.ts';
import {
  apiGatewayV2Client,
  type Clients,
  ecsClient,
  elbv2Client,
  s3Client,
  serviceDiscoveryClient,
  sfnClient,
  ssmClient,
} from '../aws/clients.ts';
import { startNamedExecution } from '../aws/stepfunctions.ts';
import { findPreviewStage, runtimeConfig, type StackpilotConfig } from '../config.ts';
import { requiredEnv } from '../env.ts';
import { explainCaught } from '../errors.ts';
import { previewNames, stageNames } from '../naming.ts';
import { logger } from '../powertools.ts';
import { judgeDeployment } from '../release/deployment.ts';
import {
  describeService,
  describeTaskDefinition,
  registerTaskDefinition,
  stoppedTasksOf,
  updateServiceTaskDefinition,
} from '../release/ecs.ts';
import { createService, deleteFamily, deleteService, findService } from './ecs.ts';
import { FrontDoorNotPublished, PreviewDeploymentFailed, PreviewLimitReached } from './errors.ts';
import { type FrontDoor, frontDoorParameter, frontDoorSchema } from './front-door.ts';
import { isExpired, PREVIEW_STATE_MACHINE_ARN_ENV, type PreviewRecord, previewUrl } from './model.ts';
import { previewServiceInput, previewTaskDefinition } from './plan.ts';
import {
  deletePreviewRecord,
  getPreviewRecord,
  listPreviewNumbers,
  listPreviewRecords,
  previewBucket,
  putPreviewRecord,
} from './records.ts';
import { ensureRoute, removeRoute } from './routes.ts';

/** What the steps use: the AWS clients, the clock, the configuration and the records' bucket. */
export interface PreviewDeps {
  readonly clients: Pick<
    Clients,
    'apiGatewayV2' | 'ecs' | 'elbv2' | 's3' | 'serviceDiscovery' | 'sfn' | 'ssm'
  >;
  readonly now: () => Date;
  readonly config: StackpilotConfig;
  /** The control plane's source bucket, where the preview records are. */
  readonly bucket: string;
}

/** The deployed functions' dependencies: the shared clients, the clock, the bundled configuration, `PREVIEW_BUCKET`. */
export function previewDeps(): PreviewDeps {
  // The named clients, not the whole record: each function's bundle carries only these SDK clients.
  const clients = {
    apiGatewayV2: apiGatewayV2Client,
    ecs: ecsClient,
    elbv2: elbv2Client,
    s3: s3Client,
    serviceDiscovery: serviceDiscoveryClient,
    sfn: sfnClient,
    ssm: ssmClient,
  };
  return { clients, now: () => new Date(), config: runtimeConfig(), bucket: previewBucket() };
}

/** The `preview` state machine the expiry starts removals of (`PREVIEW_STATE_MACHINE_ARN`). */
export function previewStateMachineArn(): string {
  return requiredEnv(PREVIEW_STATE_MACHINE_ARN_ENV);
}

/** How long Check Preview waits for a preview's task to become healthy before failing. */
export const DEPLOY_TIMEOUT_SECONDS = 15 * 60;
/** The pause between two looks at the deployment. */
export const CHECK_INTERVAL_SECONDS = 10;

/** The stage's front door, as its stack published it (`FrontDoorNotPublished` when it has not). */
export async function readFrontDoor(
  app: string,
  stage: string,
  deps: Pick<PreviewDeps, 'clients'>,
): Promise<FrontDoor> {
  const name = frontDoorParameter(app, stage);
  let value: string | undefined;
  try {
    value = (await deps.clients.ssm.send(new GetParameterCommand({ Name: name }))).Parameter?.Value;
  } catch (error) {
    if ((error as Error).name !== 'ParameterNotFound') throw error;
  }
  const parsed = frontDoorSchema.safeParse(value === undefined ? undefined : parseJson(value));
  if (!parsed.success) {
    throw new FrontDoorNotPublished(
      `SSM parameter ${name} ${value === undefined ? 'does not exist' : 'is not a front door description'}: deploy the stage's stack (Stackpilot-${app}-${stage}) with this version of stackpilot`,
    );
  }
  return parsed.data;
}

/** The parameter's JSON, or undefined when it is not JSON (refused as not a front door below). */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export const preparedPreviewSchema = z.object({
  app: z.string(),
  stage: z.string(),
  number: z.number().int(),
  image: z.string(),
  commit: z.string(),
  taskDefinitionArn: z.string(),
  url: z.string(),
  frontDoor: frontDoorSchema,
  branch: z.string().optional(),
});
export type PreparedPreview = z.output<typeof preparedPreviewSchema>;

/** Prepare Preview: refuses a preview beyond `previews.max`, reads the front door, registers the preview's revision. */
export async function preparePreview(input: DeployPreviewInput, deps: PreviewDeps): Promise<PreparedPreview> {
  const { app, stage, number } = input;
  const { appConfig, previews } = findPreviewStage(deps.config, app, stage);
  const open = await listPreviewNumbers(deps.bucket, app, stage, deps.clients.s3);
  if (!open.includes(number) && open.length >= previews.max) {
    throw new PreviewLimitReached(
      `app ${app} already runs ${open.length} previews in stage ${stage} (previews.max ${previews.max}: ${open.map((n) => `pr-${n}`).join(', ')}): pull request #${number} gets none until one of them closes`,
    );
  }
  const frontDoor = await readFrontDoor(app, stage, deps);
  const names = stageNames(app, stage);
  const stageService = await describeService(names.cluster, names.service, deps.clients.ecs);
  const { taskDefinition, tags } = await describeTaskDefinition(
    stageService.taskDefinition ?? '',
    deps.clients.ecs,
  );
  const registered = await registerTaskDefinition(
    previewTaskDefinition(taskDefinition, tags, { ...input, secrets: previews.secrets }),
    deps.clients.ecs,
  );
  logger.info('preview revision registered', {
    app,
    stage,
    number,
    taskDefinitionArn: registered.taskDefinitionArn,
    containerPort: appConfig.containerPort,
  });
  return {
    app,
    stage,
    number,
    image: input.image,
    commit: input.commit,
    taskDefinitionArn: registered.taskDefinitionArn as string,
    url: previewUrl(frontDoor.url, number),
    frontDoor,
    ...(input.branch && input.branch !== '-' ? { branch: input.branch } : {}),
  };
}

export const deployedPreviewSchema = z.object({
  deploymentId: z.string().min(1),
  /** When the deployment started (ISO 8601): Check Preview's timeout counts from it. */
  startedAt: z.string().min(1),
});
export type DeployedPreview = z.output<typeof deployedPreviewSchema>;

/**
 * Deploy Preview: records the preview as `deploying` (from here on, removal and expiry find it),
 * makes its route and creates its service, or points the existing service at the new revision.
 */
export async function deployPreview(prepared: PreparedPreview, deps: PreviewDeps): Promise<DeployedPreview> {
  const { app, stage, number } = prepared;
  const { appConfig } = findPreviewStage(deps.config, app, stage);
  const now = deps.now().toISOString();
  const before = await getPreviewRecord(deps.bucket, app, stage, number, deps.clients.s3);
  await putPreviewRecord(deps.bucket, recordOf(prepared, before, now, 'deploying'), deps.clients.s3);

  const target = await ensureRoute(
    prepared.frontDoor,
    { app, stage, number, healthCheckPath: appConfig.healthCheckPath },
    deps.clients,
  );
  const names = previewNames(app, stage, number);
  const existing = await findService(names.cluster, names.service, deps.clients.ecs);
  const service =
    existing?.status === 'ACTIVE'
      ? await updateServiceTaskDefinition(
          names.cluster,
          names.service,
          prepared.taskDefinitionArn,
          deps.clients.ecs,
        )
      : await createService(
          previewServiceInput(
            await describeService(names.cluster, stageNames(app, stage).service, deps.clients.ecs),
            {
              app,
              stage,
              number,
              taskDefinitionArn: prepared.taskDefinitionArn,
              containerPort: appConfig.containerPort,
            },
            target,
            // One token per revision: a retried create is idempotent, a later create is not refused.
            prepared.taskDefinitionArn.replace(/[^A-Za-z0-9]/g, '').slice(-36),
          ),
          deps.clients.ecs,
        );
  const deployment = service.deployments?.find((d) => d.status === 'PRIMARY');
  if (!deployment?.id) throw new Error(`ECS service ${names.service} has no PRIMARY deployment`);
  logger.info('preview deployment started', {
    app,
    stage,
    number,
    deploymentId: deployment.id,
    created: existing?.status !== 'ACTIVE',
  });
  return { deploymentId: deployment.id, startedAt: now };
}

export type CheckedPreview =
  | { readonly done: true }
  | { readonly done: false; readonly progress: string; readonly waitSeconds: number };

/** Check Preview: done, still deploying (wait and look again), or failed with the stopped tasks' reasons. */
export async function checkPreview(
  prepared: PreparedPreview,
  deployment: DeployedPreview,
  deps: PreviewDeps,
): Promise<CheckedPreview> {
  const names = previewNames(prepared.app, prepared.stage, prepared.number);
  const service = await describeService(names.cluster, names.service, deps.clients.ecs);
  const verdict = judgeDeployment(service, deployment.deploymentId);
  if (verdict.state === 'COMPLETED') return { done: true };
  const elapsed = (deps.now().getTime() - Date.parse(deployment.startedAt)) / 1000;
  if (verdict.state === 'IN_PROGRESS' && elapsed < DEPLOY_TIMEOUT_SECONDS) {
    return { done: false, progress: verdict.progress, waitSeconds: CHECK_INTERVAL_SECONDS };
  }
  const stopped = await stoppedTasksOf(names.cluster, deployment.deploymentId, 3, deps.clients.ecs);
  const reasons = [...new Set(stopped.map((t) => t.stoppedReason).filter(Boolean))].join('; ');
  const why =
    verdict.state === 'FAILED'
      ? verdict.reason
      : `not healthy after ${DEPLOY_TIMEOUT_SECONDS / 60} minutes (${verdict.progress})`;
  throw new PreviewDeploymentFailed(
    `preview pr-${prepared.number} of ${prepared.app}/${prepared.stage} (commit ${prepared.commit.slice(0, 12)}) did not start: ${why}${reasons ? `; stopped tasks: ${reasons}` : ''}`,
  );
}

function recordOf(
  prepared: PreparedPreview,
  before: PreviewRecord | undefined,
  now: string,
  status: PreviewRecord['status'],
  error?: string,
): PreviewRecord {
  const { app, stage, number, commit, image, url } = prepared;
  return {
    app,
    stage,
    number,
    commit,
    image,
    url,
    status,
    ...(error ? { error } : {}),
    ...((prepared.branch ?? before?.branch) ? { branch: prepared.branch ?? before?.branch } : {}),
    createdAt: before?.createdAt ?? now,
    updatedAt: now,
  };
}

/** Record Preview: the preview serves; its record says so (and since when it was last updated). */
export async function recordPreview(prepared: PreparedPreview, deps: PreviewDeps): Promise<PreviewRecord> {
  const { app, stage, number } = prepared;
  const before = await getPreviewRecord(deps.bucket, app, stage, number, deps.clients.s3);
  const record = recordOf(prepared, before, deps.now().toISOString(), 'serving');
  await putPreviewRecord(deps.bucket, record, deps.clients.s3);
  return record;
}

/** The failure the state machine ends with: `Error` and a Cause naming the step. */
export interface PreviewFailure {
  readonly error: string;
  readonly cause: string;
}

/** The state of a failed execution as Mark Failed gets it: how far it came, and the Catch's error. */
export const failedExecutionSchema = z.object({
  /** As the execution got it: anything, when the input was bad. */
  action: z.unknown().optional(),
  prepared: preparedPreviewSchema.optional(),
  deployment: deployedPreviewSchema.optional(),
  error: z.object({ Error: z.string(), Cause: z.string().optional() }),
});
export type FailedExecution = z.output<typeof failedExecutionSchema>;

/**
 * Mark Failed: explains a failed execution (`<step> failed: <message>`) and, when the preview's
 * resources were already being made, marks its record `failed` so that closing the pull request
 * or the expiry still removes them.
 */
export async function failPreview(execution: FailedExecution, deps: PreviewDeps): Promise<PreviewFailure> {
  const failure = explainFailure(execution);
  if (!execution.prepared) return failure;
  const { app, stage, number } = execution.prepared;
  try {
    const before = await getPreviewRecord(deps.bucket, app, stage, number, deps.clients.s3);
    const record = recordOf(execution.prepared, before, deps.now().toISOString(), 'failed', failure.cause);
    await putPreviewRecord(deps.bucket, record, deps.clients.s3);
  } catch (error) {
    // The execution fails all the same, with the step's error; the record says `deploying`,
    // which removal and expiry also find.
    logger.error('could not mark the preview failed', { app, stage, number, error });
    return {
      ...failure,
      cause: `${failure.cause} (its record could not be marked failed: ${(error as Error).message})`,
    };
  }
  return failure;
}

/** The step that failed (how far the execution came tells), and its error's message. */
export function explainFailure(execution: FailedExecution): PreviewFailure {
  const step =
    execution.action === 'remove'
      ? 'Remove Preview'
      : !execution.prepared
        ? 'Prepare Preview'
        : !execution.deployment
          ? 'Deploy Preview'
          : 'Check Preview';
  const explained = explainCaught(step, execution.error);
  return { error: explained.Error, cause: explained.Cause ?? '' };
}

export interface RemovedPreview {
  readonly app: string;
  readonly stage: string;
  readonly number: number;
  readonly reason: string;
  /** Task-definition revisions deleted. */
  readonly revisionsDeleted: number;
  readonly status: 'REMOVED';
}

/**
 * Remove Preview: its routes first (no more traffic), then its service, the rest of the route
 * (Cloud Map service or target group, once the task has stopped), its task definitions and last
 * its record. Throws `PreviewStillDraining` while something cannot go yet: the state machine
 * retries, and every part already gone is skipped.
 */
export async function removePreview(input: RemovePreviewInput, deps: PreviewDeps): Promise<RemovedPreview> {
  const { app, stage, number, reason } = input;
  findPreviewStage(deps.config, app, stage);
  const names = previewNames(app, stage, number);
  const frontDoor = await readFrontDoor(app, stage, deps);
  await deleteService(names.cluster, names.service, deps.clients.ecs).catch(async (error) => {
    // Stop the traffic while the task drains: the routes go on the first attempt.
    await removeRoute(frontDoor, input, deps.clients).catch(() => undefined);
    throw error;
  });
  await removeRoute(frontDoor, input, deps.clients);
  const revisionsDeleted = await deleteFamily(names.taskFamily, deps.clients.ecs);
  await deletePreviewRecord(deps.bucket, app, stage, number, deps.clients.s3);
  logger.info('preview removed', { app, stage, number, reason, revisionsDeleted });
  return { app, stage, number, reason, revisionsDeleted, status: 'REMOVED' };
}

/** A removal the expiry started. */
export interface ExpiredPreview {
  readonly app: string;
  readonly stage: string;
  readonly number: number;
  readonly updatedAt: string;
  readonly executionArn: string;
}

/**
 * The hourly expiry: starts the removal of every preview no push has updated for `ttlHours`.
 * Executions are named after the record's `updatedAt`, so a second run within the hour starts
 * nothing new.
 */
export async function expirePreviews(stateMachineArn: string, deps: PreviewDeps): Promise<ExpiredPreview[]> {
  const started: ExpiredPreview[] = [];
  const now = deps.now().getTime();
  for (const [app, appConfig] of Object.entries(deps.config.apps)) {
    const previews = appConfig.previews;
    if (!previews) continue;
    const records = await listPreviewRecords(deps.bucket, app, previews.stage, deps.clients.s3);
    for (const record of records.filter((r) => isExpired(r, previews.ttlHours, now))) {
      const stamp = record.updatedAt.replace(/[^0-9]/g, '').slice(0, 14);
      const name = `${app}-${previews.stage}-pr-${record.number}-expired-${stamp}`.slice(0, 80);
      const input = {
        app,
        stage: previews.stage,
        number: record.number,
        action: 'remove',
        reason: 'expired',
      };
      const execution = await startNamedExecution(stateMachineArn, name, input, deps.clients.sfn);
      started.push({
        app,
        stage: previews.stage,
        number: record.number,
        updatedAt: record.updatedAt,
        executionArn: execution.executionArn,
      });
    }
  }
  if (started.length > 0) logger.info('expired previews', { started });
  return started;
}
