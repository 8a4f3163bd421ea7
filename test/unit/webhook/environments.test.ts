/**
 * Monorepos and promotion at the webhook: which files a push changed (GitHub's and GitLab's
 * own payloads), which apps of one repository it deploys, and stages that move only by promotion.
 */
import { createRequire } from 'node:module';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deployInputSchema } from '#events/deploy.ts';
import { parseConfig } from '#shared/config.ts';
import { pathMatcher, watchGlobs } from '#shared/source/watch.ts';
import { decidePush } from '#shared/webhook/decide.ts';
import { type Push, parseGithubPush, parseGitlabPush } from '#shared/webhook/push.ts';
import { handler } from '../../../functions/webhook/handler.ts';
import {
  context,
  GITHUB_SECRET,
  GITLAB_TOKEN,
  githubEvent,
  gitlabEvent,
  newSecretArns,
  sample,
  setEnvironment,
} from './support.ts';

const require = createRequire(import.meta.url);
const pushExamples =
  (
    require('@octokit/webhooks-examples/api.github.com/index.json') as Array<{
      name: string;
      examples: Array<Record<string, unknown> & { ref: string; created: boolean; before: string }>;
    }>
  ).find((e) => e.name === 'push')?.examples ?? [];
const newBranchExamples = pushExamples.filter((e) => e.ref.startsWith('refs/heads/') && e.created);

const githubPush = () => JSON.parse(sample('github-push.json'));
const gitlabPush = () => JSON.parse(sample('gitlab-push.json'));

function parsedGithub(body: unknown): Push {
  const parsed = parseGithubPush(body);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.value;
}

function parsedGitlab(body: unknown): Push {
  const parsed = parseGitlabPush(body);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.value;
}

const HELLO = 'https://github.com/Codertocat/Hello-World.git';
const DIASPORA = 'https://gitlab.example.com/mike/diaspora.git';

/** Two apps in GitHub's Hello-World (app/ and config/), prod of each moving by promotion, and Diaspora's app/ folder. */
const monorepo = parseConfig({
  apps: {
    site: {
      repository: { provider: 'github', url: HELLO },
      path: 'app',
      stages: { dev: { branch: 'master' }, prod: { branch: 'master', promoteFrom: 'dev' } },
    },
    docs: {
      repository: { provider: 'github', url: HELLO },
      watchPaths: ['docs/**', '*.md'],
      stages: { dev: { branch: 'master' } },
    },
    worker: {
      repository: { provider: 'github', url: HELLO },
      path: 'worker',
      stages: { dev: { branch: 'master' } },
    },
    diaspora: {
      repository: { provider: 'gitlab', url: DIASPORA },
      path: 'app',
      stages: { dev: { branch: 'master' } },
    },
  },
});

describe('changed paths from the push payload', () => {
  it("lists every path the commits of GitHub's sample added, modified or removed, once", () => {
    expect(parsedGithub(githubPush()).changes).toEqual({
      known: true,
      paths: ['app/health.rb', 'config.ru', 'README.md'],
    });
  });

  it('cannot tell for a forced push, and names the commit before it', () => {
    const body = { ...githubPush(), forced: true };
    expect(parsedGithub(body).changes).toEqual({
      known: false,
      reason: 'a forced push: the commits listed are not all that changed',
      before: body.before,
    });
  });

  it.each(newBranchExamples.map((e, i) => [i, e] as const))(
    'cannot tell for the new-branch example #%i of @octokit/webhooks-examples, with nothing to compare with',
    (_i, example) => {
      expect(example.before).toMatch(/^0+$/);
      expect(parsedGithub(example).changes).toEqual({
        known: false,
        reason: 'a new branch: nothing to compare with',
      });
    },
  );

  it('cannot tell when GitHub says more commits were pushed than it lists', () => {
    const body = { ...githubPush(), size: 25 };
    expect(parsedGithub(body).changes).toMatchObject({
      known: false,
      reason: 'the payload lists 2 commits of 25',
    });
  });

  it('cannot tell from 20 listed commits without a size (the list may have been cut there)', () => {
    const body = githubPush();
    body.commits = Array.from({ length: 20 }, () => ({ added: [], modified: ['app/x.rb'], removed: [] }));
    expect(parsedGithub(body).changes).toMatchObject({ known: false, before: body.before });
  });

  it('cannot tell from a payload with no commits', () => {
    expect(parsedGithub({ ...githubPush(), commits: [] }).changes).toMatchObject({
      known: false,
      reason: 'the payload lists no commits',
    });
  });

  it("cannot tell from GitLab's sample, which lists 2 of its 4 commits", () => {
    const body = gitlabPush();
    expect(parsedGitlab(body).changes).toEqual({
      known: false,
      reason: 'the payload lists 2 commits of 4',
      before: body.before,
    });
  });

  it('lists the paths of a GitLab push whose commits are all listed', () => {
    const body = { ...gitlabPush(), total_commits_count: 2 };
    expect(parsedGitlab(body).changes).toEqual({
      known: true,
      paths: ['CHANGELOG', 'app/controller/application.rb'],
    });
  });

  it('cannot tell for a new GitLab branch', () => {
    const body = { ...gitlabPush(), before: '0'.repeat(40) };
    expect(parsedGitlab(body).changes).toEqual({
      known: false,
      reason: 'a new branch: nothing to compare with',
    });
  });
});

describe('watched paths', () => {
  it('defaults to the app path, and to every file without one', () => {
    expect(watchGlobs({ path: 'services/api' })).toEqual(['services/api/**']);
    expect(watchGlobs({})).toBeUndefined();
    expect(watchGlobs({ path: 'api', watchPaths: ['api/**', 'libs/**'] })).toEqual(['api/**', 'libs/**']);
  });

  it('matches dot files, and a folder named without a wildcard covers its content', () => {
    const matches = pathMatcher(['app/**', 'shared', '*.md']);
    expect(matches('app/.env.example')).toBe(true);
    expect(matches('app/deep/er/file.ts')).toBe(true);
    expect(matches('shared/lib/util.ts')).toBe(true);
    expect(matches('README.md')).toBe(true);
    expect(matches('docs/README.md')).toBe(false);
    expect(matches('application/x.rb')).toBe(false);
    expect(matches('sharedx/y')).toBe(false);
  });
});

describe('decidePush for a monorepo', () => {
  it("deploys only the apps whose paths GitHub's sample push touched, each skipped one with its reason", () => {
    const decision = decidePush(monorepo, parsedGithub(githubPush()), 'd-1');
    expect(decision.deploy).toBe(true);
    if (!decision.deploy) return;
    expect(decision.deployments.map((d) => `${d.app}/${d.stage}`)).toEqual(['site/dev', 'docs/dev']);
    for (const d of decision.deployments) {
      expect(deployInputSchema.parse(d.input)).toEqual(d.input);
      expect(d.input.changedSince).toBeUndefined();
    }
    expect(decision.skipped).toEqual([
      {
        app: 'site',
        stage: 'prod',
        reason: 'stage prod of app site moves only by promotion from dev (stackpilot promote site dev prod)',
      },
      {
        app: 'worker',
        stage: 'dev',
        reason:
          "the push changes none of app worker's paths (worker/**): it changes app/health.rb, config.ru, README.md",
      },
    ]);
  });

  it('ignores the push, with every reason, when it concerns no app', () => {
    const body = githubPush();
    body.commits = [{ added: ['LICENSE'], modified: [], removed: [] }];
    const decision = decidePush(monorepo, parsedGithub(body), 'd-2');
    expect(decision).toEqual({
      deploy: false,
      ignored: expect.stringContaining(
        "the push changes none of app docs's paths (docs/**, *.md): it changes LICENSE",
      ),
    });
    if (!decision.deploy) expect(decision.ignored.split('; ')).toHaveLength(4);
  });

  it('passes the decision to Package Source with the commit before the push when the payload cannot tell', () => {
    const body = { ...githubPush(), forced: true };
    const decision = decidePush(monorepo, parsedGithub(body), 'd-3');
    if (!decision.deploy) throw new Error(decision.ignored);
    expect(decision.deployments.map((d) => [`${d.app}/${d.stage}`, d.input.changedSince])).toEqual([
      ['site/dev', body.before],
      ['docs/dev', body.before],
      ['worker/dev', body.before],
    ]);
  });

  it("passes GitLab's sample (2 of 4 commits listed) to Package Source to compare", () => {
    const body = gitlabPush();
    const decision = decidePush(monorepo, parsedGitlab(body), 'd-4');
    if (!decision.deploy) throw new Error(decision.ignored);
    expect(decision.deployments).toHaveLength(1);
    expect(decision.deployments[0]?.input).toMatchObject({ app: 'diaspora', changedSince: body.before });
  });

  it('deploys every app of a new branch, with nothing to compare with', () => {
    const [example] = newBranchExamples;
    const decision = decidePush(monorepo, parsedGithub(example), 'd-5');
    if (!decision.deploy) throw new Error(decision.ignored);
    expect(decision.deployments.map((d) => d.app)).toEqual(['site', 'docs', 'worker']);
    expect(decision.deployments.every((d) => d.input.changedSince === undefined)).toBe(true);
  });
});

const sfn = mockClient(SFNClient);
const secrets = mockClient(SecretsManagerClient);

async function invoke(event: Parameters<typeof handler>[0]) {
  const response = await handler(event, context);
  if (typeof response !== 'object' || response === null) throw new Error('expected a structured response');
  return { status: response.statusCode, body: JSON.parse(String(response.body)) as Record<string, unknown> };
}

describe('webhook answers for a monorepo', () => {
  beforeEach(() => {
    const arns = newSecretArns();
    setEnvironment(monorepo);
    secrets.on(GetSecretValueCommand, { SecretId: arns.github }).resolves({ SecretString: GITHUB_SECRET });
    secrets.on(GetSecretValueCommand, { SecretId: arns.gitlab }).resolves({ SecretString: GITLAB_TOKEN });
    sfn.on(StartExecutionCommand).callsFake((input: { name: string }) => ({
      executionArn: `arn:aws:states:us-east-1:111122223333:execution:stackpilot-deploy:${input.name}`,
      startDate: new Date('2026-11-21T23:40:00Z'),
    }));
  });

  afterEach(() => {
    sfn.reset();
    secrets.reset();
    setEnvironment();
  });

  it('starts one deploy per app the push touched and says which stages it skipped and why', async () => {
    const { status, body } = await invoke(githubEvent(sample('github-push.json')));
    expect(status).toBe(202);
    expect((body.executions as Array<{ app: string }>).map((e) => e.app)).toEqual(['site', 'docs']);
    expect(body.skipped).toEqual([
      expect.objectContaining({
        app: 'site',
        stage: 'prod',
        reason: expect.stringMatching(/moves only by promotion from dev/),
      }),
      expect.objectContaining({
        app: 'worker',
        stage: 'dev',
        reason: expect.stringMatching(/none of app worker's paths/),
      }),
    ]);
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 2);
  });

  it('answers 200 with the reasons and starts nothing when the push touches no app', async () => {
    const body = githubPush();
    body.commits = [{ added: [], modified: ['LICENSE'], removed: [] }];
    const answer = await invoke(githubEvent(JSON.stringify(body)));
    expect(answer.status).toBe(200);
    expect(answer.body.ignored).toMatch(/none of app worker's paths \(worker\/\*\*\): it changes LICENSE/);
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it("starts the GitLab app's deploy with changedSince when the payload lists only some commits", async () => {
    const { status, body } = await invoke(gitlabEvent(sample('gitlab-push.json')));
    expect(status).toBe(202);
    expect(body).toMatchObject({ app: 'diaspora', stage: 'dev' });
    expect(body.skipped).toBeUndefined();
    const input = JSON.parse(String(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.input));
    expect(input.changedSince).toBe(gitlabPush().before);
  });
});
