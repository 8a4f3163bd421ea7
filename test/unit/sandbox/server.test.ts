import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '#shared/config.ts';
import { EventBus, templateRules } from '../../../sandbox/event-bus.ts';
import { apiGatewayEvent, hostRepositories, shortCause } from '../../../sandbox/server.ts';
import { AppEvaluator } from '../../../sandbox/templates/evaluate.ts';
import { appTemplates, SHARED_TEMPLATE_CACHE } from '../../../sandbox/templates/synth.ts';
import { loadConfigFile } from '../../../shared/config-file.ts';

const sample = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../../events/samples/${name}`, import.meta.url), 'utf8'));

describe('hostRepositories', () => {
  const config = parseConfig({
    apps: {
      web: {
        repository: { provider: 'github', url: 'https://github.com/acme/web.git', tokenSecret: 'web-token' },
        stages: { dev: { branch: 'develop' }, prod: { branch: 'main' } },
      },
      api: {
        repository: { provider: 'gitlab', url: 'https://gitlab.com/acme/group/api' },
        stages: { dev: { branch: 'main' } },
      },
    },
  });

  it('serves each configured repository from the sandbox git server and rewrites only the URLs', () => {
    const { config: hosted, repositories } = hostRepositories(config, 'http://127.0.0.1:4010');
    expect(repositories).toEqual([
      {
        configuredUrl: 'https://github.com/acme/web.git',
        fullName: 'acme/web',
        repository: 'web.git',
        cloneUrl: 'http://127.0.0.1:4010/git/web.git',
        apps: ['web'],
        branch: 'develop',
        stage: 'dev',
      },
      expect.objectContaining({ fullName: 'acme/group/api', repository: 'api.git', branch: 'main' }),
    ]);
    expect(hosted.apps.web?.repository).toEqual({
      provider: 'github',
      url: 'http://127.0.0.1:4010/git/web.git',
    });
    expect(hosted.apps.web?.stages).toEqual(config.apps.web?.stages);
    // The original configuration is left as it was.
    expect(config.apps.web?.repository.url).toBe('https://github.com/acme/web.git');
  });
});

describe('apiGatewayEvent', () => {
  it('builds the HTTP API payload 2.0 event of a webhook request', () => {
    const req = {
      method: 'POST',
      httpVersion: '1.1',
      headers: { 'content-type': 'application/json', 'x-github-event': 'push', host: '127.0.0.1:4010' },
      socket: { remoteAddress: '127.0.0.1' },
    } as unknown as IncomingMessage;
    const event = apiGatewayEvent(
      req,
      new URL('http://127.0.0.1:4010/webhooks/github'),
      Buffer.from('{"ref":"x"}'),
    );
    expect(event).toMatchObject({
      version: '2.0',
      rawPath: '/webhooks/github',
      headers: { 'x-github-event': 'push' },
      body: '{"ref":"x"}',
      isBase64Encoded: false,
      requestContext: {
        http: { method: 'POST', path: '/webhooks/github', sourceIp: '127.0.0.1' },
        stage: '$default',
      },
    });
  });

  it('base64-encodes a body that is not text, as HTTP APIs do', () => {
    const req = {
      method: 'POST',
      httpVersion: '1.1',
      headers: { 'content-type': 'application/octet-stream' },
      socket: {},
    };
    const event = apiGatewayEvent(
      req as unknown as IncomingMessage,
      new URL('http://h/webhooks/gitlab'),
      Buffer.from([0, 1, 2]),
    );
    expect(event).toMatchObject({ isBase64Encoded: true, body: 'AAEC' });
  });
});

describe('the EventBridge rules of the templates', () => {
  it('start the scale state machine on the alarm and placement-failure samples only', async () => {
    const templates = await appTemplates(loadConfigFile('stackpilot.yml'), SHARED_TEMPLATE_CACHE);
    const app = new AppEvaluator(templates.stacks, { accountId: '123456789012', region: 'us-east-1' });
    const rules = templates.stacks.flatMap(({ stackName }) => {
      const stack = app.stack(stackName);
      return (
        stack
          .logicalIds('AWS::Events::Rule')
          // A scheduled rule (the hourly preview expiry) has no pattern: it matches no event.
          .filter((id) => stack.property(id, 'EventPattern') !== undefined)
          .map((id) => ({
            name: stack.physicalName(id),
            pattern: stack.property(id, 'EventPattern') as Record<string, unknown>,
            targets: ((stack.property(id, 'Targets') ?? []) as { Arn: string }[]).map((t) => t.Arn),
          }))
      );
    });
    const started: string[] = [];
    const bus = new EventBus('123456789012', 'us-east-1');
    const start = (arn: string, event: { 'detail-type': string }) =>
      started.push(`${arn.slice(arn.lastIndexOf(':') + 1)} ${event['detail-type']}`);
    for (const rule of templateRules(rules, start)) bus.addRule(rule);
    const alarm = sample('cloudwatch-alarm-state-change.json');
    await bus.put(alarm);
    await bus.put(sample('ecs-task-placement-failure.json'));
    await bus.put({ ...alarm, detail: { ...alarm.detail, state: { ...alarm.detail.state, value: 'OK' } } });
    await bus.put({ ...alarm, detail: { ...alarm.detail, alarmName: 'someone-elses-alarm' } });
    expect(started).toEqual([
      'stackpilot-scale CloudWatch Alarm State Change',
      'stackpilot-scale ECS Service Action',
    ]);
  });
});

describe('shortCause', () => {
  it('reads the errorMessage of a Lambda Cause and keeps other causes as they are', () => {
    expect(shortCause(JSON.stringify({ errorType: 'X', errorMessage: 'the readable part', trace: [] }))).toBe(
      'the readable part',
    );
    expect(shortCause('plain words')).toBe('plain words');
    expect(shortCause(undefined)).toBe('');
  });
});
