import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { parseGithubPullRequest, parseGitlabMergeRequest } from '#shared/webhook/pull-request.ts';
import { sample } from './support.ts';

const require = createRequire(import.meta.url);
const githubEvents = require('@octokit/webhooks-examples/api.github.com/index.json') as Array<{
  name: string;
  examples: Array<Record<string, unknown> & { action: string }>;
}>;
const pullRequestExamples = githubEvents.find((e) => e.name === 'pull_request')?.examples ?? [];

const HEAD = 'ec26c3e57ca3a959ca5aad62de7213c562f8c821';
const json = (name: string) => JSON.parse(sample(name));

describe('parseGithubPullRequest', () => {
  it.each(['opened', 'synchronize', 'reopened', 'closed'])(
    'reads the %s sample (from @octokit/webhooks-examples)',
    (action) => {
      expect(parseGithubPullRequest(json(`github-pull-request-${action}.json`))).toEqual({
        ok: true,
        value: {
          provider: 'github',
          number: 2,
          action,
          commit: HEAD,
          branch: 'changes',
          fork: false,
          headRepository: 'Codertocat/Hello-World',
          merged: false,
          newCommits: undefined,
          repositoryUrls: [
            'https://github.com/Codertocat/Hello-World.git',
            'https://github.com/Codertocat/Hello-World',
          ],
        },
      });
    },
  );

  it('reads every pull_request example of @octokit/webhooks-examples (29, one per action and variant)', () => {
    expect(pullRequestExamples).toHaveLength(29);
    for (const example of pullRequestExamples) {
      const parsed = parseGithubPullRequest(example);
      expect(parsed.ok, example.action).toBe(true);
      if (parsed.ok) expect(parsed.value.action).toBe(example.action);
    }
  });

  it('tells a merged pull request from a closed one', () => {
    const body = json('github-pull-request-closed.json');
    body.pull_request.merged = true;
    const parsed = parseGithubPullRequest(body);
    expect(parsed.ok && parsed.value.merged).toBe(true);
  });

  it('takes a head in another repository for a fork, whatever the case of the names', () => {
    const fork = json('github-pull-request-opened.json');
    fork.pull_request.head.repo.full_name = 'octocat/Hello-World';
    const sameInOtherCase = json('github-pull-request-opened.json');
    sameInOtherCase.pull_request.head.repo.full_name = 'codertocat/hello-world';
    const forkParsed = parseGithubPullRequest(fork);
    expect(forkParsed.ok && forkParsed.value).toMatchObject({
      fork: true,
      headRepository: 'octocat/Hello-World',
    });
    const same = parseGithubPullRequest(sameInOtherCase);
    expect(same.ok && same.value.fork).toBe(false);
  });

  it('takes a head whose repository was deleted (head.repo null) for a fork', () => {
    const body = json('github-pull-request-synchronize.json');
    body.pull_request.head.repo = null;
    const parsed = parseGithubPullRequest(body);
    expect(parsed.ok && parsed.value).toMatchObject({ fork: true, headRepository: '(a deleted repository)' });
  });

  it('says which fields are wrong', () => {
    const body = json('github-pull-request-opened.json');
    body.number = 0;
    body.pull_request.head.sha = 'HEAD';
    delete body.pull_request.base.repo.clone_url;
    const parsed = parseGithubPullRequest(body);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.status).toBe(400);
      expect(parsed.message).toMatch(/^body is not a GitHub pull_request payload: /);
      expect(parsed.message).toMatch(/number: /);
      expect(parsed.message).toMatch(/pull_request\.head\.sha: a full commit id/);
      expect(parsed.message).toMatch(/pull_request\.base\.repo\.clone_url/);
    }
  });

  it('refuses a push body delivered as a pull_request event', () => {
    const parsed = parseGithubPullRequest(json('github-push.json'));
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.message).toMatch(/action: .*; number: /);
  });
});

describe('parseGitlabMergeRequest', () => {
  it("reads GitLab's documented Merge Request Hook payload", () => {
    expect(parseGitlabMergeRequest(json('gitlab-merge-request.json'))).toEqual({
      ok: true,
      value: {
        provider: 'gitlab',
        number: 1,
        action: 'open',
        commit: 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7',
        branch: 'ms-viewport',
        fork: false,
        headRepository: 'project 14',
        merged: false,
        newCommits: false,
        // The hook's project first (what pushes report), then object_attributes.target.
        repositoryUrls: [
          'http://example.com/gitlabhq/gitlab-test.git',
          'http://example.com/gitlabhq/gitlab-test',
          'http://example.com/awesome_space/awesome_project.git',
          'http://example.com/awesome_space/awesome_project',
        ],
      },
    });
  });

  it('reads an update with new commits (oldrev) and a merge', () => {
    const update = json('gitlab-merge-request.json');
    update.object_attributes.action = 'update';
    update.object_attributes.oldrev = '95790bf891e76fee5e1747ab589903a6a1f80f22';
    const merge = json('gitlab-merge-request.json');
    merge.object_attributes.action = 'merge';
    const updated = parseGitlabMergeRequest(update);
    const merged = parseGitlabMergeRequest(merge);
    expect(updated.ok && updated.value.newCommits).toBe(true);
    expect(merged.ok && merged.value.merged).toBe(true);
  });

  it('takes a source project other than the target (or none) for a fork', () => {
    const fork = json('gitlab-merge-request.json');
    fork.object_attributes.source_project_id = 15;
    const gone = json('gitlab-merge-request.json');
    gone.object_attributes.source_project_id = null;
    const forkParsed = parseGitlabMergeRequest(fork);
    const goneParsed = parseGitlabMergeRequest(gone);
    expect(forkParsed.ok && forkParsed.value).toMatchObject({ fork: true, headRepository: 'project 15' });
    expect(goneParsed.ok && goneParsed.value).toMatchObject({
      fork: true,
      headRepository: '(a deleted project)',
    });
  });

  it('reads a delivery without action, target or last_commit (older GitLab, the "Test" button)', () => {
    const body = json('gitlab-merge-request.json');
    delete body.object_attributes.action;
    delete body.object_attributes.target;
    body.object_attributes.last_commit = null;
    const parsed = parseGitlabMergeRequest(body);
    expect(parsed.ok && parsed.value).toMatchObject({
      action: undefined,
      commit: undefined,
      repositoryUrls: [
        'http://example.com/gitlabhq/gitlab-test.git',
        'http://example.com/gitlabhq/gitlab-test',
      ],
    });
  });

  it('says which fields are wrong', () => {
    const body = json('gitlab-merge-request.json');
    delete body.object_attributes.iid;
    body.object_attributes.oldrev = 'main';
    const parsed = parseGitlabMergeRequest(body);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.message).toMatch(/^body is not a GitLab merge request payload: /);
      expect(parsed.message).toMatch(/object_attributes\.iid: /);
      expect(parsed.message).toMatch(/object_attributes\.oldrev: a full commit id/);
    }
  });

  it('refuses a Push Hook body delivered as a Merge Request Hook', () => {
    const parsed = parseGitlabMergeRequest(json('gitlab-push.json'));
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.message).toMatch(/object_kind: /);
  });
});
