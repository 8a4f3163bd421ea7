import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../shared/config.ts';
import { oneStageConfig, synthStage } from './stage-stack.ts';

const env = { account: '123456789012', region: 'eu-west-1' };
const certificateArn = 'arn:aws:acm:eu-west-1:123456789012:certificate/0b1c2d3e';
const domain = { name: 'api.example.com', certificateArn, hostedZoneId: 'Z0123456789ABCDEFGHIJ' };

describe('custom domains', { timeout: 300_000 }, () => {
  it('standard: an API Gateway custom domain with its $default mapping, an alias record and the URL', () => {
    const { template, nagFindings } = synthStage(oneStageConfig({}, { domain }), { env });
    template.hasResourceProperties('AWS::ApiGatewayV2::DomainName', {
      DomainName: 'api.example.com',
      DomainNameConfigurations: [
        Match.objectLike({
          CertificateArn: certificateArn,
          EndpointType: 'REGIONAL',
          SecurityPolicy: 'TLS_1_2',
        }),
      ],
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::ApiMapping', {
      Stage: Match.anyValue(),
      ApiId: Match.anyValue(),
    });
    template.hasResourceProperties('AWS::Route53::RecordSet', {
      Name: 'api.example.com.',
      Type: 'A',
      HostedZoneId: 'Z0123456789ABCDEFGHIJ',
      AliasTarget: Match.objectLike({ DNSName: { 'Fn::GetAtt': [Match.anyValue(), 'RegionalDomainName'] } }),
    });
    template.hasOutput('*', { Value: 'https://api.example.com' });
    expect(nagFindings).toEqual([]);
  });

  it('hyperscale: the listener takes the domain certificate, HTTP redirects, and the record aliases the load balancer', () => {
    const { template, nagFindings } = synthStage(oneStageConfig({}, { scale: 'hyperscale', domain }), {
      env,
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 443,
      Certificates: [{ CertificateArn: certificateArn }],
    });
    template.hasResourceProperties('AWS::Route53::RecordSet', {
      Name: 'api.example.com.',
      AliasTarget: Match.objectLike({ DNSName: Match.objectLike({ 'Fn::Join': Match.anyValue() }) }),
    });
    template.resourceCountIs('AWS::ApiGatewayV2::DomainName', 0);
    expect(nagFindings).toEqual([]);
  });

  it('without a hosted zone, writes no record and outputs where to point the name', () => {
    const { template } = synthStage(
      oneStageConfig({}, { domain: { name: 'api.example.com', certificateArn } }),
      { env },
    );
    template.resourceCountIs('AWS::Route53::RecordSet', 0);
    template.hasOutput('*', {
      Description: Match.stringLikeRegexp('Point the custom domain here'),
      Value: { 'Fn::GetAtt': [Match.anyValue(), 'RegionalDomainName'] },
    });
  });

  it('refuses at synth a certificate of another region, naming the field and why', () => {
    const config = oneStageConfig(
      {},
      { domain: { ...domain, certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/x' } },
    );
    expect(() => synthStage(config, { env })).toThrow(
      /stage web\/dev: domain.certificateArn: the certificate is in us-east-1, but the stage is deployed to eu-west-1 and its front door, an API Gateway HTTP API custom domain \(regional\), only takes a certificate of its own region/,
    );
  });

  it('refuses at deploy, before any change, when the region is only known then', () => {
    const { template } = synthStage(oneStageConfig({}, { scale: 'hyperscale', certificateArn }));
    const [assertion] = template.toJSON().Rules.CertificateRegion.Assertions;
    expect(assertion.Assert).toEqual({ 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'eu-west-1'] });
    expect(assertion.AssertDescription).toContain(
      'stage web/dev: certificateArn is a certificate of eu-west-1; the front door only takes a certificate of the region it is deployed to',
    );
  });

  it.each([
    ['an upper-case name', { domain: { ...domain, name: 'API.example.com' } }, 'domain.name'],
    ['a bad hosted zone id', { domain: { ...domain, hostedZoneId: 'example.com' } }, 'domain.hostedZoneId'],
    [
      'two different certificates',
      { domain, certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/other' },
      'apps.web.stages.dev.certificateArn: certificateArn and domain.certificateArn differ',
    ],
  ])('refuses %s', (_case, stage, message) => {
    expect(() => oneStageConfig({}, stage)).toThrow(ConfigError);
    expect(() => oneStageConfig({}, stage)).toThrow(message);
  });
});
