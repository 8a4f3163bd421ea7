import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfigFile } from '#shared/config-file.ts';
import {
  appTemplates,
  PROJECT_ROOT,
  templateInputs,
  templatesHash,
} from '../../../sandbox/templates/synth.ts';

describe('the templates cache', () => {
  let dir: string | undefined;
  afterEach(() => dir && rmSync(dir, { recursive: true, force: true }));

  it('hashes infra/, what it imports, the ASL files, the lockfile and cdk.json, and nothing else', () => {
    const inputs = templateInputs().map((f) => relative(PROJECT_ROOT, f));
    expect(inputs).toEqual(
      expect.arrayContaining([
        'infra/app.ts',
        'infra/buildspec/default.yml',
        'shared/config.ts',
        'shared/naming.ts',
        'events/cloudwatch-alarm.ts',
        'state-machines/release.asl.json',
        'package-lock.json',
        'cdk.json',
      ]),
    );
    expect(
      inputs.filter((f) => f.startsWith('sandbox/') || f.startsWith('test/') || f.startsWith('functions/')),
    ).toEqual([]);
  });

  it('gives another hash for another configuration, the same for the same one', () => {
    const config = loadConfigFile('stackpilot.yml');
    const changed = structuredClone(config);
    const app = changed.apps.starter;
    if (!app) throw new Error('the example configuration has no starter app');
    app.cpu = 512;
    expect(templatesHash(config)).toBe(templatesHash(structuredClone(config)));
    expect(templatesHash(changed)).not.toBe(templatesHash(config));
  });

  it('reads the cached templates of the same hash without synthesizing', async () => {
    dir = mkdtempSync(join(tmpdir(), 'stackpilot-cache-'));
    const config = loadConfigFile('stackpilot.yml');
    const hash = templatesHash(config);
    const cached = { hash, stacks: [{ stackName: 'Only', template: { Resources: {} }, dependencies: [] }] };
    mkdirSync(join(dir, hash));
    writeFileSync(join(dir, hash, 'templates.json'), JSON.stringify(cached));
    expect(await appTemplates(config, { cacheDir: dir })).toEqual({ ...cached, fromCache: true });
  });

  it('synthesizes on a miss, every stack after those it depends on, and keeps only the newest entry', async () => {
    dir = mkdtempSync(join(tmpdir(), 'stackpilot-cache-'));
    mkdirSync(join(dir, 'a'.repeat(64)));
    const set = await appTemplates(loadConfigFile('stackpilot.yml'), { cacheDir: dir });
    expect(set.fromCache).toBe(false);
    expect(set.stacks.map((s) => s.stackName)).toEqual([
      'StackpilotControlPlane',
      'StackpilotRepository-starter',
      'Stackpilot-starter-dev',
      'Stackpilot-starter-prod',
    ]);
    expect(readdirSync(dir)).toEqual([set.hash]);
    expect((await appTemplates(loadConfigFile('stackpilot.yml'), { cacheDir: dir })).fromCache).toBe(true);
  });
});
