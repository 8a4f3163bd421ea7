/**
 * The default buildspec's translation of a repository's build.yml into one bash script, run
 * for real with python3 (what CodeBuild's standard image runs it with) on sample build.yml files.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_BUILDSPEC_PATH } from '../../infra/constructs/stage-pipeline.ts';

const spec = parseYaml(readFileSync(DEFAULT_BUILDSPEC_PATH, 'utf8')) as {
  phases: Record<string, { commands: string[] }>;
};
const buildCommand = spec.phases.build?.commands[0] ?? '';
const preBuild = spec.phases.pre_build?.commands[0] ?? '';
const generator = /<<'PY'\n([\s\S]*?)\nPY\n/.exec(buildCommand)?.[1] ?? '';

function translate(buildYml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'stackpilot-buildyml-'));
  writeFileSync(join(dir, 'build.yml'), buildYml);
  writeFileSync(join(dir, 'gen.py'), generator);
  const run = spawnSync('python3', ['gen.py', 'build.yml'], { cwd: dir, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`generator failed: ${run.stderr}`);
  return run.stdout;
}

describe('build.yml parity', () => {
  it('finds the generator in the buildspec', () => {
    expect(generator).toContain('import shlex, sys, yaml');
  });

  it('reads env.parameter-store and env.secrets-manager (name, ARN, JSON key, version stage), failing with a clear line', () => {
    const script = translate(`
version: 0.2
env:
  parameter-store:
    DB_HOST: /shop/db-host
  secrets-manager:
    TOKEN: shop/token
    PASSWORD: shop/db:password
    OLD_PASSWORD: arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/db-AbCdEf:password:AWSPREVIOUS
phases:
  build:
    commands:
      - docker build .
`);
    expect(script).toContain(
      `DB_HOST="$(aws ssm get-parameter --with-decryption --name /shop/db-host --query Parameter.Value --output text)" || { echo 'stackpilot: build.yml cannot read parameter /shop/db-host: list it under build.parameterStore or build.secretsManager of the app in stackpilot.yml (the build role may read only those)' >&2; exit 1; }`,
    );
    expect(script).toContain(
      'TOKEN="$(aws secretsmanager get-secret-value --secret-id shop/token --query SecretString --output text)"',
    );
    expect(script).toContain(
      `PASSWORD="$(aws secretsmanager get-secret-value --secret-id shop/db --query SecretString --output text | python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' password)"`,
    );
    expect(script).toContain(
      'aws secretsmanager get-secret-value --secret-id arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/db-AbCdEf --version-stage AWSPREVIOUS --query SecretString',
    );
    expect(script).toContain('export OLD_PASSWORD');
  });

  it('extracts a JSON key the way the generated pipe does', () => {
    const pipe = spawnSync(
      'bash',
      [
        '-c',
        `echo '{"password":"s3cret","user":"u"}' | python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' password`,
      ],
      { encoding: 'utf8' },
    );
    expect(pipe.stdout.trim()).toBe('s3cret');
  });

  it('names the sections it does not run instead of skipping them silently', () => {
    const script = translate(`
version: 0.2
phases:
  build:
    commands: [make]
    finally: [echo done]
  post_build:
    on-failure: ABORT
    commands: [make push]
reports:
  unit: { files: [report.xml] }
artifacts:
  files: [imagedefinitions.json]
`);
    for (const section of ['reports', 'artifacts', 'phases.build.finally', 'phases.post_build.on-failure']) {
      expect(script).toContain(`echo 'stackpilot: build.yml ${section} is not run by stackpilot'`);
    }
    expect(script).toContain("echo '[build.yml build] make'");
  });

  it('says in one line that a release.yml is not run', () => {
    expect(preBuild).toContain('stackpilot: release.yml is not run: the release state machine does its work');
  });
});
