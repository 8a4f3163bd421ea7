import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { githubPushSchema } from '#events/github.ts';
import { gitlabPushSchema, gitlabTagPushSchema } from '#events/gitlab.ts';
import { parseGithubPush, parseGitlabPush, parseJsonBody } from '#shared/webhook/push.ts';
import { sample } from './support.ts';

const require = createRequire(import.meta.url);
const examples = (
  require('@octokit/webhooks-examples/api.github.com/index.json') as Array<{
    name: string;
    examples: unknown[];
  }>
).find((e) => e.name === 'push')?.examples;

const json = (text: string) => Buffer.from(text, 'utf8');

describe('samples and schemas', () => {
  it('parses the GitHub push sample, keeping the fields it does not use', () => {
    const body = githubPushSchema.parse(JSON.parse(sample('github-push.json')));
    expect(body).toMatchObject({
      ref: 'refs/heads/master',
      created: false,
      deleted: false,
      pusher: { name: 'Codertocat' },
    });
  });

  it('parses every push example of @octokit/webhooks-examples', () => {
    for (const example of examples ?? []) expect(githubPushSchema.safeParse(example).success).toBe(true);
  });

  it('parses the GitLab samples with their own schema only', () => {
    const push = JSON.parse(sample('gitlab-push.json'));
    const tag = JSON.parse(sample('gitlab-tag-push.json'));
    expect(gitlabPushSchema.parse(push).total_commits_count).toBe(4);
    expect(gitlabTagPushSchema.parse(tag).ref).toBe('refs/tags/v1.0.0');
    expect(gitlabPushSchema.safeParse(tag).success).toBe(false);
  });
});

describe('parseGithubPush', () => {
  it('reads the pushed commit and both repository URLs', () => {
    expect(parseGithubPush(JSON.parse(sample('github-push.json')))).toEqual({
      ok: true,
      value: {
        provider: 'github',
        ref: 'refs/heads/master',
        commit: '9e1c2d3b4a5f60718293a4b5c6d7e8f901a2b3c4',
        deleted: false,
        tagPush: false,
        repositoryUrls: [
          'https://github.com/Codertocat/Hello-World.git',
          'https://github.com/Codertocat/Hello-World',
        ],
        changes: { known: true, paths: ['app/health.rb', 'config.ru', 'README.md'] },
      },
    });
  });

  it('treats an all-zero "after" as a deletion even without "deleted"', () => {
    const body = JSON.parse(sample('github-push.json'));
    body.after = '0'.repeat(40);
    delete body.deleted;
    expect(parseGithubPush(body)).toMatchObject({ ok: true, value: { deleted: true } });
  });

  it('lists at most five problems, then how many more', () => {
    const result = parseGithubPush({
      ref: 1,
      before: 2,
      after: 3,
      created: 'yes',
      deleted: 'no',
      forced: 'maybe',
      repository: {},
    });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toMatch(/\(and \d+ more\)$/);
  });

  it('refuses a JSON value that is not an object', () => {
    expect(parseGithubPush([])).toMatchObject({
      ok: false,
      status: 400,
      message: expect.stringMatching(/^body is not a GitHub push payload: \(root\)/),
    });
  });
});

describe('parseGitlabPush', () => {
  it('reads a Push Hook: checkout_sha, project URLs', () => {
    expect(parseGitlabPush(JSON.parse(sample('gitlab-push.json')))).toMatchObject({
      ok: true,
      value: {
        provider: 'gitlab',
        commit: 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7',
        deleted: false,
        tagPush: false,
        repositoryUrls: [
          'https://gitlab.example.com/mike/diaspora.git',
          'https://gitlab.example.com/mike/diaspora',
        ],
      },
    });
  });

  it('reads a Tag Push Hook as a tag push', () => {
    expect(parseGitlabPush(JSON.parse(sample('gitlab-tag-push.json')))).toMatchObject({
      ok: true,
      value: { tagPush: true },
    });
  });

  it('refuses an unknown object_kind', () => {
    expect(
      parseGitlabPush({ ...JSON.parse(sample('gitlab-push.json')), object_kind: 'merge_request' }),
    ).toMatchObject({
      ok: false,
      message: expect.stringMatching(/^body is not a GitLab push payload: object_kind/),
    });
  });
});

describe('parseJsonBody', () => {
  it.each([
    ['empty', json(''), 'body is empty; expected a JSON push payload'],
    ['not UTF-8', Buffer.from([0x7b, 0xff, 0x7d]), 'body is not UTF-8 text; expected a JSON push payload'],
  ])('refuses a body that is %s', (_what, bytes, message) => {
    expect(parseJsonBody(bytes, 'application/json')).toEqual({ ok: false, status: 400, message });
  });

  it('says where JSON breaks', () => {
    expect(parseJsonBody(json('{"a":'), 'application/json')).toMatchObject({
      ok: false,
      message: expect.stringMatching(/^body is not JSON: /),
    });
  });

  it('reads the payload field of a form-encoded body', () => {
    expect(parseJsonBody(json('payload=%7B%22a%22%3A1%7D'), 'application/x-www-form-urlencoded')).toEqual({
      ok: true,
      value: { a: 1 },
    });
    expect(parseJsonBody(json('other=1'), 'application/x-www-form-urlencoded')).toMatchObject({
      ok: false,
      message: expect.stringMatching(/no "payload" field/),
    });
  });
});
