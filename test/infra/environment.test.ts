import { Match, type Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { executionRoleName } from '../../shared/naming.ts';
import { oneStageConfig, synthStage } from './stage-stack.ts';

/** Evaluates the Fn::Join / Ref values CDK writes for ARNs, with the pseudo parameters of one account. */
function evaluate(value: unknown): unknown {
  const pseudo: Record<string, string> = {
    'AWS::Partition': 'aws',
    'AWS::Region': 'eu-west-1',
    'AWS::AccountId': '123456789012',
  };
  if (Array.isArray(value)) return value.map(evaluate);
  if (value && typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if ('Fn::Join' in v) {
      const [separator, parts] = v['Fn::Join'] as [string, unknown[]];
      return parts.map((p) => evaluate(p)).join(separator);
    }
    if ('Ref' in v && typeof v.Ref === 'string' && v.Ref in pseudo) return pseudo[v.Ref];
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, evaluate(x)]));
  }
  return value;
}

interface Statement {
  Action: string | string[];
  Resource: unknown;
  Effect: string;
}

/** Every statement of the policies attached to the stage's execution role. */
function executionRoleStatements(template: Template): Statement[] {
  const roles = template.findResources('AWS::IAM::Role', {
    Properties: { RoleName: executionRoleName('web', 'dev') },
  });
  const [roleId] = Object.keys(roles);
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => p.Properties.Roles.some((r: { Ref: string }) => r.Ref === roleId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[])
    .map((s) => evaluate(s) as Statement);
}

function appContainer(template: Template) {
  const [taskDefinition] = Object.values(template.findResources('AWS::ECS::TaskDefinition'));
  return evaluate(taskDefinition?.Properties.ContainerDefinitions[0]) as {
    Environment: { Name: string; Value: string }[];
    Secrets?: { Name: string; ValueFrom: string }[];
  };
}

const secretsConfig = oneStageConfig(
  {
    environment: { LOG_LEVEL: 'info', FEATURE_X: 'on' },
    secrets: {
      DATABASE_URL: { secretsManager: 'web/db', key: 'url' },
      API_KEY: { parameter: '/web/api-key' },
      SHARED_TOKEN: {
        secretsManager: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:shared/token-AbCdEf',
      },
    },
  },
  {
    environment: { LOG_LEVEL: 'debug', FEATURE_X: 'off' },
    // A secret only this stage has.
    secrets: { SMTP_PASSWORD: { parameter: 'smtp-password' } },
  },
);

describe('environment and secrets of the app container', () => {
  const { template, nagFindings } = synthStage(secretsConfig);

  it('renders the merged plain environment with stackpilot variables, stage values over the app values', () => {
    const environment = Object.fromEntries(appContainer(template).Environment.map((e) => [e.Name, e.Value]));
    expect(environment).toEqual({
      LOG_LEVEL: 'debug',
      FEATURE_X: 'off',
      PORT: '80',
      STACKPILOT_APP: 'web',
      STACKPILOT_STAGE: 'dev',
    });
  });

  it('references each secret by ARN in the container secrets: JSON key, SSM names with or without a slash, complete ARNs', () => {
    expect(appContainer(template).Secrets).toEqual([
      {
        Name: 'DATABASE_URL',
        ValueFrom: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:web/db:url::',
      },
      { Name: 'API_KEY', ValueFrom: 'arn:aws:ssm:eu-west-1:123456789012:parameter/web/api-key' },
      {
        Name: 'SHARED_TOKEN',
        ValueFrom: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:shared/token-AbCdEf',
      },
      { Name: 'SMTP_PASSWORD', ValueFrom: 'arn:aws:ssm:eu-west-1:123456789012:parameter/smtp-password' },
    ]);
  });

  it('lets the execution role read exactly those secrets and parameters, one action each', () => {
    const reads = executionRoleStatements(template).filter((s) =>
      [s.Action].flat().some((a) => a.startsWith('secretsmanager:') || a.startsWith('ssm:')),
    );
    expect(reads).toEqual([
      {
        Effect: 'Allow',
        Action: 'secretsmanager:GetSecretValue',
        Resource: [
          // A named secret: the name and the six random characters Secrets Manager appends.
          'arn:aws:secretsmanager:eu-west-1:123456789012:secret:web/db-??????',
          'arn:aws:secretsmanager:eu-west-1:123456789012:secret:shared/token-AbCdEf',
        ],
      },
      {
        Effect: 'Allow',
        Action: 'ssm:GetParameters',
        Resource: [
          'arn:aws:ssm:eu-west-1:123456789012:parameter/web/api-key',
          'arn:aws:ssm:eu-west-1:123456789012:parameter/smtp-password',
        ],
      },
    ]);
    // Nothing else of Secrets Manager or SSM anywhere in the stack.
    const all = JSON.stringify(template.toJSON());
    expect(all).not.toMatch(/secretsmanager:\*|ssm:\*|"secretsmanager:(?!GetSecretValue)[A-Za-z]+"/);
  });

  it('gives the task role no access to the secrets (only ECS reads them, at task start)', () => {
    const roles = template.findResources('AWS::IAM::Role');
    const taskRoleId = Object.keys(roles).find(
      (id) => roles[id]?.Properties.RoleName === 'stackpilot-web-dev-task',
    );
    const taskPolicies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
      p.Properties.Roles.some((r: { Ref: string }) => r.Ref === taskRoleId),
    );
    expect(JSON.stringify(taskPolicies)).not.toContain('secretsmanager');
    expect(JSON.stringify(taskPolicies)).not.toContain('ssm:GetParameters');
  });

  it('keeps the released-image rendering: the secrets and environment sit next to the conditional image', () => {
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [
        Match.objectLike({
          Name: 'app',
          Image: { 'Fn::If': ['HasRelease', { Ref: 'ReleasedImage' }, Match.anyValue()] },
          Secrets: Match.anyValue(),
          Environment: Match.anyValue(),
        }),
      ],
    });
  });

  it('passes cdk-nag with the secret reads', () => {
    expect(nagFindings).toEqual([]);
  });
});

describe('a stage without secrets', () => {
  it('renders no secrets and grants no secret read', () => {
    const { template } = synthStage(oneStageConfig({ environment: { A: '1' } }));
    expect(appContainer(template).Secrets).toBeUndefined();
    const policies = JSON.stringify(template.findResources('AWS::IAM::Policy'));
    expect(policies).not.toMatch(/secretsmanager|ssm:GetParameters/);
  });

  it('lets a stage turn an app value into a secret and back', () => {
    const { template } = synthStage(
      oneStageConfig({ environment: { TOKEN: 'public-demo' } }, { secrets: { TOKEN: { parameter: '/t' } } }),
    );
    const container = appContainer(template);
    expect(container.Environment.map((e) => e.Name)).not.toContain('TOKEN');
    expect(container.Secrets).toEqual([
      { Name: 'TOKEN', ValueFrom: 'arn:aws:ssm:eu-west-1:123456789012:parameter/t' },
    ]);
  });
});

describe('what a build.yml may read', { timeout: 300_000 }, () => {
  it('lets the build role read exactly the parameters and secrets listed under build, one action each', () => {
    const { template, nagFindings } = synthStage(
      oneStageConfig({ build: { parameterStore: ['/shop/npm-token'], secretsManager: ['shop/registry'] } }),
    );
    const statements = Object.values(template.findResources('AWS::IAM::Policy'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[])
      .map((s) => evaluate(s) as Statement)
      .filter((s) => [s.Action].flat().some((a) => a.startsWith('ssm:') || a.startsWith('secretsmanager:')));
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: 'ssm:GetParameter',
        Resource: 'arn:aws:ssm:eu-west-1:123456789012:parameter/shop/npm-token',
      },
      {
        Effect: 'Allow',
        Action: 'secretsmanager:GetSecretValue',
        Resource: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/registry-??????',
      },
    ]);
    expect(nagFindings).toEqual([]);
  });

  it('grants no read at all when the config lists none', () => {
    const { template } = synthStage(oneStageConfig());
    const policies = JSON.stringify(template.findResources('AWS::IAM::Policy'));
    expect(policies).not.toMatch(/ssm:GetParameter"|secretsmanager:GetSecretValue/);
  });
});
