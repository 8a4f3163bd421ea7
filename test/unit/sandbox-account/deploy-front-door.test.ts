/**
 * The front door resources of a stage stack, deployed into the emulated account: the ids the
 * stack's references give (API, VPC link, namespace, listener, VPC) are the ones the emulators
 * answer to, and an SSM parameter built from them (the stage's front door parameter) is readable.
 */
import {
  ApiGatewayV2Client,
  CreateIntegrationCommand,
  GetApisCommand,
  GetRoutesCommand,
} from '@aws-sdk/client-apigatewayv2';
import {
  DescribeRulesCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { CreateServiceCommand, ServiceDiscoveryClient } from '@aws-sdk/client-servicediscovery';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterEach, describe, expect, it } from 'vitest';
import { createEmulatedAccount, manualClock } from '../../../sandbox/account/index.ts';
import type { Template } from '../../../sandbox/templates/template.ts';
import { clientConfig, newDataDir, removeDataDir, testConfig } from './support.ts';

const join = (...parts: unknown[]) => ({ 'Fn::Join': ['', parts] });

/** A stage stack's front door resources, both tiers, and their parameters. */
function frontDoorTemplate(url: unknown = { 'Fn::GetAtt': ['Api', 'ApiEndpoint'] }): Template {
  return {
    Resources: {
      Vpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.0.0.0/16' } },
      Namespace: {
        Type: 'AWS::ServiceDiscovery::PrivateDnsNamespace',
        Properties: { Name: 'dev.shop.stackpilot.internal', Vpc: { Ref: 'Vpc' } },
      },
      AppService: {
        Type: 'AWS::ServiceDiscovery::Service',
        Properties: {
          Name: 'app',
          NamespaceId: { 'Fn::GetAtt': ['Namespace', 'Id'] },
          DnsConfig: { DnsRecords: [{ TTL: 10, Type: 'SRV' }], RoutingPolicy: 'MULTIVALUE' },
        },
      },
      VpcLink: { Type: 'AWS::ApiGatewayV2::VpcLink', Properties: { Name: 'link', SubnetIds: [] } },
      Api: {
        Type: 'AWS::ApiGatewayV2::Api',
        Properties: { Name: 'stackpilot-shop-dev', ProtocolType: 'HTTP' },
      },
      Integration: {
        Type: 'AWS::ApiGatewayV2::Integration',
        Properties: {
          ApiId: { Ref: 'Api' },
          IntegrationType: 'HTTP_PROXY',
          IntegrationMethod: 'ANY',
          IntegrationUri: { 'Fn::GetAtt': ['AppService', 'Arn'] },
          ConnectionType: 'VPC_LINK',
          ConnectionId: { Ref: 'VpcLink' },
          PayloadFormatVersion: '1.0',
        },
      },
      DefaultRoute: {
        Type: 'AWS::ApiGatewayV2::Route',
        Properties: {
          ApiId: { Ref: 'Api' },
          RouteKey: '$default',
          Target: join('integrations/', { Ref: 'Integration' }),
        },
      },
      LoadBalancer: {
        Type: 'AWS::ElasticLoadBalancingV2::LoadBalancer',
        Properties: { Type: 'application' },
      },
      Group: {
        Type: 'AWS::ElasticLoadBalancingV2::TargetGroup',
        Properties: { Port: 80, Protocol: 'HTTP', VpcId: { Ref: 'Vpc' }, TargetGroupAttributes: [] },
      },
      Listener: {
        Type: 'AWS::ElasticLoadBalancingV2::Listener',
        Properties: {
          LoadBalancerArn: { Ref: 'LoadBalancer' },
          Port: 80,
          Protocol: 'HTTP',
          DefaultActions: [{ Type: 'forward', TargetGroupArn: { Ref: 'Group' } }],
        },
      },
      StandardDoor: {
        Type: 'AWS::SSM::Parameter',
        Properties: {
          Name: '/stackpilot/shop/dev/front-door',
          Type: 'String',
          Value: join(
            '{"scale":"standard","url":"',
            url,
            '","apiId":"',
            { Ref: 'Api' },
            '","vpcLinkId":"',
            { Ref: 'VpcLink' },
            '","namespaceId":"',
            { 'Fn::GetAtt': ['Namespace', 'Id'] },
            '"}',
          ),
        },
      },
      HyperscaleDoor: {
        Type: 'AWS::SSM::Parameter',
        Properties: {
          Name: '/stackpilot/shop/prod/front-door',
          Type: 'String',
          Value: join(
            '{"scale":"hyperscale","url":"http://',
            { 'Fn::GetAtt': ['LoadBalancer', 'DNSName'] },
            '","listenerArn":"',
            { Ref: 'Listener' },
            '","vpcId":"',
            { Ref: 'Vpc' },
            '"}',
          ),
        },
      },
    },
  };
}

describe("a stage stack's front door resources in the emulated account", () => {
  let dataDir: string;
  afterEach(() => removeDataDir(dataDir));

  it('are created with the ids their references give, which the front door parameter carries', async () => {
    dataDir = newDataDir();
    const account = createEmulatedAccount({ dataDir, config: testConfig(), clock: manualClock() });
    const stack = { stackName: 'Stackpilot-shop-dev', template: frontDoorTemplate(), dependencies: [] };
    await account.deploy({ hash: 'h1', stacks: [stack] });
    const clients = {
      ssm: new SSMClient(clientConfig),
      api: new ApiGatewayV2Client(clientConfig),
      cloudMap: new ServiceDiscoveryClient(clientConfig),
      elb: new ElasticLoadBalancingV2Client(clientConfig),
    };
    account.attach(clients);

    const standard = JSON.parse(
      (await clients.ssm.send(new GetParameterCommand({ Name: '/stackpilot/shop/dev/front-door' }))).Parameter
        ?.Value ?? '',
    );
    expect(standard).toEqual({
      scale: 'standard',
      url: `https://${standard.apiId}.execute-api.us-east-1.amazonaws.com`,
      apiId: expect.stringMatching(/^[a-z0-9]{10}$/),
      vpcLinkId: expect.stringMatching(/^[a-z0-9]{6}$/),
      namespaceId: expect.stringMatching(/^ns-[a-z0-9]{16}$/),
    });
    const { Items: apis } = await clients.api.send(new GetApisCommand({}));
    expect(apis?.map((a) => a.ApiId)).toEqual([standard.apiId]);
    const { Items: routes } = await clients.api.send(new GetRoutesCommand({ ApiId: standard.apiId }));
    expect(routes?.map((r) => r.RouteKey)).toEqual(['$default']);
    await clients.api.send(
      new CreateIntegrationCommand({
        ApiId: standard.apiId,
        IntegrationType: 'HTTP_PROXY',
        IntegrationUri: 'arn:aws:servicediscovery:us-east-1:123456789012:service/srv-x',
        ConnectionType: 'VPC_LINK',
        ConnectionId: standard.vpcLinkId,
      }),
    );
    await clients.cloudMap.send(
      new CreateServiceCommand({ Name: 'pr-1', NamespaceId: standard.namespaceId }),
    );

    const hyperscale = JSON.parse(
      (await clients.ssm.send(new GetParameterCommand({ Name: '/stackpilot/shop/prod/front-door' })))
        .Parameter?.Value ?? '',
    );
    expect(hyperscale).toEqual({
      scale: 'hyperscale',
      url: expect.stringMatching(/^http:\/\/[a-z0-9-]{1,32}-\d+\.us-east-1\.elb\.amazonaws\.com$/),
      listenerArn: expect.stringMatching(
        /^arn:aws:elasticloadbalancing:us-east-1:123456789012:listener\/app\//,
      ),
      vpcId: expect.stringMatching(/^vpc-[0-9a-f]{17}$/),
    });
    const { Rules } = await clients.elb.send(
      new DescribeRulesCommand({ ListenerArn: hyperscale.listenerArn }),
    );
    expect(Rules?.map((r) => r.Priority)).toEqual(['default']);

    // A redeploy leaves an unchanged parameter at its version and writes a changed one.
    await account.deploy({ hash: 'h1', stacks: [stack] });
    expect(
      account.ssm.commands.GetParameter({ Name: '/stackpilot/shop/dev/front-door' }).Parameter?.Version,
    ).toBe(1);
    const changed = { ...stack, template: frontDoorTemplate('https://shop.example.com') };
    await account.deploy({ hash: 'h2', stacks: [changed] });
    const parameter = account.ssm.commands.GetParameter({
      Name: '/stackpilot/shop/dev/front-door',
    }).Parameter;
    expect(parameter?.Version).toBe(2);
    expect(JSON.parse(parameter?.Value ?? '').url).toBe('https://shop.example.com');
  });
});
