/**
 * The release on moto, end to end: the control plane's `release` state machine definition (from
 * the template, placeholders resolved as CloudFormation resolves them) runs locally with its Task
 * states mapped to the production functions, and every AWS call they make goes to moto, on the
 * resources the templates create. First the release from the template's own revision (the
 * BusyBox placeholder), then a second one; then a `cdk deploy` after the release is checked to
 * keep the released image (the stage's task definition resolves the SSM parameter the release wrote).
 *
 * moto's gap: UpdateService accepts the new revision (the service's taskDefinition changes) but
 * starts no new PRIMARY deployment, so the production Update Service step cannot find the
 * deployment it must watch. The suite checks exactly that (the request accepted, the revision
 * set, no deployment of it), records the gap by name, and lets the execution go on watching the
 * deployment moto does list (its only one, COMPLETED): every later step still runs on moto.
 */
import { basename } from 'node:path';
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ListTagsForResourceCommand,
} from '@aws-sdk/client-ecs';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { beforeAll, describe, expect, it } from 'vitest';
import type * as z from 'zod';
import { type AslDefinition, runStateMachine } from '../../sandbox/state-machines.ts';
import { toCreateStateMachine, toRegisterTaskDefinition } from '../../sandbox/templates/index.ts';
import { parseInput } from '../../shared/errors.ts';
import { PLACEHOLDER_IMAGE, PLACEHOLDER_LABEL } from '../../shared/release/placeholder.ts';
import {
  checkDeployment,
  checkDeploymentInputSchema,
  prepareRelease,
  prepareReleaseInputSchema,
  type ReleaseDeps,
  recordRelease,
  recordReleaseInputSchema,
  registerReleaseRevision,
  releaseDeps,
  releaseStepInputSchema,
  rollBackInputSchema,
  rollBackRelease,
  updateService,
  updateServiceInputSchema,
} from '../../shared/release/steps.ts';
import { startTracker } from '../../shared/release/tracker.ts';
import { appTemplates, connectToMoto, motoEndpoint, recordGap } from './support/connect.ts';
import { type DeployedApp, deployApp, evaluatorFor, ssmValues } from './support/deploy.ts';
import { withEnvironment } from './support/functions.ts';

const CONTROL_PLANE = 'StackpilotControlPlane';
const STAGE_STACK = 'Stackpilot-starter-dev';
const CLUSTER = 'stackpilot-starter-dev';
const SERVICE = 'stackpilot-starter-dev';

/** A release step as its handler runs it: the input parsed with the handler's schema, then the step. */
const step =
  <S extends z.ZodType, T>(schema: S, run: (input: z.output<S>, deps: ReleaseDeps) => Promise<T>) =>
  (event: unknown) =>
    run(parseInput(schema, event), releaseDeps());

describe.skipIf(!motoEndpoint())('the release on moto', () => {
  const account = connectToMoto(basename(import.meta.filename));
  let app: DeployedApp;
  let definition: AslDefinition;
  const repository = () => `${account.accountId}.dkr.ecr.${account.region}.amazonaws.com/stackpilot/starter`;

  beforeAll(async () => {
    app = await deployApp(account, appTemplates());
    const machines = app.evaluator.stack(CONTROL_PLANE);
    const id = machines.logicalIds('AWS::StepFunctions::StateMachine').find((m) => m.startsWith('Release'));
    definition = JSON.parse(toCreateStateMachine(machines.properties(id as string)).definition ?? '{}');
  });

  /** Runs the release state machine with each Task mapped to its production function and environment. */
  async function release(input: Record<string, unknown>, executionName: string) {
    const env = (prefix: string) => app.functionEnvironment(CONTROL_PLANE, prefix);
    const task =
      <T>(prefix: string, run: (event: unknown) => Promise<T>) =>
      (event: unknown) =>
        withEnvironment(env(prefix), () => run(event));
    return runStateMachine(definition, input, {
      executionName,
      tasks: {
        'Prepare Release': task('ReleasePrepareRelease', step(prepareReleaseInputSchema, prepareRelease)),
        'Register Task Definition': task(
          'ReleaseRegisterTaskDefinition',
          step(releaseStepInputSchema, registerReleaseRevision),
        ),
        'Update Service': task('ReleaseUpdateService', updateServiceOnMoto),
        'Check Deployment': task('ReleaseCheckDeployment', step(checkDeploymentInputSchema, checkDeployment)),
        'Roll Back': task('ReleaseRollBackRelease', step(rollBackInputSchema, rollBackRelease)),
        'Check Rollback': task('ReleaseCheckDeployment', step(checkDeploymentInputSchema, checkDeployment)),
        'Record Release': task('ReleaseRecordRelease', step(recordReleaseInputSchema, recordRelease)),
        'Record Failed Release': task('ReleaseRecordRelease', step(recordReleaseInputSchema, recordRelease)),
      },
    });
  }

  /** The production Update Service; past moto's missing deployment only when that is all that failed. */
  async function updateServiceOnMoto(event: unknown) {
    try {
      return await step(updateServiceInputSchema, updateService)(event);
    } catch (error) {
      const { release, target } = event as {
        release: { cluster: string; service: string; timeoutMinutes: number };
        target: { taskDefinitionArn: string; revision: number };
      };
      const { services } = await app.clients.ecs.send(
        new DescribeServicesCommand({ cluster: release.cluster, services: [release.service] }),
      );
      const service = services?.[0];
      const deployments = service?.deployments ?? [];
      const gap =
        /ECS started no deployment/.test((error as Error).message) &&
        service?.taskDefinition === target.taskDefinitionArn &&
        !deployments.some((d) => d.taskDefinition === target.taskDefinitionArn);
      if (!gap) throw error;
      recordGap(account.record, {
        service: 'ECS',
        command: 'UpdateService (rollout)',
        reason:
          'moto accepts the new task definition but starts no new PRIMARY deployment (no rollouts): the release watches the deployment moto lists',
      });
      const listed = deployments.find((d) => d.status === 'PRIMARY');
      return startTracker(
        {
          kind: 'release',
          deploymentId: listed?.id as string,
          taskDefinitionArn: target.taskDefinitionArn,
          revision: target.revision,
        },
        release.timeoutMinutes,
        Date.now(),
      );
    }
  }

  async function runningRevision() {
    const { services } = await app.clients.ecs.send(
      new DescribeServicesCommand({ cluster: CLUSTER, services: [SERVICE] }),
    );
    // The service's own taskDefinition (moto does not update its deployments' one; see above).
    const arn = services?.[0]?.taskDefinition as string;
    const { taskDefinition } = await app.clients.ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: arn }),
    );
    const { tags } = await app.clients.ecs.send(new ListTagsForResourceCommand({ resourceArn: arn }));
    return { taskDefinition, tags: tags ?? [] };
  }

  it('starts on the template revision: the BusyBox placeholder in container app', async () => {
    const { taskDefinition } = await runningRevision();
    expect(taskDefinition?.revision).toBe(1);
    expect(taskDefinition?.containerDefinitions).toEqual([
      expect.objectContaining({
        name: 'app',
        image: PLACEHOLDER_IMAGE,
        command: expect.arrayContaining(['sh', '-c']),
        dockerLabels: { [PLACEHOLDER_LABEL]: 'true' },
      }),
    ]);
  });

  it('releases the first image onto the template revision, then a second one', async () => {
    const first = `${repository()}:${'a'.repeat(40)}`;
    const one = await release(
      { app: 'starter', stage: 'dev', image: first, commit: 'a'.repeat(40) },
      'first',
    );
    expect(one.error ?? one.status, one.cause).toBe('SUCCEEDED');
    expect(one.statesEntered).toEqual(
      expect.arrayContaining([
        'Register Task Definition',
        'Update Service',
        'Check Deployment',
        'Record Release',
        'Released',
      ]),
    );
    const afterFirst = await runningRevision();
    expect(afterFirst.taskDefinition?.revision).toBe(2);
    const [container] = afterFirst.taskDefinition?.containerDefinitions ?? [];
    expect(container).toMatchObject({ name: 'app', image: first, cpu: 256, memory: 256 });
    // What belonged to the placeholder is gone; the template's environment and ports stay.
    expect(container?.command ?? []).toEqual([]);
    expect(container?.dockerLabels?.[PLACEHOLDER_LABEL]).toBeUndefined();
    expect(container?.environment).toEqual(expect.arrayContaining([{ name: 'PORT', value: '8080' }]));
    expect(afterFirst.tags).toEqual(
      expect.arrayContaining([
        { key: 'stackpilot:app', value: 'starter' },
        { key: 'stackpilot:stage', value: 'dev' },
        { key: 'stackpilot:result', value: 'COMPLETED' },
      ]),
    );
    const parameter = await app.clients.ssm.send(
      new GetParameterCommand({ Name: '/stackpilot/starter/dev/released-image' }),
    );
    expect(parameter.Parameter?.Value).toBe(first);

    const second = `${repository()}:${'b'.repeat(40)}`;
    const two = await release({ app: 'starter', stage: 'dev', image: second }, 'second');
    expect(two.error ?? two.status, two.cause).toBe('SUCCEEDED');
    const afterSecond = await runningRevision();
    expect(afterSecond.taskDefinition?.revision).toBe(3);
    expect(afterSecond.taskDefinition?.containerDefinitions?.[0]?.image).toBe(second);
    // moto's deployment still names the template's revision (its gap), so the second release
    // copied revision 1 again: the placeholder's command and label were dropped a second time.
    expect(two.output.PrepareResult.current.revision).toBe(1);
    expect(afterSecond.taskDefinition?.containerDefinitions?.[0]?.command ?? []).toEqual([]);
  });

  it('keeps the released image in a cdk deploy after the release (the template resolves the SSM parameter)', async () => {
    const templates = appTemplates();
    const redeploy = evaluatorFor(account, templates, await ssmValues(app.clients, templates));
    const stage = redeploy.stack(STAGE_STACK);
    const [id] = stage.logicalIds('AWS::ECS::TaskDefinition');
    const input = toRegisterTaskDefinition(stage.properties(id as string));
    const [container] = input.containerDefinitions ?? [];
    expect(container?.image).toBe(`${repository()}:${'b'.repeat(40)}`);
    expect(container?.command).toBeUndefined();
    expect(container?.dockerLabels).toBeUndefined();
  });
});
