/**
 * The first release of a stage and the `cdk deploy` after it, on the emulated account created
 * from the synthesized templates: the release starts from exactly the revision the template
 * registers (the BusyBox placeholder), and a later deploy that changes `cpu` registers a
 * revision that runs the released image with the new cpu, never the placeholder again.
 */
import type { TaskDefinition } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDeployment } from '../../../functions/check-deployment/handler.ts';
import { prepareRelease } from '../../../functions/prepare-release/handler.ts';
import { recordRelease } from '../../../functions/record-release/handler.ts';
import { registerReleaseRevision } from '../../../functions/register-task-definition/handler.ts';
import { rollBackRelease } from '../../../functions/roll-back-release/handler.ts';
import { updateService } from '../../../functions/update-service/handler.ts';
import { loadDefinition, runStateMachine } from '../../../sandbox/state-machines.ts';
import { toRegisterTaskDefinition } from '../../../sandbox/templates/index.ts';
import { SHARED_TEMPLATE_CACHE } from '../../../sandbox/templates/synth.ts';
import { clients } from '../../../shared/aws/clients.ts';
import { describeService, describeTaskDefinition } from '../../../shared/aws/ecs-release.ts';
import { HISTORY_BUCKET_ENV } from '../../../shared/aws/release-history.ts';
import {
  CONFIG_ENV,
  parseConfig,
  resetRuntimeConfig,
  type StackpilotConfig,
} from '../../../shared/config.ts';
import { toTaskError } from '../../../shared/errors.ts';
import { stageNames } from '../../../shared/naming.ts';
import { NO_RELEASE, PLACEHOLDER_IMAGE, PLACEHOLDER_LABEL } from '../../../shared/release/placeholder.ts';
import { newDataDir, removeDataDir, testAccount, testConfig } from '../sandbox-account/support.ts';

const names = stageNames('shop', 'dev');
const commit = 'a'.repeat(40);
const image = `123456789012.dkr.ecr.us-east-1.amazonaws.com/stackpilot/shop:${commit}`;

/** The test configuration with the app's cpu changed: what an operator edits before `cdk deploy`. */
function withCpu(cpu: number): StackpilotConfig {
  const config = structuredClone(testConfig()) as unknown as { apps: { shop: { cpu: number } } };
  config.apps.shop.cpu = cpu;
  return parseConfig(config);
}

describe('the first release and the cdk deploy after it', () => {
  let dataDir: string;
  let setup: Awaited<ReturnType<typeof testAccount>>;

  beforeAll(async () => {
    dataDir = newDataDir();
    setup = await testAccount({ dataDir, config: testConfig() });
    setup.account.attach(clients);
    setup.account.s3.ensureBucket(setup.account.releaseHistoryBucket);
    process.env[CONFIG_ENV] = JSON.stringify(testConfig());
    process.env[HISTORY_BUCKET_ENV] = setup.account.releaseHistoryBucket;
    resetRuntimeConfig();
  });
  afterAll(() => {
    removeDataDir(dataDir);
    resetRuntimeConfig();
  });

  const now = () => setup.clock.now();
  const task =
    <T>(fn: (input: unknown) => Promise<T>) =>
    async (input: unknown) => {
      try {
        return await fn(input);
      } catch (error) {
        throw toTaskError(error);
      }
    };
  const check = task((input) => {
    setup.advance((input as { deployment: { waitSeconds: number } }).deployment.waitSeconds * 1000);
    return checkDeployment(input, { now });
  });
  const release = (input: unknown, executionName: string) =>
    runStateMachine(loadDefinition('release'), input, {
      executionName,
      tasks: {
        'Prepare Release': task((i) => prepareRelease(i, { now })),
        'Register Task Definition': task(registerReleaseRevision),
        'Update Service': task((i) => updateService(i, { now })),
        'Check Deployment': check,
        'Roll Back': task((i) => rollBackRelease(i, { now })),
        'Check Rollback': check,
        'Record Release': task((i) => recordRelease(i, { now })),
        'Record Failed Release': task((i) => recordRelease(i, { now })),
      },
    });
  const running = async (): Promise<TaskDefinition> => {
    const { taskDefinition } = await describeService(names.cluster, names.service);
    return (await describeTaskDefinition(taskDefinition ?? '')).taskDefinition;
  };
  const app = (definition: TaskDefinition) => definition.containerDefinitions?.find((c) => c.name === 'app');
  const releasedImage = () => setup.account.ssm.value(names.releasedImageParameter);

  it('starts from exactly the revision the synthesized template registers: the placeholder', async () => {
    const stack = setup.account.deployed.app.stack('Stackpilot-shop-dev');
    const [logicalId] = stack.logicalIds('AWS::ECS::TaskDefinition');
    const fromTemplate = toRegisterTaskDefinition(stack.properties(logicalId as string));
    const revision1 = await running();
    expect(revision1.revision).toBe(1);
    expect(revision1.containerDefinitions).toEqual(fromTemplate.containerDefinitions);
    expect(app(revision1)).toMatchObject({
      image: PLACEHOLDER_IMAGE,
      command: ['sh', '-c', expect.stringContaining('httpd')],
      dockerLabels: { [PLACEHOLDER_LABEL]: 'true' },
    });
    expect(releasedImage()).toBe(NO_RELEASE);
  });

  it('releases the first image into the placeholder container, without its command or label', async () => {
    const result = await release({ app: 'shop', stage: 'dev', image, commit }, 'first');
    expect(result.status, result.cause).toBe('SUCCEEDED');
    const revision2 = await running();
    expect(revision2.revision).toBe(2);
    expect(app(revision2)?.image).toBe(image);
    expect(app(revision2)).not.toHaveProperty('command');
    expect(app(revision2)).not.toHaveProperty('dockerLabels');
    expect(app(revision2)?.cpu).toBe(256);
    const { tags } = await describeTaskDefinition(revision2.taskDefinitionArn ?? '');
    expect(tags).toEqual(
      expect.arrayContaining([
        { key: 'stackpilot:app', value: 'shop' },
        { key: 'stackpilot:stage', value: 'dev' },
        { key: 'stackpilot:commit', value: commit },
      ]),
    );
    expect(releasedImage()).toBe(image);
  });

  it('a cdk deploy that changes cpu registers the released image with the new cpu, and the service moves to it', async () => {
    await setup.account.deployApp(SHARED_TEMPLATE_CACHE, withCpu(512));
    const revision3 = await running();
    expect(revision3.revision).toBe(3);
    expect(app(revision3)).toMatchObject({ image, cpu: 512 });
    expect(app(revision3)).not.toHaveProperty('command');
    expect(app(revision3)).not.toHaveProperty('dockerLabels');
    // CloudFormation deletes the revision it replaced (the placeholder); the release's stays.
    expect((await describeTaskDefinition(`${names.taskFamily}:1`)).taskDefinition.status).toBe('INACTIVE');
    expect((await describeTaskDefinition(`${names.taskFamily}:2`)).taskDefinition.status).toBe('ACTIVE');
  });

  it('a cdk deploy that changes nothing leaves the running revision alone', async () => {
    await setup.account.deployApp(SHARED_TEMPLATE_CACHE, withCpu(512));
    expect((await running()).revision).toBe(3);
  });
});
