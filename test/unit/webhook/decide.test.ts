import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deployInputSchema } from '#events/deploy.ts';
import { classifyEvent, decidePush, executionName } from '#shared/webhook/decide.ts';
import type { Push } from '#shared/webhook/push.ts';
import { config } from './support.ts';

const COMMIT = 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7';
const push = (over: Partial<Push> = {}): Push => ({
  provider: 'gitlab',
  ref: 'refs/heads/master',
  commit: COMMIT,
  deleted: false,
  tagPush: false,
  repositoryUrls: [
    'https://gitlab.example.com/mike/diaspora.git',
    'https://gitlab.example.com/mike/diaspora',
  ],
  changes: { known: true, paths: ['app/controller/application.rb'] },
  ...over,
});

describe('classifyEvent', () => {
  it.each([
    ['github', 'push', { kind: 'push' }],
    ['github', 'pull_request', { kind: 'pull-request' }],
    ['github', 'ping', { kind: 'ignored', ignored: 'ping: the webhook is set up' }],
    ['github', 'issues', { kind: 'ignored', ignored: 'event "issues" is neither a push nor a pull request' }],
    ['github', undefined, { kind: 'ignored', ignored: 'no X-GitHub-Event header: not a push' }],
    ['gitlab', 'Push Hook', { kind: 'push' }],
    ['gitlab', 'Tag Push Hook', { kind: 'push' }],
    ['gitlab', 'Merge Request Hook', { kind: 'pull-request' }],
    [
      'gitlab',
      'Pipeline Hook',
      { kind: 'ignored', ignored: 'event "Pipeline Hook" is neither a push nor a merge request' },
    ],
    ['gitlab', '', { kind: 'ignored', ignored: 'no X-Gitlab-Event header: not a push' }],
  ] as const)('%s %s', (provider, event, expected) => {
    expect(classifyEvent(provider, event)).toEqual(expected);
  });
});

describe('decidePush', () => {
  it('deploys the stage that tracks the pushed branch, with a valid deploy input', () => {
    const decision = decidePush(config, push(), 'uuid-1');
    expect(decision).toEqual({
      deploy: true,
      deployments: [
        {
          app: 'diaspora',
          stage: 'prod',
          executionName: 'diaspora-prod-uuid-1',
          input: {
            app: 'diaspora',
            stage: 'prod',
            repository: { provider: 'gitlab', url: 'https://gitlab.example.com/mike/diaspora.git' },
            ref: 'refs/heads/master',
            commit: COMMIT,
            deliveryId: 'uuid-1',
          },
        },
      ],
      skipped: [],
    });
    if (decision.deploy) expect(deployInputSchema.parse(decision.deployments[0]?.input)).toBeTruthy();
  });

  it('matches the repository by its web URL too, and ignores URL case of the host and a trailing .git', () => {
    const decision = decidePush(
      config,
      push({ repositoryUrls: ['https://GITLAB.example.com/mike/diaspora/'] }),
      'd',
    );
    expect(decision.deploy).toBe(true);
  });

  it('deploys a branch with slashes', () => {
    const decision = decidePush(config, push({ ref: 'refs/heads/develop' }), 'd');
    expect(decision).toMatchObject({ deploy: true, deployments: [{ stage: 'dev' }] });
  });

  it.each([
    [
      'a tag push',
      push({ ref: 'refs/tags/v1.0.0', tagPush: true }),
      'tag push (v1.0.0): only branch pushes deploy',
    ],
    [
      'a GitHub tag creation',
      push({ ref: 'refs/tags/v1.0.0' }),
      'tag push (v1.0.0): only branch pushes deploy',
    ],
    [
      'a tag deletion',
      push({ ref: 'refs/tags/v1.0.0', deleted: true }),
      'tag deletion (v1.0.0): only branch pushes deploy',
    ],
    ['a branch deletion', push({ deleted: true }), 'branch deletion (master): nothing to deploy'],
    [
      'a ref that is not a branch',
      push({ ref: 'refs/notes/commits' }),
      'ref refs/notes/commits is not a branch',
    ],
    [
      'an untracked branch',
      push({ ref: 'refs/heads/feature/x' }),
      'branch feature/x of https://gitlab.example.com/mike/diaspora.git is not tracked (tracked: master, develop)',
    ],
    [
      'an unknown repository',
      push({ repositoryUrls: ['https://gitlab.example.com/mike/other.git'] }),
      'repository https://gitlab.example.com/mike/other.git is not in stackpilot.yml',
    ],
  ])('ignores %s', (_what, given, reason) => {
    expect(decidePush(config, given, 'd')).toEqual({ deploy: false, ignored: reason });
  });
});

describe('executionName', () => {
  const SAFE = /^[A-Za-z0-9_-]{1,80}$/;
  const appName = fc.stringMatching(/^[a-z][a-z0-9-]{0,19}$/);

  it('is <app>-<stage>-<delivery id> for an ordinary delivery id', () => {
    expect(executionName('hello', 'prod', '72d3162e-cc78-11e3-81ab-4c9367dc0958')).toBe(
      'hello-prod-72d3162e-cc78-11e3-81ab-4c9367dc0958',
    );
  });

  it('keeps the longest app and stage names with a UUID under 80 characters unchanged', () => {
    const name = executionName('a'.repeat(20), 'b'.repeat(20), '72d3162e-cc78-11e3-81ab-4c9367dc0958');
    expect(name).toBe(`${'a'.repeat(20)}-${'b'.repeat(20)}-72d3162e-cc78-11e3-81ab-4c9367dc0958`);
  });

  it('is always a valid Step Functions name, deterministic, and distinct per app, stage and delivery', () => {
    const delivery = fc.oneof(
      fc.uuid(),
      fc.string({ minLength: 1, maxLength: 200 }),
      fc.stringMatching(/^[a-z-]{1,120}$/),
    );
    fc.assert(
      fc.property(
        fc.tuple(appName, appName, delivery),
        fc.tuple(appName, appName, delivery),
        ([a1, s1, d1], [a2, s2, d2]) => {
          const name = executionName(a1, s1, d1);
          expect(name).toMatch(SAFE);
          expect(executionName(a1, s1, d1)).toBe(name);
          if (a1 !== a2 || s1 !== s2 || d1 !== d2) {
            // Equal names need equal app-stage prefixes, which the configuration forbids for different stages.
            if (`${a1}-${s1}` !== `${a2}-${s2}` || (a1 === a2 && s1 === s2))
              expect(executionName(a2, s2, d2)).not.toBe(name);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('replaces unsafe characters and adds a hash so ids that differ only there stay apart', () => {
    const a = executionName('hello', 'prod', 'a/b');
    const b = executionName('hello', 'prod', 'a:b');
    expect(a).toMatch(/^hello-prod-a_b-[0-9a-f]{16}$/);
    expect(a).not.toBe(b);
  });
});
