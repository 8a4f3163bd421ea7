/**
 * The first release of a stage and the `cdk deploy` after it, on the emulated account created
 * from the synthesized templates: the release starts from exactly the revision the template
 * registers (the BusyBox placeholder), and a later deploy that changes `cpu` registers a
 * revision that runs the released image with the new cpu, never the placeholder again.
 */
import type { TaskDefinition } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toRegisterTaskDefinition } from '../../../sandbox/templates/index.ts';
import { SHARED_TEMPLATE_CACHE } from '../../../sandbox/templates/synth.ts';
import { clients } from '../../../shared/aws/clients.ts';
import { CONFIG_ENV, parseConfig, type StackpilotConfig } from '../../../shared/config.ts';
import { stageNames } from '../../../shared/naming.ts';
import { describeService, describeTaskDefinition } from '../../../shared/release/ecs.ts';
import { NO_RELEASE, PLACEHOLDER_IMAGE, PLACEHOLDER_LABEL } from '../../../shared/release/placeholder.ts';
import { createReleaseAccount, type ReleaseAccount } from './release-tasks.ts';

const names = stageNames('starter', 'dev');
const commit = 'a'.repeat(40);

/** The configuration with the app's cpu changed: what an operator edits before `cdk deploy`. */
function withCpu(config: StackpilotConfig, cpu: number): StackpilotConfig {
  const changed = structuredClone(config) as unknown as { apps: { starter: { cpu: number } } };
  changed.apps.starter.cpu = cpu;
  return parseConfig(changed);
}

describe('the first release and the cdk deploy after it', () => {
  let t: ReleaseAccount;
  let image: string;

  // No earlier release: the stage is as `cdk deploy` left it.
  beforeAll(async () => {
    t = await createReleaseAccount({ running: 1 });
    image = `${t.repository}:${commit}`;
    process.env[CONFIG_ENV] = JSON.stringify(t.config);
  });
  afterAll(() => {
    t.dispose();
  });

  const running = async (): Promise<TaskDefinition> => {
    const { taskDefinition } = await describeService(names.cluster, names.service, clients.ecs);
    return (await describeTaskDefinition(taskDefinition ?? '', clients.ecs)).taskDefinition;
  };
  const app = (definition: TaskDefinition) => definition.containerDefinitions?.find((c) => c.name === 'app');
  const releasedImage = () => t.account.ssm.value(names.releasedImageParameter);

  it('starts from exactly the revision the synthesized template registers: the placeholder', async () => {
    const stack = t.account.deployed.app.stack('Stackpilot-starter-dev');
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
    const result = await t.release({ app: 'starter', stage: 'dev', image, commit }, 'first');
    expect(result.status, result.cause).toBe('SUCCEEDED');
    const revision2 = await running();
    expect(revision2.revision).toBe(2);
    expect(app(revision2)?.image).toBe(image);
    expect(app(revision2)).not.toHaveProperty('command');
    expect(app(revision2)).not.toHaveProperty('dockerLabels');
    expect(app(revision2)?.cpu).toBe(t.config.apps.starter?.cpu);
    const { tags } = await describeTaskDefinition(revision2.taskDefinitionArn ?? '', clients.ecs);
    expect(tags).toEqual(
      expect.arrayContaining([
        { key: 'stackpilot:app', value: 'starter' },
        { key: 'stackpilot:stage', value: 'dev' },
        { key: 'stackpilot:commit', value: commit },
      ]),
    );
    expect(releasedImage()).toBe(image);
  });

  it('a cdk deploy that changes cpu registers the released image with the new cpu, and the service moves to it', async () => {
    await t.account.deployApp(SHARED_TEMPLATE_CACHE, withCpu(t.config, 512));
    const revision3 = await running();
    expect(revision3.revision).toBe(3);
    expect(app(revision3)).toMatchObject({ image, cpu: 512 });
    expect(app(revision3)).not.toHaveProperty('command');
    expect(app(revision3)).not.toHaveProperty('dockerLabels');
    // CloudFormation deletes the revision it replaced (the placeholder); the release's stays.
    expect((await describeTaskDefinition(`${names.taskFamily}:1`, clients.ecs)).taskDefinition.status).toBe(
      'INACTIVE',
    );
    expect((await describeTaskDefinition(`${names.taskFamily}:2`, clients.ecs)).taskDefinition.status).toBe(
      'ACTIVE',
    );
  });

  it('a cdk deploy that changes nothing leaves the running revision alone', async () => {
    await t.account.deployApp(SHARED_TEMPLATE_CACHE, withCpu(t.config, 512));
    expect((await running()).revision).toBe(3);
  });
});
