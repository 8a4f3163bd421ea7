import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, stageEnvironment } from '#shared/config.ts';
import { mergeEnvironment, secretSource } from '#shared/environment.ts';

const scope = { partition: 'aws', region: 'eu-west-1', account: '123456789012' };

const doc = (app: object, stage: object = {}) => ({
  apps: {
    web: {
      repository: { provider: 'github', url: 'https://github.com/acme/web.git' },
      ...app,
      stages: { dev: { branch: 'main', ...stage } },
    },
  },
});

describe('environment and secrets in stackpilot.yml', () => {
  it('defaults to no environment and no secrets', () => {
    const config = parseConfig(doc({}));
    expect(config.apps.web?.environment).toEqual({});
    expect(config.apps.web?.stages.dev?.secrets).toEqual({});
  });

  it('keeps numbers and booleans of YAML as their text', () => {
    const config = parseConfig(doc({ environment: { WORKERS: 4, DEBUG: true } }));
    expect(config.apps.web?.environment).toEqual({ WORKERS: '4', DEBUG: 'true' });
  });

  it.each([
    ['PORT', doc({ environment: { PORT: '1' } }), 'apps.web.environment.PORT: PORT is reserved'],
    [
      'a STACKPILOT_ name',
      doc({ secrets: { STACKPILOT_APP: { parameter: '/x' } } }),
      'apps.web.secrets.STACKPILOT_APP: STACKPILOT_APP is reserved',
    ],
    [
      'a variable ECS sets',
      doc({}, { environment: { AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/' } }),
      'apps.web.stages.dev.environment.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is reserved: ECS sets',
    ],
    [
      'an invalid name',
      doc({}, { environment: { 'DB-URL': 'x' } }),
      'apps.web.stages.dev.environment.DB-URL: invalid variable name "DB-URL"',
    ],
    [
      'a name in both environment and secrets',
      doc({ environment: { TOKEN: 'x' }, secrets: { TOKEN: { parameter: '/t' } } }),
      'apps.web.secrets.TOKEN: TOKEN is both in environment and in secrets',
    ],
    [
      'a stage name in both environment and secrets',
      doc({}, { environment: { TOKEN: 'x' }, secrets: { TOKEN: { parameter: '/t' } } }),
      'apps.web.stages.dev.secrets.TOKEN: TOKEN is both in environment and in secrets',
    ],
    [
      'a value over 32 KiB',
      doc({ environment: { BIG: 'x'.repeat(32 * 1024 + 1) } }),
      'apps.web.environment.BIG: value is over 32768 bytes',
    ],
    [
      'a stage environment over 32 KiB in all',
      doc({ environment: { A: 'x'.repeat(20_000) } }, { environment: { B: 'y'.repeat(20_000) } }),
      "apps.web.stages.dev.environment: the stage's environment and secrets take 40002 bytes",
    ],
    [
      'a secret that is neither Secrets Manager nor SSM',
      doc({ secrets: { TOKEN: 'plain-text' } }),
      'apps.web.secrets.TOKEN: a secret is { secretsManager',
    ],
    [
      'a JSON key on an SSM parameter',
      doc({ secrets: { TOKEN: { parameter: '/t', key: 'k' } } }),
      'apps.web.secrets.TOKEN',
    ],
    [
      'a JSON key with a colon (valueFrom separates with colons)',
      doc({ secrets: { TOKEN: { secretsManager: 's', key: 'a:b' } } }),
      'apps.web.secrets.TOKEN.key',
    ],
    [
      'a secret name with a space',
      doc({ secrets: { TOKEN: { secretsManager: 'my secret' } } }),
      'apps.web.secrets.TOKEN.secretsManager',
    ],
  ])('refuses %s and names the field', (_case, document, message) => {
    expect(() => parseConfig(document, 'stackpilot.yml')).toThrow(ConfigError);
    expect(() => parseConfig(document, 'stackpilot.yml')).toThrow(message);
  });

  it('merges a stage over its app: a stage entry replaces the app entry of that name, of either kind', () => {
    const config = parseConfig(
      doc(
        {
          environment: { A: 'app', B: 'app', C: 'app' },
          secrets: { S: { parameter: '/s' }, T: { parameter: '/t' } },
        },
        { environment: { B: 'stage', S: 'now-plain' }, secrets: { C: { secretsManager: 'c' } } },
      ),
    );
    const web = config.apps.web;
    const dev = web?.stages.dev;
    if (!web || !dev) throw new Error('no stage');
    expect(stageEnvironment({ app: 'web', stage: 'dev', appConfig: web, stageConfig: dev })).toEqual({
      environment: { A: 'app', B: 'stage', S: 'now-plain' },
      secrets: { T: { parameter: '/t' }, C: { secretsManager: 'c' } },
    });
  });

  it('leaves the app layer alone when merging (each stage gets its own copy)', () => {
    const app = { environment: { A: '1' }, secrets: { S: { parameter: '/s' } } };
    mergeEnvironment(app, { environment: { S: 'x' }, secrets: { A: { parameter: '/a' } } });
    expect(app).toEqual({ environment: { A: '1' }, secrets: { S: { parameter: '/s' } } });
  });
});

describe('where ECS reads a secret and what the execution role may read', () => {
  it.each([
    [
      'a Secrets Manager name',
      { secretsManager: 'web/db' },
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:web/db',
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:web/db-??????',
    ],
    [
      'a Secrets Manager name with a JSON key',
      { secretsManager: 'web/db', key: 'password' },
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:web/db:password::',
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:web/db-??????',
    ],
    [
      'a complete secret ARN in another region',
      { secretsManager: 'arn:aws:secretsmanager:us-east-1:999999999999:secret:x-AbCdEf', key: 'k' },
      'arn:aws:secretsmanager:us-east-1:999999999999:secret:x-AbCdEf:k::',
      'arn:aws:secretsmanager:us-east-1:999999999999:secret:x-AbCdEf',
    ],
    [
      'an SSM hierarchy name',
      { parameter: '/web/api-key' },
      'arn:aws:ssm:eu-west-1:123456789012:parameter/web/api-key',
      'arn:aws:ssm:eu-west-1:123456789012:parameter/web/api-key',
    ],
    [
      'a flat SSM name',
      { parameter: 'api-key' },
      'arn:aws:ssm:eu-west-1:123456789012:parameter/api-key',
      'arn:aws:ssm:eu-west-1:123456789012:parameter/api-key',
    ],
  ])('%s', (_case, ref, valueFrom, resourceArn) => {
    expect(secretSource(ref, scope)).toMatchObject({ valueFrom, resourceArn });
  });
});
