import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CONFIG_ENV,
  CONFIG_FILE_ENV,
  CONFIG_FILE_NAME,
  ConfigError,
  parseConfig,
  runtimeConfig,
  stagesTracking,
} from '#shared/config.ts';
import { loadConfigFile, parseConfigText } from '#shared/config-file.ts';
import { matchAlarmName, stageNames } from '#shared/naming.ts';

const minimal = {
  apps: {
    web: {
      repository: { provider: 'github', url: 'https://github.com/acme/web.git' },
      stages: { dev: { branch: 'main' } },
    },
  },
};

describe('configuration', () => {
  it('loads the example file with every default filled in', () => {
    const config = loadConfigFile('stackpilot.yml');
    const dev = config.apps.starter?.stages.dev;
    expect(dev?.scale).toBe('standard');
    expect(dev?.serviceScaling.cpuHigh).toBe(75);
    expect(dev?.clusterScaling).toMatchObject({ cpuHigh: 70, periodSeconds: 300 });
    expect(config.apps.starter?.stages.prod?.scale).toBe('hyperscale');
  });

  it('fills defaults from TinyStacks: t3.micro, 1..5 tasks, 75% service CPU, 70% for 5 minutes cluster CPU', () => {
    const stage = parseConfig(minimal).apps.web?.stages.dev;
    expect(stage).toMatchObject({
      instanceType: 't3.micro',
      tasks: { min: 1, max: 5 },
      serviceScaling: { cpuHigh: 75, step: 1 },
      clusterScaling: { cpuHigh: 70, periodSeconds: 300, evaluationPeriods: 1 },
      deployment: { minHealthyPercent: 100, maxPercent: 200, timeoutMinutes: 15 },
    });
  });

  it.each([
    ['an unknown tier', { scale: 'mega' }, 'apps.web.stages.dev.scale'],
    ['min above max', { tasks: { min: 6, max: 2 } }, 'apps.web.stages.dev.tasks.min'],
    ['a bad instance type', { instanceType: 'big' }, 'apps.web.stages.dev.instanceType'],
    ['an unknown field', { replicas: 3 }, 'apps.web.stages.dev'],
    [
      'deployment bounds that leave ECS no room',
      { deployment: { minHealthyPercent: 100, maxPercent: 100 } },
      'apps.web.stages.dev.deployment.minHealthyPercent',
    ],
  ])('refuses %s and names the field', (_, change, path) => {
    const doc = structuredClone(minimal) as { apps: { web: { stages: { dev: object } } } };
    Object.assign(doc.apps.web.stages.dev, change);
    expect(() => parseConfig(doc, 'stackpilot.yml')).toThrow(ConfigError);
    expect(() => parseConfig(doc, 'stackpilot.yml')).toThrow(path);
  });

  it('refuses two stages whose resource names would collide', () => {
    const doc = structuredClone(minimal) as { apps: Record<string, unknown> };
    doc.apps['web-dev'] = { ...minimal.apps.web, stages: { x: { branch: 'main' } } };
    doc.apps.web = { ...minimal.apps.web, stages: { 'dev-x': { branch: 'main' } } };
    expect(() => parseConfig(doc)).toThrow(/stackpilot-web-dev-x/);
  });

  it('refuses YAML that does not parse', () => {
    expect(() => parseConfigText('apps: [', 'x.yml')).toThrow(/x.yml is not valid YAML/);
  });

  it('finds the stages a push deploys, whatever the URL spelling', () => {
    const config = parseConfig(minimal);
    expect(stagesTracking(config, 'https://GitHub.com/acme/web', 'main').map((s) => s.stage)).toEqual([
      'dev',
    ]);
    expect(stagesTracking(config, 'https://github.com/acme/web.git', 'feature')).toEqual([]);
  });
});

describe('runtime configuration (what a function reads at cold start)', () => {
  const saved = { ...process.env };
  let taskRoot: string;
  beforeEach(() => {
    // A deployed function's code folder, as LAMBDA_TASK_ROOT names it.
    taskRoot = mkdtempSync(join(tmpdir(), 'stackpilot-task-root-'));
    delete process.env[CONFIG_ENV];
    delete process.env[CONFIG_FILE_ENV];
    process.env.LAMBDA_TASK_ROOT = taskRoot;
  });
  afterEach(() => {
    process.env = { ...saved };
    rmSync(taskRoot, { recursive: true, force: true });
  });

  it('reads the file bundled next to the code, validated and with its defaults', () => {
    writeFileSync(join(taskRoot, CONFIG_FILE_NAME), JSON.stringify(minimal));
    process.env[CONFIG_FILE_ENV] = CONFIG_FILE_NAME;
    expect(runtimeConfig()).toEqual(parseConfig(minimal));
  });

  it('reads the file once: the next calls answer from memory', () => {
    const file = join(taskRoot, CONFIG_FILE_NAME);
    writeFileSync(file, JSON.stringify(minimal));
    process.env[CONFIG_FILE_ENV] = file;
    const first = runtimeConfig();
    rmSync(file);
    expect(runtimeConfig()).toBe(first);
  });

  it('reads the configuration from the environment for an in-process run', () => {
    process.env[CONFIG_ENV] = JSON.stringify(minimal);
    expect(runtimeConfig().apps.web?.stages.dev?.branch).toBe('main');
  });

  it('names both variables when neither is set', () => {
    expect(() => runtimeConfig()).toThrow(
      'environment variable STACKPILOT_CONFIG_FILE (or STACKPILOT_CONFIG_JSON for an in-process run) is not set',
    );
  });

  it('refuses both variables at once: one source of truth', () => {
    process.env[CONFIG_FILE_ENV] = CONFIG_FILE_NAME;
    process.env[CONFIG_ENV] = JSON.stringify(minimal);
    expect(() => runtimeConfig()).toThrow(/STACKPILOT_CONFIG_FILE and STACKPILOT_CONFIG_JSON are both set/);
  });

  it('names the file it cannot read', () => {
    process.env[CONFIG_FILE_ENV] = CONFIG_FILE_NAME;
    expect(() => runtimeConfig()).toThrow(
      `cannot read ${join(taskRoot, CONFIG_FILE_NAME)} (STACKPILOT_CONFIG_FILE): ENOENT`,
    );
  });

  it('names the file that is not JSON, and the field that is wrong', () => {
    const file = join(taskRoot, CONFIG_FILE_NAME);
    process.env[CONFIG_FILE_ENV] = CONFIG_FILE_NAME;
    writeFileSync(file, '{"apps": ');
    expect(() => runtimeConfig()).toThrow(`${file} (STACKPILOT_CONFIG_FILE) is not JSON`);
    writeFileSync(file, JSON.stringify({ apps: { web: { ...minimal.apps.web, cpu: 1 } } }));
    expect(() => runtimeConfig()).toThrow(ConfigError);
    expect(() => runtimeConfig()).toThrow(/STACKPILOT_CONFIG_FILE\)[\s\S]*apps\.web\.cpu/);
  });
});

describe('naming', () => {
  it('round-trips alarm names', () => {
    const name = stageNames('my-app', 'prod').alarm('cluster', 'in');
    expect(name).toBe('stackpilot-my-app-prod-cluster-cpu-low');
    const stages = [
      { app: 'my', stage: 'app' },
      { app: 'my-app', stage: 'prod' },
    ];
    expect(matchAlarmName(name, stages)).toEqual({
      app: 'my-app',
      stage: 'prod',
      target: 'cluster',
      direction: 'in',
    });
    expect(matchAlarmName('some-other-alarm', stages)).toBeUndefined();
  });
});
