import { describe, expect, it } from 'vitest';
import { allStages, commitStatusTokenSecret, parseConfig, stageAlertEmails } from '../../../shared/config.ts';

const base = {
  repository: { provider: 'github', url: 'https://github.com/acme/web.git' },
  stages: {
    dev: { branch: 'main' },
    prod: { branch: 'release', alerts: { emails: ['oncall@example.com'] } },
  },
};

describe('alerts and commitStatus in stackpilot.yml', () => {
  it("gives each stage the app's alert e-mails unless the stage has its own", () => {
    const config = parseConfig({ apps: { web: { ...base, alerts: { emails: ['dev@example.com'] } } } });
    expect(allStages(config).map((s) => [s.stage, stageAlertEmails(s)])).toEqual([
      ['dev', ['dev@example.com']],
      ['prod', ['oncall@example.com']],
    ]);
  });

  it('has no e-mails by default', () => {
    const config = parseConfig({ apps: { web: { ...base, stages: { dev: { branch: 'main' } } } } });
    expect(allStages(config).map(stageAlertEmails)).toEqual([[]]);
  });

  it('refuses an address that is not one, naming the field', () => {
    expect(() => parseConfig({ apps: { web: { ...base, alerts: { emails: ['nobody'] } } } })).toThrow(
      /apps\.web\.alerts\.emails\.0: an e-mail address/,
    );
  });

  it('takes the status token from commitStatus.tokenSecret, else the repository token, unless disabled', () => {
    const app = (extra: object, token?: string) =>
      parseConfig({
        apps: {
          web: {
            ...base,
            repository: { ...base.repository, ...(token && { tokenSecret: token }) },
            ...extra,
          },
        },
      }).apps.web as Parameters<typeof commitStatusTokenSecret>[0];
    expect(commitStatusTokenSecret(app({}))).toBeUndefined();
    expect(commitStatusTokenSecret(app({}, 'clone-token'))).toBe('clone-token');
    expect(
      commitStatusTokenSecret(app({ commitStatus: { tokenSecret: 'status-token' } }, 'clone-token')),
    ).toBe('status-token');
    expect(commitStatusTokenSecret(app({ commitStatus: { enabled: false } }, 'clone-token'))).toBeUndefined();
  });
});
