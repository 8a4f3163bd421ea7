import { afterEach, describe, expect, it } from 'vitest';
import { stageNames } from '#shared/naming.ts';
import { NO_RELEASE } from '#shared/release/placeholder.ts';
import { createEmulatedAccount, manualClock } from '../../../sandbox/account/index.ts';
import { SHARED_TEMPLATE_CACHE } from '../../../sandbox/templates/synth.ts';
import { newDataDir, removeDataDir, testConfig } from './support.ts';

const names = stageNames('shop', 'dev');

describe('the account created from the templates', () => {
  let dataDir: string | undefined;
  afterEach(() => dataDir && removeDataDir(dataDir));

  async function deployed(stage: Record<string, unknown> = {}) {
    dataDir = newDataDir();
    const config = testConfig(stage);
    const account = createEmulatedAccount({ dataDir, config, clock: manualClock() });
    const app = await account.deployApp(SHARED_TEMPLATE_CACHE);
    return { account, app, config };
  }

  it("runs the service at the stage's minimum (the template's Custom::AWS updateService), steady on revision 1", async () => {
    const { account } = await deployed({ tasks: { min: 2, max: 4 }, instances: { min: 2, max: 3 } });
    const service = account.ecs.commands.DescribeServices({
      cluster: names.cluster,
      services: [names.service],
    }).services?.[0];
    expect(service).toMatchObject({ desiredCount: 2, runningCount: 2, pendingCount: 0 });
    expect(service?.taskDefinition).toMatch(/task-definition\/stackpilot-shop-dev:1$/);
    // The control plane's custom resource created the stage's released-image parameter, so the
    // stage's task definition resolved it: no release yet, the placeholder.
    expect(account.ssm.value(names.releasedImageParameter)).toBe(NO_RELEASE);
    const group = account.autoScaling.view(names.autoScalingGroup);
    expect(group).toMatchObject({ min: 2, max: 3, desired: 2 });
    // The instances joined the cluster the launch template's user data names.
    expect(account.ecs.view(names.cluster, names.service)?.instances).toHaveLength(2);
  });

  it('has the pipeline, the versioned source bucket and the secrets of the templates, and the rules with their state machine', async () => {
    const { account, app } = await deployed();
    expect(account.codePipeline.commands.ListPipelines().pipelines?.map((p) => p.name)).toEqual([
      names.pipeline,
    ]);
    expect(account.s3.commands.GetBucketVersioning({ Bucket: account.sourceBucket }).Status).toBe('Enabled');
    for (const variable of ['GITHUB_WEBHOOK_SECRET_ARN', 'GITLAB_WEBHOOK_TOKEN_ARN']) {
      const arn = app.environment[variable] ?? '';
      expect(account.secretsManager.nameOf(arn), variable).toBeDefined();
    }
    // The rules that start a state machine (the others go to functions and to the alert topic).
    const toStateMachines = app.rules.filter((r) => r.targets.some((t) => t.includes(':states:')));
    expect(toStateMachines.map((r) => [r.pattern['detail-type'], r.targets])).toEqual([
      [
        ['CloudWatch Alarm State Change'],
        ['arn:aws:states:us-east-1:123456789012:stateMachine:stackpilot-scale'],
      ],
      [['ECS Service Action'], ['arn:aws:states:us-east-1:123456789012:stateMachine:stackpilot-scale']],
    ]);
  });

  it('changes nothing when deployed again (a restart): no new revision, custom resources not run again', async () => {
    const { account, config } = await deployed({ tasks: { min: 2, max: 4 }, instances: { min: 2, max: 3 } });
    account.ecs.commands.UpdateService({ cluster: names.cluster, service: names.service, desiredCount: 3 });
    account.flush();
    const restarted = createEmulatedAccount({ dataDir: account.dataDir, config, clock: manualClock() });
    await restarted.deployApp(SHARED_TEMPLATE_CACHE);
    expect(
      restarted.ecs.commands.ListTaskDefinitions({ familyPrefix: names.taskFamily }).taskDefinitionArns,
    ).toHaveLength(1);
    // The initial desired count is a Create call: it does not undo what scaling did.
    expect(
      restarted.ecs.commands.DescribeServices({ cluster: names.cluster, services: [names.service] })
        .services?.[0]?.desiredCount,
    ).toBe(3);
  });
});
