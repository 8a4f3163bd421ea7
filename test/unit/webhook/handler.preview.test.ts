/**
 * The webhook handler on pull request (GitHub) and merge request (GitLab) deliveries: the real
 * samples, the preview records in S3 and Step Functions mocked with aws-sdk-client-mock.
 */
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '#shared/config.ts';
import { webhookEnvironment } from '#shared/webhook/environment.ts';
import { handler } from '../../../functions/webhook/handler.ts';
import {
  config as configWithoutPreviews,
  context,
  GITHUB_SECRET,
  GITLAB_TOKEN,
  githubEvent,
  gitlabEvent,
  newSecretArns,
  PREVIEW_BUCKET,
  PREVIEW_STATE_MACHINE_ARN,
  previewConfig,
  STATE_MACHINE_ARN,
  sample,
  setEnvironment,
} from './support.ts';

const sfn = mockClient(SFNClient);
const s3 = mockClient(S3Client);
const secrets = mockClient(SecretsManagerClient);

const HEAD = 'ec26c3e57ca3a959ca5aad62de7213c562f8c821';
const DELIVERY = '72d3162e-cc78-11e3-81ab-4c9367dc0958';

function arnOf(machine: string, name: string) {
  return `${machine.replace(':stateMachine:', ':execution:')}:${name}`;
}

/** The preview records a stage has (keys as the preview state machine writes them). */
function openPreviews(app: string, stage: string, numbers: number[]) {
  s3.on(ListObjectsV2Command, { Bucket: PREVIEW_BUCKET, Prefix: `previews/${app}/${stage}/` }).resolves({
    Contents: numbers.map((n) => ({ Key: `previews/${app}/${stage}/pr-${n}.json` })),
    IsTruncated: false,
  });
}

async function invoke(event: Parameters<typeof handler>[0]) {
  const response = await handler(event, context);
  if (typeof response !== 'object' || response === null) throw new Error('expected a structured response');
  expect(response.headers).toMatchObject({ 'content-type': 'application/json' });
  return { status: response.statusCode, body: JSON.parse(String(response.body)) as Record<string, unknown> };
}

function startInput(i = 0) {
  const call = sfn.commandCalls(StartExecutionCommand)[i];
  if (!call) throw new Error(`no StartExecution #${i}`);
  const { stateMachineArn, name, input } = call.args[0].input;
  return { stateMachineArn, name, input: JSON.parse(String(input)) as Record<string, unknown> };
}

const pullRequest = (
  action: string,
  edit: (body: ReturnType<typeof JSON.parse>) => void = () => undefined,
) => {
  const body = JSON.parse(sample(`github-pull-request-${action}.json`));
  edit(body);
  return githubEvent(JSON.stringify(body), { event: 'pull_request' });
};

const mergeRequest = (edit: (attributes: ReturnType<typeof JSON.parse>) => void = () => undefined) => {
  const body = JSON.parse(sample('gitlab-merge-request.json'));
  edit(body.object_attributes);
  return gitlabEvent(JSON.stringify(body), { event: 'Merge Request Hook' });
};

function useConfig(value = previewConfig) {
  setEnvironment(value);
}

beforeEach(() => {
  const arns = newSecretArns();
  useConfig();
  secrets.on(GetSecretValueCommand, { SecretId: arns.github }).resolves({ SecretString: GITHUB_SECRET });
  secrets.on(GetSecretValueCommand, { SecretId: arns.gitlab }).resolves({ SecretString: GITLAB_TOKEN });
  sfn.on(StartExecutionCommand).callsFake((input: { stateMachineArn: string; name: string }) => ({
    executionArn: arnOf(input.stateMachineArn, input.name),
    startDate: new Date('2026-11-21T23:40:00Z'),
  }));
  openPreviews('hello', 'dev', []);
  openPreviews('gitlab', 'dev', []);
});

afterEach(() => {
  sfn.reset();
  s3.reset();
  secrets.reset();
});

describe('GitHub pull_request', () => {
  it.each(['opened', 'synchronize', 'reopened'])(
    '%s starts the deploy of the head as a preview (sample)',
    async (action) => {
      const { status, body } = await invoke(pullRequest(action));
      const name = `hello-dev-pr-2-${DELIVERY}`;
      expect(status).toBe(202);
      expect(body).toEqual({
        app: 'hello',
        stage: 'dev',
        number: 2,
        action: 'deploy',
        executionName: name,
        executionArn: arnOf(STATE_MACHINE_ARN, name),
      });
      expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
      expect(startInput()).toEqual({
        stateMachineArn: STATE_MACHINE_ARN,
        name,
        input: {
          app: 'hello',
          stage: 'dev',
          repository: { provider: 'github', url: 'https://github.com/Codertocat/Hello-World.git' },
          ref: 'refs/pull/2/head',
          commit: HEAD,
          deliveryId: DELIVERY,
          preview: { number: 2, branch: 'changes' },
        },
      });
      // The open previews of the stage were counted first.
      expect(s3).toHaveReceivedCommandWith(ListObjectsV2Command, {
        Bucket: PREVIEW_BUCKET,
        Prefix: 'previews/hello/dev/',
      });
    },
  );

  it('closed starts the preview state machine to remove it (sample), without counting previews', async () => {
    const { status, body } = await invoke(pullRequest('closed'));
    const name = `hello-dev-pr-2-${DELIVERY}`;
    expect(status).toBe(202);
    expect(body).toMatchObject({ action: 'remove', executionArn: arnOf(PREVIEW_STATE_MACHINE_ARN, name) });
    expect(startInput()).toEqual({
      stateMachineArn: PREVIEW_STATE_MACHINE_ARN,
      name,
      input: { app: 'hello', stage: 'dev', number: 2, action: 'remove', reason: 'closed' },
    });
    expect(s3).not.toHaveReceivedCommand(ListObjectsV2Command);
  });

  it('closed and merged removes with reason merged', async () => {
    const { status } = await invoke(
      pullRequest('closed', (b) => {
        b.pull_request.merged = true;
      }),
    );
    expect(status).toBe(202);
    expect(startInput().input).toMatchObject({ action: 'remove', reason: 'merged' });
  });

  it('refuses a new preview with 409 when the stage runs max previews, starting nothing', async () => {
    openPreviews('hello', 'dev', [5, 9]);
    const { status, body } = await invoke(pullRequest('opened'));
    expect(status).toBe(409);
    expect(body.message).toBe(
      'app hello already runs 2 previews in stage dev (previews.max 2: pr-5, pr-9): pull request #2 gets none until one of them closes',
    );
    expect(body.refused).toEqual([{ app: 'hello', stage: 'dev', reason: body.message }]);
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('updates a preview already open even at max', async () => {
    openPreviews('hello', 'dev', [2, 9]);
    const { status } = await invoke(pullRequest('synchronize'));
    expect(status).toBe(202);
    expect(startInput().stateMachineArn).toBe(STATE_MACHINE_ARN);
  });

  it('ignores a pull request from a fork (200 with the reason)', async () => {
    const { status, body } = await invoke(
      pullRequest('opened', (b) => {
        b.pull_request.head.repo.full_name = 'octocat/Hello-World';
      }),
    );
    expect({ status, body }).toEqual({
      status: 200,
      body: {
        ignored:
          'pull request #2 comes from a fork (octocat/Hello-World): app hello previews forks only with previews.forks: true',
      },
    });
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
    expect(s3).not.toHaveReceivedCommand(ListObjectsV2Command);
  });

  it('ignores an action that changes no code', async () => {
    const { status, body } = await invoke(
      pullRequest('opened', (b) => {
        b.action = 'labeled';
      }),
    );
    expect(status).toBe(200);
    expect(body.ignored).toMatch(/^pull request #2: action "labeled" does not change a preview/);
    expect(s3).not.toHaveReceivedCommand(ListObjectsV2Command);
  });

  it('says which fields of a signed pull_request body are wrong (400)', async () => {
    const { status, body } = await invoke(
      pullRequest('opened', (b) => {
        delete b.pull_request.head;
      }),
    );
    expect(status).toBe(400);
    expect(body.message).toMatch(/^body is not a GitHub pull_request payload: pull_request\.head: /);
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('refuses an unsigned pull_request before reading it (401)', async () => {
    const event = pullRequest('opened');
    event.headers['x-hub-signature-256'] = `sha256=${'0'.repeat(64)}`;
    expect((await invoke(event)).status).toBe(401);
    expect(s3).not.toHaveReceivedCommand(ListObjectsV2Command);
  });

  it('answers a redelivery with the same execution', async () => {
    const first = await invoke(pullRequest('opened'));
    sfn
      .on(StartExecutionCommand)
      .rejects(Object.assign(new Error('Execution Already Exists'), { name: 'ExecutionAlreadyExists' }));
    const again = await invoke(pullRequest('opened'));
    expect(again).toEqual(first);
  });

  it('ignores pull requests when no app has previews, without the preview environment', async () => {
    useConfig(configWithoutPreviews);
    delete process.env.PREVIEW_BUCKET;
    delete process.env.PREVIEW_STATE_MACHINE_ARN;
    const { status, body } = await invoke(pullRequest('opened'));
    expect({ status, body }).toEqual({
      status: 200,
      body: {
        ignored:
          'no app of repository https://github.com/Codertocat/Hello-World.git has previews (hello: add "previews: { stage: … }" to run one per pull request)',
      },
    });
    // Pushes work as before.
    expect((await invoke(githubEvent(sample('github-push.json')))).status).toBe(202);
  });
});

describe('GitLab Merge Request Hook', () => {
  it('open starts the deploy of the merge request head (documented payload)', async () => {
    const { status, body } = await invoke(mergeRequest());
    const name = 'gitlab-dev-pr-1-13792a34-cac6-4fda-95a8-c58e00a3954e';
    expect(status).toBe(202);
    expect(body).toMatchObject({
      app: 'gitlab',
      stage: 'dev',
      number: 1,
      action: 'deploy',
      executionName: name,
    });
    expect(startInput().input).toEqual({
      app: 'gitlab',
      stage: 'dev',
      repository: { provider: 'gitlab', url: 'http://example.com/gitlabhq/gitlab-test.git' },
      ref: 'refs/merge-requests/1/head',
      commit: 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7',
      deliveryId: '13792a34-cac6-4fda-95a8-c58e00a3954e',
      preview: { number: 1, branch: 'ms-viewport' },
    });
  });

  it('ignores an update without new commits (no oldrev), and deploys one with them', async () => {
    const withoutCommits = await invoke(
      mergeRequest((a) => {
        a.action = 'update';
      }),
    );
    expect(withoutCommits).toEqual({
      status: 200,
      body: {
        ignored: 'merge request !1: an update without new commits (no oldrev) leaves the preview as it is',
      },
    });
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
    const withCommits = await invoke(
      mergeRequest((a) => {
        a.action = 'update';
        a.oldrev = '95790bf891e76fee5e1747ab589903a6a1f80f22';
      }),
    );
    expect(withCommits.status).toBe(202);
  });

  it.each([
    ['close', 'closed'],
    ['merge', 'merged'],
  ])('%s removes the preview (reason %s)', async (action, reason) => {
    const { status } = await invoke(
      mergeRequest((a) => {
        a.action = action;
      }),
    );
    expect(status).toBe(202);
    expect(startInput()).toMatchObject({
      stateMachineArn: PREVIEW_STATE_MACHINE_ARN,
      input: { app: 'gitlab', stage: 'dev', number: 1, action: 'remove', reason },
    });
  });

  it('says what is wrong with a Merge Request Hook body (400)', async () => {
    const { status, body } = await invoke(
      gitlabEvent(sample('gitlab-push.json'), { event: 'Merge Request Hook' }),
    );
    expect(status).toBe(400);
    expect(body.message).toMatch(/^body is not a GitLab merge request payload: object_kind: /);
  });
});

describe('failures', () => {
  it('answers 503 when listing the open previews is throttled, starting nothing', async () => {
    s3.on(ListObjectsV2Command).rejects(
      Object.assign(new Error('Please reduce your request rate.'), {
        name: 'SlowDown',
        $metadata: { httpStatusCode: 503 },
      }),
    );
    const response = await handler(pullRequest('opened'), context);
    expect(response).toMatchObject({ statusCode: 503, headers: { 'retry-after': '10' } });
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('answers 502 when the bucket is denied', async () => {
    s3.on(ListObjectsV2Command).rejects(Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }));
    const { status, body } = await invoke(pullRequest('opened'));
    expect({ status, body }).toEqual({
      status: 502,
      body: { message: "listing the open previews failed (AccessDenied); see the webhook's logs" },
    });
  });

  it('answers 502 when the preview state machine does not exist', async () => {
    sfn
      .on(StartExecutionCommand)
      .rejects(
        Object.assign(new Error('State Machine Does Not Exist'), { name: 'StateMachineDoesNotExist' }),
      );
    const { status, body } = await invoke(pullRequest('closed'));
    expect(status).toBe(502);
    expect(body.message).toBe(
      "starting the preview removal failed (StateMachineDoesNotExist); see the webhook's logs",
    );
  });

  it.each(['PREVIEW_STATE_MACHINE_ARN', 'PREVIEW_BUCKET'])(
    'answers 500 and names %s when an app has previews and it is not set',
    async (variable) => {
      delete process.env[variable];
      const { status } = await invoke(pullRequest('opened'));
      expect(status).toBe(500);
      expect(() => webhookEnvironment()).toThrow(
        `environment variable ${variable} is not set (app hello has previews)`,
      );
    },
  );
});

describe('several apps of one repository', () => {
  it('starts the apps below max and lists the refused ones beside them', async () => {
    useConfig(
      parseConfig({
        apps: {
          web: {
            repository: { provider: 'github', url: 'https://github.com/Codertocat/Hello-World.git' },
            path: 'web',
            stages: { dev: { branch: 'develop' } },
            previews: { stage: 'dev', max: 1 },
          },
          api: {
            repository: { provider: 'github', url: 'https://github.com/Codertocat/Hello-World' },
            path: 'api',
            stages: { dev: { branch: 'develop' } },
            previews: { stage: 'dev', max: 1 },
          },
        },
      }),
    );
    openPreviews('web', 'dev', [7]);
    openPreviews('api', 'dev', []);
    const { status, body } = await invoke(pullRequest('opened'));
    expect(status).toBe(202);
    expect(body).toMatchObject({
      app: 'api',
      action: 'deploy',
      refused: [
        { app: 'web', stage: 'dev', reason: expect.stringMatching(/^app web already runs 1 previews/) },
      ],
    });
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
  });
});

describe('a verified pull request body never fails the function', () => {
  /** The opened sample with one field the webhook reads replaced by any JSON value (or removed). */
  const altered = fc
    .record({
      path: fc.constantFrom(
        ['action'],
        ['number'],
        ['pull_request'],
        ['pull_request', 'merged'],
        ['pull_request', 'head'],
        ['pull_request', 'head', 'sha'],
        ['pull_request', 'head', 'ref'],
        ['pull_request', 'head', 'repo'],
        ['pull_request', 'head', 'repo', 'full_name'],
        ['pull_request', 'base', 'repo'],
        ['pull_request', 'base', 'repo', 'clone_url'],
      ),
      value: fc.option(fc.jsonValue(), { nil: undefined }),
    })
    .map(({ path, value }) => {
      const body = JSON.parse(sample('github-pull-request-opened.json'));
      let target = body;
      for (const key of path.slice(0, -1)) target = target[key];
      const last = path.at(-1) as string;
      if (value === undefined) delete target[last];
      else target[last] = value;
      return JSON.stringify(body);
    });

  it('answers 200, 202, 400 or 409 with a readable answer, and starts at most one execution', async () => {
    await fc.assert(
      fc.asyncProperty(altered, fc.constantFrom<number[]>([], [5, 9]), async (body, open) => {
        sfn.resetHistory();
        openPreviews('hello', 'dev', open);
        const { status, body: answer } = await invoke(githubEvent(body, { event: 'pull_request' }));
        expect([200, 202, 400, 409]).toContain(status);
        if (status === 400)
          expect(answer.message).toEqual(
            expect.stringMatching(/^body is not a GitHub pull_request payload: /),
          );
        if (status === 409) expect(answer.message).toEqual(expect.stringMatching(/previews\.max 2/));
        if (status === 200) expect(answer.ignored).toEqual(expect.any(String));
        expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(status === 202 ? 1 : 0);
      }),
      { numRuns: 300 },
    );
  });
});
