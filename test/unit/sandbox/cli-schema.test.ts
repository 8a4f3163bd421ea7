import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { main } from '../../../sandbox/cli.ts';
import { configJsonSchema, configJsonSchemaText, SCHEMA_FILE } from '../../../sandbox/commands/schema.ts';

const root = join(import.meta.dirname, '..', '..', '..');

function io() {
  let stdout = '';
  let stderr = '';
  return {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    get out() {
      return stdout;
    },
    get err() {
      return stderr;
    },
  };
}

const validate = new Ajv({ strict: false, validateFormats: false, allErrors: true }).compile(
  configJsonSchema(),
);

describe('stackpilot schema', () => {
  it('matches the committed stackpilot.schema.json (npm run schema regenerates it)', () => {
    const committed = JSON.parse(readFileSync(join(root, SCHEMA_FILE), 'utf8'));
    // When this fails, a field of shared/config.ts changed: run `npm run schema` and commit the file.
    expect(committed).toEqual(JSON.parse(configJsonSchemaText()));
  });

  it('prints the schema, the JSON the committed file holds', async () => {
    const out = io();
    expect(await main(['schema'], out)).toBe(0);
    expect(JSON.parse(out.out)).toEqual(configJsonSchema());
  });

  it('accepts the example stackpilot.yml, which names the schema for the YAML language server', () => {
    const text = readFileSync(join(root, 'stackpilot.yml'), 'utf8');
    expect(text.split('\n')[0]).toBe(`# yaml-language-server: $schema=./${SCHEMA_FILE}`);
    expect(validate(parseYaml(text)), JSON.stringify(validate.errors)).toBe(true);
  });

  it('refuses what zod refuses, at the same field path', () => {
    const config = parseYaml(readFileSync(join(root, 'stackpilot.yml'), 'utf8')) as {
      apps: Record<string, { stages: Record<string, Record<string, unknown>>; [key: string]: unknown }>;
    };
    const [appName, app] = Object.entries(config.apps)[0] ?? [];
    if (!app || !appName) throw new Error('the example has no app');
    app.cpuu = 256;
    const [stageName, stage] = Object.entries(app.stages)[0] ?? [];
    if (!stage) throw new Error('the example app has no stage');
    stage.scale = 'huge';
    expect(validate(config)).toBe(false);
    const paths = (validate.errors ?? []).map((e) => `${e.instancePath} ${e.keyword}`);
    expect(paths).toContain(`/apps/${appName} additionalProperties`);
    expect(paths).toContain(`/apps/${appName}/stages/${stageName}/scale enum`);
  });

  it('exits 2 naming --write when given a file as an argument', async () => {
    const out = io();
    expect(await main(['schema', 'out.json'], out)).toBe(2);
    expect(out.err).toContain('use --write out.json');
  });
});
