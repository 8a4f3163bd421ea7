import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { synthApp } from './support.ts';

describe('control-plane stack', () => {
  let template: Template;
  let nagFindings: string[];
  beforeAll(() => {
    const synth = synthApp();
    template = Template.fromStack(synth.controlPlane);
    nagFindings = synth.nagFindings;
  });

  it('keeps sources in a versioned, encrypted, private bucket that cleans up abandoned multipart uploads', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: Match.objectLike({}),
      PublicAccessBlockConfiguration: Match.objectLike({
        BlockPublicAcls: true,
        RestrictPublicBuckets: true,
      }),
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }),
        ]),
      },
    });
  });

  it('generates the webhook secrets in Secrets Manager', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 2);
  });

  it('passes cdk-nag AwsSolutions with every acknowledgement justified in code', () => {
    expect(nagFindings).toEqual([]);
  });
});
