import {
  CreateServiceCommand as CreateEcsServiceCommand,
  DeleteServiceCommand as DeleteEcsServiceCommand,
  ECSClient,
  InvalidParameterException,
} from '@aws-sdk/client-ecs';
import {
  AddTagsCommand,
  CreateRuleCommand,
  type CreateRuleCommandInput,
  CreateTargetGroupCommand,
  type CreateTargetGroupCommandInput,
  DeleteRuleCommand,
  DeleteTargetGroupCommand,
  DescribeListenersCommand,
  DescribeRulesCommand,
  DescribeTagsCommand,
  DescribeTargetGroupsCommand,
  DuplicateTargetGroupNameException,
  ElasticLoadBalancingV2Client,
  ListenerNotFoundException,
  OperationNotPermittedException,
  PriorityInUseException,
  ResourceInUseException,
  RuleNotFoundException,
  TargetGroupNotFoundException,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stageNames } from '#shared/naming.ts';
import { registerAs } from '../support/revisions.ts';
import { clientConfig, newDataDir, removeDataDir, testAccount, testConfig } from './support.ts';

const names = stageNames('shop', 'dev');
const PREVIEW_GROUP = 'sp-0123abcd-pr-1';
const PREVIEW_SERVICE = `${names.service}-pr-1`;

describe('emulated ELBv2', () => {
  let dataDir: string;
  let elb: ElasticLoadBalancingV2Client;
  let ecs: ECSClient;
  let setup: Awaited<ReturnType<typeof testAccount>>;
  let stageGroupArn: string;
  let listenerArn: string;
  let vpcId: string;

  beforeEach(async () => {
    dataDir = newDataDir();
    setup = await testAccount({ dataDir, config: testConfig({ scale: 'hyperscale' }) });
    elb = new ElasticLoadBalancingV2Client(clientConfig);
    ecs = new ECSClient(clientConfig);
    setup.account.attach([elb, ecs]);
    const stage = setup.account.ecs.services(names.cluster).find((s) => s.serviceName === names.service);
    stageGroupArn = stage?.loadBalancers?.[0]?.targetGroupArn ?? '';
    const { TargetGroups } = await elb.send(
      new DescribeTargetGroupsCommand({ TargetGroupArns: [stageGroupArn] }),
    );
    const loadBalancerArn = TargetGroups?.[0]?.LoadBalancerArns?.[0];
    const { Listeners } = await elb.send(new DescribeListenersCommand({ LoadBalancerArn: loadBalancerArn }));
    listenerArn = Listeners?.[0]?.ListenerArn ?? '';
    vpcId = TargetGroups?.[0]?.VpcId ?? '';
  });
  afterEach(() => removeDataDir(dataDir));

  /** What the preview state machine sends to create a preview's target group. */
  const previewGroup = (): CreateTargetGroupCommandInput => ({
    Name: PREVIEW_GROUP,
    Protocol: 'HTTP',
    Port: 80,
    VpcId: vpcId,
    TargetType: 'instance',
    HealthCheckProtocol: 'HTTP',
    HealthCheckPort: 'traffic-port',
    HealthCheckPath: '/',
    Matcher: { HttpCode: '200-399' },
    HealthCheckIntervalSeconds: 15,
    HealthyThresholdCount: 2,
    UnhealthyThresholdCount: 3,
    Tags: [{ Key: 'stackpilot:preview', Value: '1' }],
  });

  /** What it sends to route `/pr-1` to it. */
  const previewRule = (targetGroupArn: string, priority = 1000): CreateRuleCommandInput => ({
    ListenerArn: listenerArn,
    Priority: priority,
    Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/pr-1', '/pr-1/*'] } }],
    Actions: [{ Type: 'forward', TargetGroupArn: targetGroupArn }],
    Transforms: [
      { Type: 'url-rewrite', UrlRewriteConfig: { Rewrites: [{ Regex: '^/pr-1/?(.*)$', Replace: '/$1' }] } },
    ],
  });

  /** A preview's ECS service, one task of the stage's revision, registered in the target group. */
  async function createPreviewService(targetGroupArn: string) {
    const registeredArn = await registerAs(ecs, names.taskFamily, PREVIEW_SERVICE);
    return ecs.send(
      new CreateEcsServiceCommand({
        cluster: names.cluster,
        serviceName: PREVIEW_SERVICE,
        taskDefinition: registeredArn,
        desiredCount: 1,
        loadBalancers: [{ targetGroupArn, containerName: 'app', containerPort: 80 }],
      }),
    );
  }

  it("holds the stage's target group and listener from the template: the listener forwards to the group by default", async () => {
    expect(stageGroupArn).toMatch(
      /^arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup\/[\w-]{1,32}\/[0-9a-f]{16}$/,
    );
    expect(listenerArn).toMatch(
      /^arn:aws:elasticloadbalancing:us-east-1:123456789012:listener\/app\/.+\/[0-9a-f]{16}\/[0-9a-f]{16}$/,
    );
    const { Rules } = await elb.send(new DescribeRulesCommand({ ListenerArn: listenerArn }));
    expect(Rules).toEqual([
      expect.objectContaining({
        Priority: 'default',
        IsDefault: true,
        Conditions: [],
        Actions: [{ Type: 'forward', TargetGroupArn: stageGroupArn }],
      }),
    ]);
    const { TargetGroups } = await elb.send(
      new DescribeTargetGroupsCommand({ TargetGroupArns: [stageGroupArn] }),
    );
    expect(TargetGroups?.[0]).toMatchObject({
      Protocol: 'HTTP',
      Port: 80,
      HealthCheckPort: 'traffic-port',
      HealthCheckIntervalSeconds: 15,
      Matcher: { HttpCode: '200-399' },
      TargetType: 'instance',
    });
    expect(vpcId).toMatch(/^vpc-[0-9a-f]{17}$/);
  });

  it('creates a target group, finds it by name, answers the same request with it and refuses other settings', async () => {
    const missing = await elb
      .send(new DescribeTargetGroupsCommand({ Names: [PREVIEW_GROUP] }))
      .catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(TargetGroupNotFoundException);
    expect((missing as Error).message).toBe('One or more target groups not found');

    const created = await elb.send(new CreateTargetGroupCommand(previewGroup()));
    const group = created.TargetGroups?.[0];
    expect(group).toMatchObject({
      TargetGroupName: PREVIEW_GROUP,
      HealthCheckPath: '/',
      HealthyThresholdCount: 2,
      UnhealthyThresholdCount: 3,
      HealthCheckTimeoutSeconds: 5,
      LoadBalancerArns: [],
    });
    const found = await elb.send(new DescribeTargetGroupsCommand({ Names: [PREVIEW_GROUP] }));
    expect(found.TargetGroups?.[0]?.TargetGroupArn).toBe(group?.TargetGroupArn);
    const same = await elb.send(new CreateTargetGroupCommand(previewGroup()));
    expect(same.TargetGroups?.[0]?.TargetGroupArn).toBe(group?.TargetGroupArn);
    await expect(
      elb.send(new CreateTargetGroupCommand({ ...previewGroup(), HealthCheckPath: '/other' })),
    ).rejects.toBeInstanceOf(DuplicateTargetGroupNameException);
    await expect(
      elb.send(
        new CreateTargetGroupCommand({ ...previewGroup(), Name: 'a-name-that-is-longer-than-32-chars' }),
      ),
    ).rejects.toMatchObject({ name: 'ValidationError' });

    await elb.send(
      new AddTagsCommand({ ResourceArns: [group?.TargetGroupArn ?? ''], Tags: [{ Key: 'k', Value: 'v' }] }),
    );
    const { TagDescriptions } = await elb.send(
      new DescribeTagsCommand({ ResourceArns: [group?.TargetGroupArn ?? ''] }),
    );
    expect(TagDescriptions?.[0]?.Tags).toEqual([
      { Key: 'stackpilot:preview', Value: '1' },
      { Key: 'k', Value: 'v' },
    ]);
  });

  it('adds a rule forwarding to the group, refusing a priority in use, and lists the rules by priority, the default last', async () => {
    const arn =
      (await elb.send(new CreateTargetGroupCommand(previewGroup()))).TargetGroups?.[0]?.TargetGroupArn ?? '';
    const created = await elb.send(new CreateRuleCommand(previewRule(arn)));
    expect(created.Rules?.[0]).toMatchObject({ Priority: '1000', IsDefault: false });
    const taken = await elb.send(new CreateRuleCommand(previewRule(arn))).catch((e: unknown) => e);
    expect(taken).toBeInstanceOf(PriorityInUseException);
    expect((taken as Error).message).toBe("Priority '1000' is currently in use");
    await expect(
      elb.send(new CreateRuleCommand(previewRule(`${arn.slice(0, -16)}0000000000000000`, 1001))),
    ).rejects.toBeInstanceOf(TargetGroupNotFoundException);
    await expect(
      elb.send(new CreateRuleCommand({ ...previewRule(arn, 1001), ListenerArn: `${listenerArn}0` })),
    ).rejects.toBeInstanceOf(ListenerNotFoundException);

    const { Rules } = await elb.send(new DescribeRulesCommand({ ListenerArn: listenerArn }));
    expect(Rules?.map((r) => r.Priority)).toEqual(['1000', 'default']);
    expect(Rules?.[0]).toMatchObject({
      Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/pr-1', '/pr-1/*'] } }],
      Actions: [{ Type: 'forward', TargetGroupArn: arn }],
      Transforms: [
        { Type: 'url-rewrite', UrlRewriteConfig: { Rewrites: [{ Regex: '^/pr-1/?(.*)$', Replace: '/$1' }] } },
      ],
    });
    const byArn = await elb.send(new DescribeRulesCommand({ RuleArns: [Rules?.[0]?.RuleArn ?? ''] }));
    expect(byArn.Rules?.map((r) => r.Priority)).toEqual(['1000']);
    const group = await elb.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [arn] }));
    expect(group.TargetGroups?.[0]?.LoadBalancerArns).toHaveLength(1);

    await expect(elb.send(new DeleteRuleCommand({ RuleArn: Rules?.[1]?.RuleArn }))).rejects.toBeInstanceOf(
      OperationNotPermittedException,
    );
    await elb.send(new DeleteRuleCommand({ RuleArn: Rules?.[0]?.RuleArn }));
    await expect(elb.send(new DeleteRuleCommand({ RuleArn: Rules?.[0]?.RuleArn }))).rejects.toBeInstanceOf(
      RuleNotFoundException,
    );
  });

  it('refuses an ECS service on a target group no load balancer forwards to, as ECS does', async () => {
    const arn =
      (await elb.send(new CreateTargetGroupCommand(previewGroup()))).TargetGroups?.[0]?.TargetGroupArn ?? '';
    const refused = await createPreviewService(arn).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(InvalidParameterException);
    expect((refused as Error).message).toBe(
      `The target group with targetGroupArn ${arn} does not have an associated load balancer.`,
    );
  });

  it('refuses to delete a target group while a rule forwards to it or a service has targets in it', async () => {
    const arn =
      (await elb.send(new CreateTargetGroupCommand(previewGroup()))).TargetGroups?.[0]?.TargetGroupArn ?? '';
    const rule = (await elb.send(new CreateRuleCommand(previewRule(arn)))).Rules?.[0];
    await createPreviewService(arn);
    setup.account.ecs.settle(names.cluster, PREVIEW_SERVICE);

    const byRule = await elb
      .send(new DeleteTargetGroupCommand({ TargetGroupArn: arn }))
      .catch((e: unknown) => e);
    expect(byRule).toBeInstanceOf(ResourceInUseException);
    expect((byRule as Error).message).toBe(
      `Target group '${arn}' is currently in use by a listener or a rule`,
    );
    await expect(
      elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: stageGroupArn })),
    ).rejects.toBeInstanceOf(ResourceInUseException);

    await elb.send(new DeleteRuleCommand({ RuleArn: rule?.RuleArn }));
    await expect(elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: arn }))).rejects.toBeInstanceOf(
      ResourceInUseException,
    );
    await ecs.send(
      new DeleteEcsServiceCommand({ cluster: names.cluster, service: PREVIEW_SERVICE, force: true }),
    );
    setup.advance(10_000);
    await elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: arn }));
    await expect(
      elb.send(new DescribeTargetGroupsCommand({ Names: [PREVIEW_GROUP] })),
    ).rejects.toBeInstanceOf(TargetGroupNotFoundException);
    // Deleting it again succeeds, as on AWS.
    await elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: arn }));
  });
});
