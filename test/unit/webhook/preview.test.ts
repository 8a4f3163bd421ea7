import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deployInputSchema } from '#events/deploy.ts';
import { previewInputSchema } from '#events/preview.ts';
import { parseConfig } from '#shared/config.ts';
import {
  decidePreview,
  type OpenPreviews,
  type PreviewDecision,
  previewExecutionName,
} from '#shared/webhook/preview.ts';
import {
  type PullRequest,
  parseGithubPullRequest,
  parseGitlabMergeRequest,
} from '#shared/webhook/pull-request.ts';
import { previewConfig, sample } from './support.ts';

const HEAD = 'ec26c3e57ca3a959ca5aad62de7213c562f8c821';
const GITLAB_HEAD = 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7';
const none: OpenPreviews = () => [];
/** A sample as `JSON.parse` returns it, for the tests to change any field. */
type Payload = ReturnType<typeof JSON.parse>;

/** A GitHub sample, changed by `edit`, parsed. */
function github(action: string, edit: (body: Payload) => void = () => undefined): PullRequest {
  const body = JSON.parse(sample(`github-pull-request-${action}.json`));
  edit(body);
  const parsed = parseGithubPullRequest(body);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.value;
}

/** GitLab's documented merge request, changed by `edit`, parsed. */
function gitlab(edit: (attributes: Payload) => void = () => undefined): PullRequest {
  const body = JSON.parse(sample('gitlab-merge-request.json'));
  edit(body.object_attributes);
  const parsed = parseGitlabMergeRequest(body);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.value;
}

function started(decision: PreviewDecision) {
  if (decision.outcome !== 'start') throw new Error(`expected starts, got ${JSON.stringify(decision)}`);
  return decision;
}

describe('GitHub pull_request actions', () => {
  it.each(['opened', 'synchronize', 'reopened'])(
    '%s deploys the head into the previews stage (sample)',
    (action) => {
      const decision = started(decidePreview(previewConfig, github(action), 'guid-1', none));
      expect(decision).toEqual({
        outcome: 'start',
        starts: [
          {
            action: 'deploy',
            app: 'hello',
            stage: 'dev',
            number: 2,
            executionName: 'hello-dev-pr-2-guid-1',
            input: {
              app: 'hello',
              stage: 'dev',
              repository: { provider: 'github', url: 'https://github.com/Codertocat/Hello-World.git' },
              ref: 'refs/pull/2/head',
              commit: HEAD,
              deliveryId: 'guid-1',
              preview: { number: 2, branch: 'changes' },
            },
          },
        ],
        skipped: [],
        refused: [],
      });
      expect(deployInputSchema.safeParse(decision.starts[0]?.input).success).toBe(true);
    },
  );

  it('closed (not merged) removes the preview with reason closed (sample)', () => {
    const decision = started(decidePreview(previewConfig, github('closed'), 'guid-2', none));
    expect(decision.starts).toEqual([
      {
        action: 'remove',
        app: 'hello',
        stage: 'dev',
        number: 2,
        executionName: 'hello-dev-pr-2-guid-2',
        input: { app: 'hello', stage: 'dev', number: 2, action: 'remove', reason: 'closed' },
      },
    ]);
    expect(previewInputSchema.parse(decision.starts[0]?.input)).toEqual(decision.starts[0]?.input);
  });

  it('closed and merged removes the preview with reason merged', () => {
    const pr = github('closed', (b) => {
      b.pull_request.merged = true;
    });
    const decision = started(decidePreview(previewConfig, pr, 'guid-3', none));
    expect(decision.starts[0]?.input).toMatchObject({ action: 'remove', reason: 'merged' });
  });

  it.each(['labeled', 'edited', 'ready_for_review', 'converted_to_draft', 'assigned'])(
    'ignores %s, naming the actions that change a preview',
    (action) => {
      const pr = github('opened', (b) => {
        b.action = action;
      });
      expect(decidePreview(previewConfig, pr, 'guid-4', none)).toEqual({
        outcome: 'ignored',
        ignored: `pull request #2: action "${action}" does not change a preview (opened, synchronize and reopened deploy it; closed removes it)`,
      });
    },
  );
});

describe('GitLab merge request actions', () => {
  it('open deploys the head from refs/merge-requests/<iid>/head (documented payload)', () => {
    const decision = started(decidePreview(previewConfig, gitlab(), 'uuid-1', none));
    expect(decision.starts).toEqual([
      {
        action: 'deploy',
        app: 'gitlab',
        stage: 'dev',
        number: 1,
        executionName: 'gitlab-dev-pr-1-uuid-1',
        input: {
          app: 'gitlab',
          stage: 'dev',
          repository: { provider: 'gitlab', url: 'http://example.com/gitlabhq/gitlab-test.git' },
          ref: 'refs/merge-requests/1/head',
          commit: GITLAB_HEAD,
          deliveryId: 'uuid-1',
          preview: { number: 1, branch: 'ms-viewport' },
        },
      },
    ]);
    expect(deployInputSchema.safeParse(decision.starts[0]?.input).success).toBe(true);
  });

  it('reopen deploys, and an update with new commits (oldrev) deploys', () => {
    const reopen = gitlab((a) => {
      a.action = 'reopen';
    });
    const update = gitlab((a) => {
      a.action = 'update';
      a.oldrev = '95790bf891e76fee5e1747ab589903a6a1f80f22';
    });
    for (const pr of [reopen, update])
      expect(started(decidePreview(previewConfig, pr, 'u', none)).starts[0]?.action).toBe('deploy');
  });

  it('ignores an update without new commits (no oldrev: a title, label or description change)', () => {
    const pr = gitlab((a) => {
      a.action = 'update';
    });
    expect(decidePreview(previewConfig, pr, 'u', none)).toEqual({
      outcome: 'ignored',
      ignored: 'merge request !1: an update without new commits (no oldrev) leaves the preview as it is',
    });
  });

  it.each([
    ['close', 'closed'],
    ['merge', 'merged'],
  ] as const)('%s removes the preview with reason %s', (action, reason) => {
    const pr = gitlab((a) => {
      a.action = action;
    });
    const decision = started(decidePreview(previewConfig, pr, 'u-9', none));
    expect(decision.starts).toEqual([
      {
        action: 'remove',
        app: 'gitlab',
        stage: 'dev',
        number: 1,
        executionName: 'gitlab-dev-pr-1-u-9',
        input: { app: 'gitlab', stage: 'dev', number: 1, action: 'remove', reason },
      },
    ]);
  });

  it.each(['approved', 'unapproved', 'approval', 'unapproval'])('ignores %s', (action) => {
    const pr = gitlab((a) => {
      a.action = action;
    });
    const decision = decidePreview(previewConfig, pr, 'u', none);
    expect(decision).toEqual({
      outcome: 'ignored',
      ignored: `merge request !1: action "${action}" does not change a preview (open, reopen and update with new commits deploy it; close and merge remove it)`,
    });
  });

  it('ignores a delivery without an action, and a deploy without a head commit', () => {
    const noAction = gitlab((a) => {
      delete a.action;
    });
    const noCommit = gitlab((a) => {
      a.last_commit = null;
    });
    expect(decidePreview(previewConfig, noAction, 'u', none)).toMatchObject({
      outcome: 'ignored',
      ignored: expect.stringMatching(/^merge request !1: no action does not change a preview/),
    });
    expect(decidePreview(previewConfig, noCommit, 'u', none)).toEqual({
      outcome: 'ignored',
      ignored: 'merge request !1: the payload names no head commit (last_commit)',
    });
  });
});

describe('forks', () => {
  const fromFork = (action: string) =>
    github(action, (b) => {
      b.pull_request.head.repo.full_name = 'octocat/Hello-World';
    });

  it('never builds a fork by default: the deploy is ignored with the reason', () => {
    expect(decidePreview(previewConfig, fromFork('opened'), 'g', none)).toEqual({
      outcome: 'ignored',
      ignored:
        'pull request #2 comes from a fork (octocat/Hello-World): app hello previews forks only with previews.forks: true',
    });
    const gitlabFork = gitlab((a) => {
      a.source_project_id = 15;
    });
    expect(decidePreview(previewConfig, gitlabFork, 'g', none)).toMatchObject({
      outcome: 'ignored',
      ignored: expect.stringMatching(/^merge request !1 comes from a fork \(project 15\)/),
    });
  });

  it('builds a fork when the app allows forks', () => {
    const config = parseConfig({
      apps: {
        hello: {
          repository: { provider: 'github', url: 'https://github.com/Codertocat/Hello-World' },
          stages: { dev: { branch: 'develop' } },
          previews: { stage: 'dev', forks: true },
        },
      },
    });
    const decision = started(decidePreview(config, fromFork('synchronize'), 'g', none));
    // The head of a fork's pull request is served by the base repository under refs/pull/<n>/head.
    expect(decision.starts[0]?.input).toMatchObject({
      repository: { url: 'https://github.com/Codertocat/Hello-World' },
      ref: 'refs/pull/2/head',
      commit: HEAD,
    });
  });

  it("removes a fork's preview when it closes (removing runs none of its code)", () => {
    const decision = started(decidePreview(previewConfig, fromFork('closed'), 'g', none));
    expect(decision.starts[0]?.input).toMatchObject({ action: 'remove', reason: 'closed' });
  });
});

describe('previews.max', () => {
  it('refuses a new preview when the stage runs max previews, naming them', () => {
    const open: OpenPreviews = (app, stage) => (app === 'hello' && stage === 'dev' ? [5, 9] : []);
    expect(decidePreview(previewConfig, github('opened'), 'g', open)).toEqual({
      outcome: 'refused',
      message:
        'app hello already runs 2 previews in stage dev (previews.max 2: pr-5, pr-9): pull request #2 gets none until one of them closes',
      refused: [
        {
          app: 'hello',
          stage: 'dev',
          reason:
            'app hello already runs 2 previews in stage dev (previews.max 2: pr-5, pr-9): pull request #2 gets none until one of them closes',
        },
      ],
      skipped: [],
    });
  });

  it('updates a preview that is already open, even at max', () => {
    const decision = decidePreview(previewConfig, github('synchronize'), 'g', () => [2, 9]);
    expect(started(decision).starts[0]?.action).toBe('deploy');
  });

  it('deploys below max, and never refuses a removal', () => {
    expect(decidePreview(previewConfig, github('opened'), 'g', () => [9]).outcome).toBe('start');
    expect(decidePreview(previewConfig, github('closed'), 'g', () => [5, 9]).outcome).toBe('start');
  });

  it('starts the apps below max and lists the ones at max beside them', () => {
    const config = parseConfig({
      apps: {
        web: {
          repository: { provider: 'github', url: 'https://github.com/Codertocat/Hello-World.git' },
          path: 'web',
          stages: { dev: { branch: 'develop' } },
          previews: { stage: 'dev', max: 1 },
        },
        api: {
          repository: { provider: 'github', url: 'https://github.com/Codertocat/Hello-World.git' },
          path: 'api',
          stages: { dev: { branch: 'develop' } },
          previews: { stage: 'dev', max: 1 },
        },
      },
    });
    const decision = started(
      decidePreview(config, github('opened'), 'g', (app) => (app === 'web' ? [7] : [])),
    );
    expect(decision.starts.map((s) => s.app)).toEqual(['api']);
    expect(decision.refused).toEqual([
      {
        app: 'web',
        stage: 'dev',
        reason:
          'app web already runs 1 previews in stage dev (previews.max 1: pr-7): pull request #2 gets none until one of them closes',
      },
    ]);
  });
});

describe('repositories', () => {
  it('ignores a repository no app names', () => {
    const pr = github('opened', (b) => {
      b.pull_request.base.repo.clone_url = 'https://github.com/acme/other.git';
      b.pull_request.base.repo.html_url = 'https://github.com/acme/other';
    });
    expect(decidePreview(previewConfig, pr, 'g', none)).toEqual({
      outcome: 'ignored',
      ignored: 'repository https://github.com/acme/other.git is not in stackpilot.yml',
    });
  });

  it('ignores a repository whose apps have no previews, saying how to get them', () => {
    const config = parseConfig({
      apps: {
        hello: {
          repository: { provider: 'github', url: 'https://github.com/Codertocat/Hello-World.git' },
          stages: { prod: { branch: 'master' } },
        },
      },
    });
    expect(decidePreview(config, github('opened'), 'g', none)).toEqual({
      outcome: 'ignored',
      ignored:
        'no app of repository https://github.com/Codertocat/Hello-World.git has previews (hello: add "previews: { stage: … }" to run one per pull request)',
    });
  });

  it('matches the repository URL normalized (host case, .git, trailing slash), as pushes do', () => {
    const config = parseConfig({
      apps: {
        hello: {
          repository: { provider: 'github', url: 'https://GitHub.com/Codertocat/Hello-World/' },
          stages: { dev: { branch: 'develop' } },
          previews: { stage: 'dev' },
        },
      },
    });
    expect(decidePreview(config, github('opened'), 'g', none).outcome).toBe('start');
  });
});

describe('execution names', () => {
  const VALID = /^[A-Za-z0-9_-]{1,80}$/;

  it('are valid Step Functions names for any delivery id, and differ for different ids', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 128 }),
        fc.string({ minLength: 1, maxLength: 128 }),
        fc.integer({ min: 1, max: 99_999_999 }),
        (a, b, number) => {
          const first = previewExecutionName('hello', 'dev', number, a);
          expect(first).toMatch(VALID);
          if (a !== b) expect(previewExecutionName('hello', 'dev', number, b)).not.toBe(first);
        },
      ),
    );
  });

  it('differ between pull requests of one delivery id, and read app-stage-pr-n-delivery', () => {
    const names = new Set([
      previewExecutionName('hello', 'dev', 1, 'd'),
      previewExecutionName('hello', 'dev', 11, 'd'),
      previewExecutionName('hello', 'dev', 1, '1-d'),
    ]);
    expect(names.size).toBe(3);
    expect(previewExecutionName('hello', 'dev', 2, 'guid')).toBe('hello-dev-pr-2-guid');
  });
});
