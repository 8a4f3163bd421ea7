/** stackpilot.yml fields of promotion and monorepos: promoteFrom (stage), path and watchPaths (app). */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../shared/config.ts';

const repository = { provider: 'github', url: 'https://github.com/acme/shop.git' };

function config(app: Record<string, unknown>, stages: Record<string, unknown>) {
  return parseConfig({ apps: { web: { repository, ...app, stages } } });
}

describe('promoteFrom', () => {
  it('accepts another stage of the same app', () => {
    const parsed = config({}, { dev: { branch: 'main' }, prod: { branch: 'release', promoteFrom: 'dev' } });
    expect(parsed.apps.web?.stages.prod?.promoteFrom).toBe('dev');
    expect(parsed.apps.web?.stages.dev?.promoteFrom).toBeUndefined();
  });

  it('refuses a stage that does not exist, naming the field and the known stages', () => {
    expect(() =>
      config({}, { dev: { branch: 'main' }, prod: { branch: 'release', promoteFrom: 'qa' } }),
    ).toThrow(
      /apps\.web\.stages\.prod\.promoteFrom: no stage qa in this app to promote from \(stages: dev, prod\)/,
    );
  });

  it('refuses a stage promoted from itself', () => {
    expect(() => config({}, { prod: { branch: 'release', promoteFrom: 'prod' } })).toThrow(
      /stages\.prod\.promoteFrom: stage prod cannot be promoted from itself/,
    );
  });

  it('refuses promotions that go round in a circle (no stage would ever get an image)', () => {
    expect(() =>
      config(
        {},
        { qa: { branch: 'qa', promoteFrom: 'prod' }, prod: { branch: 'release', promoteFrom: 'qa' } },
      ),
    ).toThrow(/promoteFrom goes round in a circle/);
  });

  it('refuses a stage of another app', () => {
    const document = {
      apps: {
        api: { repository, stages: { dev: { branch: 'main' } } },
        web: { repository, stages: { prod: { branch: 'release', promoteFrom: 'dev' } } },
      },
    };
    expect(() => parseConfig(document)).toThrow(ConfigError);
    expect(() => parseConfig(document)).toThrow(/apps\.web\.stages\.prod\.promoteFrom: no stage dev/);
  });
});

describe('path and watchPaths', () => {
  it('normalizes the path (no ./ prefix, no trailing slash) and keeps watchPaths', () => {
    const parsed = config(
      { path: './services/api/', watchPaths: ['services/api/**', 'libs/**'] },
      { dev: { branch: 'main' } },
    );
    expect(parsed.apps.web?.path).toBe('services/api');
    expect(parsed.apps.web?.watchPaths).toEqual(['services/api/**', 'libs/**']);
  });

  it('leaves both unset by default (the repository root, every file)', () => {
    const parsed = config({}, { dev: { branch: 'main' } });
    expect(parsed.apps.web?.path).toBeUndefined();
    expect(parsed.apps.web?.watchPaths).toBeUndefined();
  });

  it.each(['/services/api', 'services/../secrets', '.', '', 'a//b'])('refuses the path %j', (path) => {
    expect(() => config({ path }, { dev: { branch: 'main' } })).toThrow(
      /apps\.web\.path: a folder relative to the repository root/,
    );
  });

  it('refuses an empty watchPaths list', () => {
    expect(() => config({ watchPaths: [] }, { dev: { branch: 'main' } })).toThrow(/apps\.web\.watchPaths/);
  });
});
