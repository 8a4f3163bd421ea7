import { createRequire } from 'node:module';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '#shared/config.ts';
import { handler } from '../../../functions/webhook/handler.ts';
import {
  context,
  GITHUB_SECRET,
  GITLAB_TOKEN,
  githubEvent,
  gitlabEvent,
  httpEvent,
  newSecretArns,
  STATE_MACHINE_ARN,
  sample,
  setEnvironment,
} from './support.ts';

const require = createRequire(import.meta.url);
const githubEvents = require('@octokit/webhooks-examples/api.github.com/index.json') as Array<{
  name: string;
  examples: Array<
    Record<string, unknown> & { ref: string; after: string; deleted: boolean; created: boolean }
  >;
}>;
const pushExamples = githubEvents.find((e) => e.name === 'push')?.examples ?? [];
const pingExample = githubEvents.find((e) => e.name === 'ping')?.examples[0];

const sfn = mockClient(SFNClient);
const secrets = mockClient(SecretsManagerClient);

function execution(name: string) {
  return `arn:aws:states:us-east-1:111122223333:execution:stackpilot-deploy:${name}`;
}

async function invoke(event: Parameters<typeof handler>[0]) {
  const response = await handler(event, context);
  if (typeof response !== 'object' || response === null) throw new Error('expected a structured response');
  expect(response.headers).toMatchObject({ 'content-type': 'application/json' });
  return { status: response.statusCode, body: JSON.parse(String(response.body)) as Record<string, unknown> };
}

beforeEach(() => {
  const arns = newSecretArns();
  setEnvironment();
  secrets.on(GetSecretValueCommand, { SecretId: arns.github }).resolves({ SecretString: GITHUB_SECRET });
  secrets.on(GetSecretValueCommand, { SecretId: arns.gitlab }).resolves({ SecretString: GITLAB_TOKEN });
  sfn.on(StartExecutionCommand).callsFake((input: { name: string }) => ({
    executionArn: execution(input.name),
    startDate: new Date('2026-11-21T23:40:00Z'),
  }));
});

afterEach(() => {
  sfn.reset();
  secrets.reset();
});

describe('GitHub deliveries', () => {
  it('starts the deploy of the tracked stage for an ordinary push (sample)', async () => {
    const { status, body } = await invoke(githubEvent(sample('github-push.json')));
    expect(status).toBe(202);
    const name = 'hello-prod-72d3162e-cc78-11e3-81ab-4c9367dc0958';
    expect(body).toEqual({ app: 'hello', stage: 'prod', executionName: name, executionArn: execution(name) });
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
      stateMachineArn: STATE_MACHINE_ARN,
      name,
    });
    const input = JSON.parse(String(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.input));
    expect(input).toEqual({
      app: 'hello',
      stage: 'prod',
      repository: { provider: 'github', url: 'https://github.com/Codertocat/Hello-World.git' },
      ref: 'refs/heads/master',
      commit: '9e1c2d3b4a5f60718293a4b5c6d7e8f901a2b3c4',
      deliveryId: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
    });
  });

  it('has the 7 push examples of @octokit/webhooks-examples: 5 tag events, 2 new-branch pushes', () => {
    expect(pushExamples).toHaveLength(7);
    expect(pushExamples.filter((e) => e.ref.startsWith('refs/tags/'))).toHaveLength(5);
    expect(pushExamples.filter((e) => e.ref.startsWith('refs/heads/') && e.created)).toHaveLength(2);
  });

  it.each(
    pushExamples.map(
      (example, i) => [i, example.ref, example.deleted ? 'deletion' : 'push', example] as const,
    ),
  )('routes @octokit/webhooks-examples push #%i (%s %s)', async (i, ref, _kind, example) => {
    const { status, body } = await invoke(githubEvent(JSON.stringify(example), { delivery: `example-${i}` }));
    if (ref.startsWith('refs/tags/')) {
      expect(status).toBe(200);
      expect(body.ignored).toMatch(
        example.deleted ? /^tag deletion \(simple-tag\)/ : /^tag push \(simple-tag\)/,
      );
      expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
    } else {
      // A new branch `master` of Codertocat/Hello-World: the configured app tracks it.
      expect(status).toBe(202);
      expect(body).toMatchObject({ app: 'hello', stage: 'prod', executionName: `hello-prod-example-${i}` });
      expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
      const input = JSON.parse(String(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.input));
      expect(input).toMatchObject({ ref: 'refs/heads/master', commit: example.after });
    }
  });

  it('ignores the new-branch examples when no stage tracks their repository', async () => {
    setEnvironment(
      parseConfig({
        apps: {
          other: {
            repository: { provider: 'github', url: 'https://github.com/acme/other.git' },
            stages: { prod: { branch: 'master' } },
          },
        },
      }),
    );
    const example = pushExamples.find((e) => e.ref === 'refs/heads/master');
    const { status, body } = await invoke(githubEvent(JSON.stringify(example)));
    expect(status).toBe(200);
    expect(body.ignored).toBe(
      'repository https://github.com/Codertocat/Hello-World.git is not in stackpilot.yml',
    );
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('ignores a push to a branch no stage tracks, naming the tracked ones', async () => {
    const push = JSON.parse(sample('github-push.json'));
    push.ref = 'refs/heads/feature/login';
    const { status, body } = await invoke(githubEvent(JSON.stringify(push)));
    expect(status).toBe(200);
    expect(body.ignored).toBe(
      'branch feature/login of https://github.com/Codertocat/Hello-World.git is not tracked (tracked: master)',
    );
  });

  it('answers the ping GitHub sends when the webhook is created', async () => {
    const { status, body } = await invoke(githubEvent(JSON.stringify(pingExample), { event: 'ping' }));
    expect({ status, body }).toEqual({ status: 200, body: { ignored: 'ping: the webhook is set up' } });
  });

  it('ignores other event types after verifying them', async () => {
    const { status, body } = await invoke(githubEvent('{"action":"opened"}', { event: 'issues' }));
    expect({ status, body }).toEqual({
      status: 200,
      body: { ignored: 'event "issues" is neither a push nor a pull request' },
    });
  });

  it('verifies and reads a base64-encoded body', async () => {
    const { status, body } = await invoke(githubEvent(sample('github-push.json'), { base64: true }));
    expect(status).toBe(202);
    expect(body.executionName).toBe('hello-prod-72d3162e-cc78-11e3-81ab-4c9367dc0958');
  });

  it('verifies the exact bytes of a base64 body, including non-ASCII text', async () => {
    const push = JSON.parse(sample('github-push.json'));
    push.head_commit.message = 'Déployer la page d’accueil 🚀';
    const bytes = Buffer.from(JSON.stringify(push), 'utf8');
    expect((await invoke(githubEvent(bytes))).status).toBe(202);
  });

  it('reads a form-encoded delivery (content type application/x-www-form-urlencoded)', async () => {
    const form = `payload=${encodeURIComponent(sample('github-push.json'))}`;
    const { status } = await invoke(
      githubEvent(form, { headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
    );
    expect(status).toBe(202);
  });

  it('answers a redelivery with the same execution, whether it is running or closed', async () => {
    const first = await invoke(githubEvent(sample('github-push.json')));
    // Running: Step Functions answers a repeated start (same name and input) with the same execution.
    const running = await invoke(githubEvent(sample('github-push.json')));
    // Closed: Step Functions refuses the name.
    sfn
      .on(StartExecutionCommand)
      .rejects(Object.assign(new Error('Execution Already Exists'), { name: 'ExecutionAlreadyExists' }));
    const closed = await invoke(githubEvent(sample('github-push.json')));
    expect(first.status).toBe(202);
    expect(running).toEqual(first);
    expect(closed).toEqual(first);
    const names = sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input.name);
    expect(new Set(names)).toEqual(new Set([first.body.executionName]));
  });

  it('refuses a delivery without a signature', async () => {
    const event = githubEvent(sample('github-push.json'));
    delete event.headers['x-hub-signature-256'];
    const { status, body } = await invoke(event);
    expect(status).toBe(401);
    expect(body.message).toMatch(/missing X-Hub-Signature-256/);
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('refuses a signature made with another secret', async () => {
    const event = githubEvent(sample('github-push.json'), {
      headers: {
        'x-hub-signature-256': 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
      },
    });
    const { status, body } = await invoke(event);
    expect(status).toBe(401);
    expect(body.message).toMatch(/does not match/);
  });

  it('refuses an unsigned body before parsing it: not JSON answers 401, not 400', async () => {
    const event = githubEvent('not json', { headers: { 'x-hub-signature-256': 'sha256=00' } });
    expect((await invoke(event)).status).toBe(401);
  });

  it('finds headers whatever the case of their names', async () => {
    const event = githubEvent(sample('github-push.json'));
    const headers = Object.fromEntries(Object.entries(event.headers).map(([k, v]) => [k.toUpperCase(), v]));
    const { status } = await invoke({ ...event, headers });
    expect(status).toBe(202);
  });

  it('says what is wrong with a signed body that is not JSON', async () => {
    const { status, body } = await invoke(githubEvent('{"ref": '));
    expect(status).toBe(400);
    expect(body.message).toMatch(/^body is not JSON: /);
  });

  it('says which fields of a signed push are wrong', async () => {
    const push = JSON.parse(sample('github-push.json'));
    push.after = 'HEAD';
    delete push.repository.clone_url;
    const { status, body } = await invoke(githubEvent(JSON.stringify(push)));
    expect(status).toBe(400);
    expect(body.message).toMatch(/^body is not a GitHub push payload: /);
    expect(body.message).toMatch(/after: a full commit id/);
    expect(body.message).toMatch(/repository\.clone_url/);
  });

  it('starts one execution per stage when several stages track the pushed branch', async () => {
    setEnvironment(
      parseConfig({
        apps: {
          hello: {
            repository: { provider: 'github', url: 'https://github.com/Codertocat/Hello-World' },
            stages: { prod: { branch: 'master' }, canary: { branch: 'master' }, dev: { branch: 'develop' } },
          },
          docs: {
            repository: { provider: 'github', url: 'https://github.com/Codertocat/Hello-World.git' },
            stages: { prod: { branch: 'master' } },
          },
        },
      }),
    );
    const { status, body } = await invoke(githubEvent(sample('github-push.json'), { delivery: 'd-1' }));
    expect(status).toBe(202);
    expect(body).toEqual({
      executions: [
        {
          app: 'hello',
          stage: 'prod',
          executionName: 'hello-prod-d-1',
          executionArn: execution('hello-prod-d-1'),
        },
        {
          app: 'hello',
          stage: 'canary',
          executionName: 'hello-canary-d-1',
          executionArn: execution('hello-canary-d-1'),
        },
        {
          app: 'docs',
          stage: 'prod',
          executionName: 'docs-prod-d-1',
          executionArn: execution('docs-prod-d-1'),
        },
      ],
    });
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 3);
  });
});

describe('GitLab deliveries', () => {
  it('starts the deploy of the tracked stage for a Push Hook (sample)', async () => {
    const { status, body } = await invoke(gitlabEvent(sample('gitlab-push.json')));
    expect(status).toBe(202);
    const name = 'diaspora-prod-13792a34-cac6-4fda-95a8-c58e00a3954e';
    expect(body).toEqual({
      app: 'diaspora',
      stage: 'prod',
      executionName: name,
      executionArn: execution(name),
    });
    const input = JSON.parse(String(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.input));
    expect(input).toMatchObject({
      repository: { provider: 'gitlab', url: 'https://gitlab.example.com/mike/diaspora.git' },
      ref: 'refs/heads/master',
      commit: 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7',
    });
  });

  it('names the execution after Idempotency-Key when GitLab sends one (kept across retries)', async () => {
    const event = gitlabEvent(sample('gitlab-push.json'), {
      headers: { 'idempotency-key': 'f5ae1a3e-8b0a-4c55-b6b6-2f8c3f0d7c11' },
    });
    const { body } = await invoke(event);
    expect(body.executionName).toBe('diaspora-prod-f5ae1a3e-8b0a-4c55-b6b6-2f8c3f0d7c11');
  });

  it('ignores a Tag Push Hook (sample)', async () => {
    const { status, body } = await invoke(
      gitlabEvent(sample('gitlab-tag-push.json'), { event: 'Tag Push Hook' }),
    );
    expect({ status, body }).toEqual({
      status: 200,
      body: { ignored: 'tag push (v1.0.0): only branch pushes deploy' },
    });
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('ignores a branch deletion (after all zeros, checkout_sha null)', async () => {
    const push = JSON.parse(sample('gitlab-push.json'));
    push.after = '0'.repeat(40);
    push.checkout_sha = null;
    push.commits = [];
    const { status, body } = await invoke(gitlabEvent(JSON.stringify(push)));
    expect({ status, body }).toEqual({
      status: 200,
      body: { ignored: 'branch deletion (master): nothing to deploy' },
    });
  });

  it('ignores other hooks such as Pipeline Hook', async () => {
    const { status, body } = await invoke(
      gitlabEvent('{"object_kind":"pipeline"}', { event: 'Pipeline Hook' }),
    );
    expect({ status, body }).toEqual({
      status: 200,
      body: { ignored: 'event "Pipeline Hook" is neither a push nor a merge request' },
    });
  });

  it('refuses a wrong or missing token', async () => {
    const wrong = await invoke(
      gitlabEvent(sample('gitlab-push.json'), { headers: { 'x-gitlab-token': 'guess' } }),
    );
    const event = gitlabEvent(sample('gitlab-push.json'));
    delete event.headers['x-gitlab-token'];
    const missing = await invoke(event);
    expect([wrong.status, missing.status]).toEqual([401, 401]);
    expect(missing.body.message).toMatch(/missing X-Gitlab-Token/);
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('says what is wrong with a Push Hook body that lacks the project', async () => {
    const push = JSON.parse(sample('gitlab-push.json'));
    delete push.project;
    const { status, body } = await invoke(gitlabEvent(JSON.stringify(push)));
    expect(status).toBe(400);
    expect(body.message).toMatch(/^body is not a GitLab push payload: project: /);
  });
});

describe('HTTP', () => {
  it('answers 404 for another path and 405 for another method', async () => {
    const notFound = await invoke(httpEvent('{}', { path: '/webhooks/bitbucket' }));
    const notAllowed = await invoke(githubEvent(sample('github-push.json'), { method: 'GET' }));
    expect(notFound.status).toBe(404);
    expect(notAllowed.status).toBe(405);
    expect(secrets).not.toHaveReceivedCommand(GetSecretValueCommand);
  });

  it('routes under a stage or custom-domain prefix', async () => {
    const { status } = await invoke(
      githubEvent(sample('github-push.json'), { path: '/prod/webhooks/github' }),
    );
    expect(status).toBe(202);
  });

  it('refuses a body over 10 MiB with 413 before reading the secret', async () => {
    const big = Buffer.alloc(10 * 1024 * 1024 + 1, 0x20);
    const { status, body } = await invoke(githubEvent(big, { base64: true }));
    expect(status).toBe(413);
    expect(body.message).toMatch(/over the 10485760-byte limit/);
    expect(secrets).not.toHaveReceivedCommand(GetSecretValueCommand);
  });

  it('reads the secret once for many deliveries (cached)', async () => {
    for (let i = 0; i < 3; i++) await invoke(githubEvent(sample('github-push.json'), { delivery: `d-${i}` }));
    expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
  });
});

describe('failures', () => {
  it('answers 503 when Step Functions throttles, so the provider can redeliver', async () => {
    sfn.on(StartExecutionCommand).rejects(
      Object.assign(new Error('Rate exceeded'), {
        name: 'ThrottlingException',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    const response = await handler(githubEvent(sample('github-push.json')), context);
    expect(response).toMatchObject({ statusCode: 503, headers: { 'retry-after': '10' } });
  });

  it('answers 502 when the deploy state machine does not exist', async () => {
    sfn
      .on(StartExecutionCommand)
      .rejects(
        Object.assign(new Error('State Machine Does Not Exist'), { name: 'StateMachineDoesNotExist' }),
      );
    const { status, body } = await invoke(githubEvent(sample('github-push.json')));
    expect(status).toBe(502);
    expect(body.message).toBe(
      "starting the deploy failed (StateMachineDoesNotExist); see the webhook's logs",
    );
  });

  it('answers 502 without a hint of the secret when reading it is denied', async () => {
    secrets
      .on(GetSecretValueCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));
    const { status, body } = await invoke(githubEvent(sample('github-push.json')));
    expect(status).toBe(502);
    expect(body.message).toBe(
      "reading the webhook secret failed (AccessDeniedException); see the webhook's logs",
    );
  });

  it('names the missing environment variable in the log and answers 500', async () => {
    delete process.env.DEPLOY_STATE_MACHINE_ARN;
    const { status, body } = await invoke(githubEvent(sample('github-push.json')));
    expect(status).toBe(500);
    expect(body.message).toMatch(/misconfigured/);
    const { webhookEnvironment } = await import('#shared/webhook/environment.ts');
    expect(() => webhookEnvironment()).toThrow('environment variable DEPLOY_STATE_MACHINE_ARN is not set');
  });
});
