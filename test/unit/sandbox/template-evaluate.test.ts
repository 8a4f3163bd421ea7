// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Fn::Sub and ASL placeholders are ${…} inside plain strings.
import { describe, expect, it } from 'vitest';
import { AppEvaluator, StackEvaluator } from '../../../sandbox/templates/evaluate.ts';
import { generatedName, secretArn } from '../../../sandbox/templates/resource-types.ts';
import type { Template } from '../../../sandbox/templates/template.ts';

const context = { stackName: 'Stack', accountId: '123456789012', region: 'eu-west-1' };

function stack(
  template: Partial<Template>,
  options: Partial<ConstructorParameters<typeof StackEvaluator>[1]> = {},
) {
  return new StackEvaluator({ Resources: {}, ...template }, { ...context, ...options });
}

/** The released-image contract: an SSM-typed parameter, a condition and Fn::If with AWS::NoValue. */
const releasedImageTemplate: Template = {
  Parameters: {
    ReleasedImage: {
      Type: 'AWS::SSM::Parameter::Value<String>',
      Default: '/stackpilot/shop/dev/released-image',
    },
  },
  Conditions: { HasRelease: { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'ReleasedImage' }, 'none'] }] } },
  Resources: {
    TaskDefinition: {
      Type: 'AWS::ECS::TaskDefinition',
      Properties: {
        Family: 'stackpilot-shop-dev',
        ContainerDefinitions: [
          {
            Name: 'app',
            Image: {
              'Fn::If': [
                'HasRelease',
                { Ref: 'ReleasedImage' },
                'public.ecr.aws/docker/library/busybox:stable',
              ],
            },
            Command: { 'Fn::If': ['HasRelease', { Ref: 'AWS::NoValue' }, ['sh', '-c', 'httpd']] },
            DockerLabels: {
              'Fn::If': ['HasRelease', { Ref: 'AWS::NoValue' }, { 'stackpilot.placeholder': 'true' }],
            },
          },
        ],
      },
    },
  },
};

describe('the CloudFormation evaluator', () => {
  it('resolves pseudo parameters, Fn::Join, Fn::Sub, Fn::Select and Fn::Split', () => {
    const s = stack({
      Resources: {
        Thing: {
          Type: 'AWS::SSM::Parameter',
          Properties: {
            Name: { 'Fn::Join': ['/', ['', { Ref: 'AWS::StackName' }, { Ref: 'AWS::Region' }]] },
            Value: {
              'Fn::Sub':
                'arn:${AWS::Partition}:x:${AWS::Region}:${AWS::AccountId}:${AWS::URLSuffix}/${!Literal}',
            },
            Type: { 'Fn::Select': [1, { 'Fn::Split': [',', 'a,String,c'] }] },
          },
        },
      },
    });
    expect(s.properties('Thing')).toEqual({
      Name: '/Stack/eu-west-1',
      Value: 'arn:aws:x:eu-west-1:123456789012:amazonaws.com/${Literal}',
      Type: 'String',
    });
  });

  it('resolves Fn::Sub variables given as a map, parameters and Resource.Attribute references', () => {
    const s = stack({
      Parameters: { Env: { Type: 'String', Default: 'dev' } },
      Resources: {
        Bucket: { Type: 'AWS::S3::Bucket', Properties: { BucketName: 'my-bucket' } },
        Param: {
          Type: 'AWS::SSM::Parameter',
          Properties: {
            Value: { 'Fn::Sub': ['${Env}:${Bucket}:${Bucket.Arn}:${Extra}', { Extra: { Ref: 'Env' } }] },
          },
        },
      },
    });
    expect(s.property('Param', 'Value')).toBe('dev:my-bucket:arn:aws:s3:::my-bucket:dev');
  });

  it('resolves an AWS::SSM::Parameter::Value<String> parameter from SSM, and Fn::If with AWS::NoValue', () => {
    const ssm = new Map([['/stackpilot/shop/dev/released-image', 'none']]);
    const placeholder = new StackEvaluator(releasedImageTemplate, {
      ...context,
      ssmParameter: (n) => ssm.get(n),
    });
    expect(placeholder.property('TaskDefinition', 'ContainerDefinitions.0')).toEqual({
      Name: 'app',
      Image: 'public.ecr.aws/docker/library/busybox:stable',
      Command: ['sh', '-c', 'httpd'],
      DockerLabels: { 'stackpilot.placeholder': 'true' },
    });

    ssm.set('/stackpilot/shop/dev/released-image', 'repo/shop:abc');
    const released = new StackEvaluator(releasedImageTemplate, {
      ...context,
      ssmParameter: (n) => ssm.get(n),
    });
    expect(released.condition('HasRelease')).toBe(true);
    // NoValue removes the keys: the released revision has no command and no placeholder label.
    expect(released.property('TaskDefinition', 'ContainerDefinitions.0')).toEqual({
      Name: 'app',
      Image: 'repo/shop:abc',
    });
  });

  it('fails naming the stack, the parameter and the SSM name when the SSM parameter does not exist', () => {
    const s = new StackEvaluator(releasedImageTemplate, { ...context, ssmParameter: () => undefined });
    expect(() => s.properties('TaskDefinition')).toThrow(
      'stack Stack: parameter ReleasedImage (AWS::SSM::Parameter::Value<String>): SSM parameter /stackpilot/shop/dev/released-image does not exist',
    );
  });

  it('takes given parameter values over defaults, and splits list parameters', () => {
    const s = stack(
      {
        Parameters: {
          Size: { Type: 'Number', Default: '1' },
          Zones: { Type: 'CommaDelimitedList', Default: 'a, b' },
        },
        Resources: {
          P: {
            Type: 'AWS::SSM::Parameter',
            Properties: { Value: { Ref: 'Size' }, Name: { 'Fn::Select': [1, { Ref: 'Zones' }] } },
          },
        },
      },
      { parameters: { Size: '3' } },
    );
    expect(s.properties('P')).toEqual({ Value: '3', Name: 'b' });
  });

  it('evaluates conditions with Fn::And, Fn::Or, Fn::Not and Condition, and skips resources whose condition is false', () => {
    const s = stack({
      Parameters: { Stage: { Type: 'String', Default: 'prod' } },
      Conditions: {
        IsProd: { 'Fn::Equals': ['prod', { Ref: 'Stage' }] },
        IsDev: { 'Fn::Equals': ['dev', { Ref: 'Stage' }] },
        Either: { 'Fn::Or': [{ Condition: 'IsProd' }, { Condition: 'IsDev' }] },
        ProdOnly: { 'Fn::And': [{ Condition: 'IsProd' }, { 'Fn::Not': [{ Condition: 'IsDev' }] }] },
      },
      Resources: {
        ProdBucket: { Type: 'AWS::S3::Bucket', Condition: 'ProdOnly', Properties: { BucketName: 'p' } },
        DevBucket: { Type: 'AWS::S3::Bucket', Condition: 'IsDev', Properties: { BucketName: 'd' } },
        User: { Type: 'AWS::SSM::Parameter', Properties: { Value: { Ref: 'DevBucket' } } },
      },
    });
    expect(s.condition('Either')).toBe(true);
    expect(s.logicalIds('AWS::S3::Bucket')).toEqual(['ProdBucket']);
    expect(() => s.properties('User')).toThrow(
      "stack Stack, resource User (AWS::SSM::Parameter), Properties.Value: Ref to DevBucket: the resource's condition is false, it is not created",
    );
  });

  it('gives Ref and Fn::GetAtt of modelled types: names, ARNs, generated names when the template sets none', () => {
    const s = stack({
      Resources: {
        Cluster: { Type: 'AWS::ECS::Cluster', Properties: { ClusterName: 'c1' } },
        Service: {
          Type: 'AWS::ECS::Service',
          Properties: { ServiceName: 's1', Cluster: { Ref: 'Cluster' } },
        },
        Bucket: { Type: 'AWS::S3::Bucket' },
        Secret: { Type: 'AWS::SecretsManager::Secret' },
        Role: { Type: 'AWS::IAM::Role', Properties: { RoleName: 'r1' } },
      },
    });
    expect(s.ref('Cluster')).toBe('c1');
    expect(s.ref('Service')).toBe('arn:aws:ecs:eu-west-1:123456789012:service/c1/s1');
    expect(s.getAtt('Service', 'Name')).toBe('s1');
    const bucket = generatedName('Stack', 'Bucket', { lowercase: true, maxLength: 63 });
    expect(bucket).toMatch(/^stack-bucket-[a-z0-9]{13}$/);
    expect(s.ref('Bucket')).toBe(bucket);
    expect(s.getAtt('Bucket', 'Arn')).toBe(`arn:aws:s3:::${bucket}`);
    expect(s.ref('Secret')).toBe(secretArn(generatedName('Stack', 'Secret'), 'eu-west-1', '123456789012'));
    expect(s.getAtt('Role', 'Arn')).toBe('arn:aws:iam::123456789012:role/r1');
  });

  it('uses what the creator provided over the model (a task definition ARN with its revision)', () => {
    const s = stack({
      Resources: {
        TaskDefinition: { Type: 'AWS::ECS::TaskDefinition', Properties: { Family: 'f' } },
        Service: { Type: 'AWS::ECS::Service', Properties: { TaskDefinition: { Ref: 'TaskDefinition' } } },
      },
    });
    s.provide('TaskDefinition', { ref: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/f:1' });
    expect(s.property('Service', 'TaskDefinition')).toBe(
      'arn:aws:ecs:eu-west-1:123456789012:task-definition/f:1',
    );
  });

  it('fails on an attribute it does not model, naming resource, property, attribute and type', () => {
    const s = stack({
      Resources: {
        Vpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.0.0.0/16' } },
        User: {
          Type: 'AWS::SSM::Parameter',
          Properties: { Value: { 'Fn::GetAtt': ['Vpc', 'DefaultSecurityGroup'] } },
        },
      },
    });
    expect(() => s.properties('User')).toThrow(
      'stack Stack: Fn::GetAtt Vpc.DefaultSecurityGroup: attribute DefaultSecurityGroup of AWS::EC2::VPC is not modelled',
    );
  });

  it('fails on an intrinsic function it does not know, naming the resource and the property', () => {
    const s = stack({
      Resources: {
        P: { Type: 'AWS::SSM::Parameter', Properties: { Value: { 'Fn::ToJsonString': { a: 1 } } } },
      },
    });
    expect(() => s.properties('P')).toThrow(
      'stack Stack, resource P (AWS::SSM::Parameter), Properties.Value: unsupported intrinsic function Fn::ToJsonString',
    );
  });

  it('fails on a Ref to nothing, and on a custom resource that has not run', () => {
    const s = stack({
      Resources: {
        Custom: { Type: 'Custom::AWS', Properties: {} },
        P: { Type: 'AWS::SSM::Parameter', Properties: { Value: { Ref: 'Nope' }, Name: { Ref: 'Custom' } } },
      },
    });
    expect(() => s.property('P', 'Value')).toThrow('Ref to Nope: no parameter or resource of that name');
    expect(() => s.property('P', 'Name')).toThrow(
      'Ref to Custom (Custom::AWS) needs the custom resource to have run first',
    );
  });

  it('resolves Fn::Base64, Fn::GetAZs and Fn::FindInMap', () => {
    const s = stack({
      Mappings: { Sizes: { dev: { Count: '2' } } },
      Resources: {
        P: {
          Type: 'AWS::SSM::Parameter',
          Properties: {
            Value: { 'Fn::Base64': { 'Fn::Join': ['', ['#!/bin/bash\necho ECS_CLUSTER=', 'c1']] } },
            Name: { 'Fn::Select': [0, { 'Fn::GetAZs': '' }] },
            Type: { 'Fn::FindInMap': ['Sizes', 'dev', 'Count'] },
          },
        },
      },
    });
    const p = s.properties('P');
    expect(Buffer.from(String(p.Value), 'base64').toString()).toBe('#!/bin/bash\necho ECS_CLUSTER=c1');
    expect(p.Name).toBe('eu-west-1a');
    expect(p.Type).toBe('2');
  });

  it('orders resources after what they refer to and depend on, and finds cycles', () => {
    const s = stack({
      Resources: {
        Service: {
          Type: 'AWS::ECS::Service',
          Properties: { TaskDefinition: { Ref: 'Task' } },
          DependsOn: ['Listener'],
        },
        Task: { Type: 'AWS::ECS::TaskDefinition', Properties: { Role: { 'Fn::Sub': '${Role.Arn}' } } },
        Role: { Type: 'AWS::IAM::Role' },
        Listener: { Type: 'AWS::ElasticLoadBalancingV2::Listener' },
      },
    });
    const order = s.creationOrder();
    const precedes = (a: string, b: string) => expect(order.indexOf(a)).toBeLessThan(order.indexOf(b));
    expect([...order].sort()).toEqual(['Listener', 'Role', 'Service', 'Task']);
    precedes('Role', 'Task');
    precedes('Task', 'Service');
    precedes('Listener', 'Service');
    expect(s.creationOrder(['Service', 'Role'])).toEqual(['Role', 'Service']);
    const cyclic = stack({
      Resources: {
        A: { Type: 'AWS::SSM::Parameter', Properties: { Value: { Ref: 'B' } } },
        B: { Type: 'AWS::SSM::Parameter', Properties: { Value: { Ref: 'A' } } },
      },
    });
    expect(() => cyclic.creationOrder()).toThrow('stack Stack: circular dependency A -> B -> A');
  });

  it('reads other stacks: Fn::GetStackOutput and Fn::ImportValue', () => {
    const app = new AppEvaluator(
      [
        {
          stackName: 'Producer',
          template: {
            Resources: { Bucket: { Type: 'AWS::S3::Bucket', Properties: { BucketName: 'sources' } } },
            Outputs: {
              BucketName: {
                Value: { Ref: 'Bucket' },
                Export: { Name: { 'Fn::Sub': '${AWS::StackName}-bucket' } },
              },
            },
          },
        },
        {
          stackName: 'Consumer',
          template: {
            Resources: {
              P: {
                Type: 'AWS::SSM::Parameter',
                Properties: {
                  Value: {
                    'Fn::GetStackOutput': {
                      StackName: 'Producer',
                      Region: { Ref: 'AWS::Region' },
                      OutputName: 'BucketName',
                    },
                  },
                  Name: { 'Fn::ImportValue': 'Producer-bucket' },
                },
              },
              Q: {
                Type: 'AWS::SSM::Parameter',
                Properties: {
                  Value: { 'Fn::GetStackOutput': { StackName: 'Producer', OutputName: 'Nope' } },
                },
              },
            },
          },
        },
      ],
      { accountId: '123456789012', region: 'eu-west-1' },
    );
    expect(app.stack('Consumer').properties('P')).toEqual({ Value: 'sources', Name: 'sources' });
    expect(() => app.stack('Consumer').properties('Q')).toThrow(
      'Fn::GetStackOutput: stack Producer has no output Nope in eu-west-1',
    );
  });
});
