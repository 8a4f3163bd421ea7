import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { costCommand, EXIT } from '../../../sandbox/commands/cost.ts';

function run(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = costCommand(argv, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
  });
  return { code, stdout, stderr };
}

describe('stackpilot cost', () => {
  it('prints both tiers for a stage of stackpilot.yml and recommends one', () => {
    const { code, stdout, stderr } = run([
      '--app',
      'starter',
      '--stage',
      'dev',
      '--config',
      'stackpilot.yml',
    ]);
    expect(code).toBe(EXIT.ok);
    expect(stderr).toBe('');
    expect(stdout).toContain('starter/dev (now standard)');
    expect(stdout).toMatch(/prices of \d{4}-\d{2}-\d{2}, us-east-1/);
    expect(stdout).toMatch(/^total per month\s+\$\d+\.\d\d\s+\$\d+\.\d\d$/m);
    expect(stdout).toMatch(/^recommended: standard \(\$\d+\.\d\d a month less than hyperscale\)/m);
  });

  it('adds what the previews of a stage cost at most: max tasks more, and the instances they need', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stackpilot-cost-previews-'));
    const path = join(dir, 'stackpilot.yml');
    writeFileSync(
      path,
      [
        'apps:',
        '  web:',
        '    repository: { provider: github, url: https://github.com/acme/web.git }',
        '    cpu: 256',
        '    memory: 512',
        '    previews: { stage: dev, max: 4, ttlHours: 48 }',
        '    stages:',
        '      dev: { branch: main, instanceType: t3.micro, tasks: { min: 1, max: 2 }, instances: { min: 1, max: 3 } }',
        '      prod: { branch: release }',
      ].join('\n'),
    );
    const dev = run(['--app', 'web', '--stage', 'dev', '--config', path]);
    expect(dev.code).toBe(EXIT.ok);
    // t3.micro holds 1 task of 512 MiB (950 MiB for tasks): 1 task + 1 deploy slot + 4 previews = 6 instances.
    expect(dev.stdout).toMatch(
      /^previews: up to 4 open \(a task each in this cluster, removed after 48 h without a push\); with all 4 open all month: 5 task\(s\) on 6 × t3\.micro, \+\$\d+\.\d\d standard, \+\$\d+\.\d\d hyperscale a month\.$/m,
    );
    const json = JSON.parse(run(['--app', 'web', '--stage', 'dev', '--config', path, '--json']).stdout);
    expect(json.previews).toMatchObject({ max: 4, usage: { tasks: 5, instances: 6 } });
    expect(json.previews.estimate.tiers.standard.total).toBeGreaterThan(json.tiers.standard.total);
    // Another stage of the app runs no previews.
    expect(run(['--app', 'web', '--stage', 'prod', '--config', path]).stdout).not.toContain('previews:');
  });

  it('takes the instance type and count of the stage from the configuration', () => {
    const { stdout } = run(['--app', 'starter', '--stage', 'prod']);
    expect(stdout).toContain('EC2 instances (2 × t3.small)');
  });

  it("recommends hyperscale for TinyStacks' 10,000 connections a minute and 3 GB an hour", () => {
    const { code, stdout } = run(['--new-connections-per-minute', '10000', '--gb-per-hour', '3']);
    expect(code).toBe(EXIT.ok);
    expect(stdout).toContain('432,000,000 requests a month');
    expect(stdout).toMatch(/Application Load Balancer LCUs\s+-\s+\$38\.93/);
    expect(stdout).toMatch(/API Gateway HTTP API requests\s+\$418\.80/);
    expect(stdout).toMatch(/^recommended: hyperscale/m);
  });

  it.each(['m3.medium', 'm3.large'])(
    'answers for %s, which the TinyStacks document names for hyperscale',
    (type) => {
      const { code, stdout, stderr } = run(['--instance-type', type, '--instances', '2']);
      expect(stderr).toBe('');
      expect(code).toBe(EXIT.ok);
      expect(stdout).toContain(`EC2 instances (2 × ${type})`);
    },
  );

  it('prints the estimate as JSON with --json', () => {
    const { code, stdout } = run(['--requests-per-month', '432,000,000', '--json']);
    expect(code).toBe(EXIT.ok);
    const estimate = JSON.parse(stdout);
    expect(estimate.recommended).toBe('hyperscale');
    expect(estimate.usage.requestsPerMonth).toBe(432e6);
  });

  it.each([
    [['--bogus'], /Unknown option '--bogus'/],
    [['--instances', 'two'], /--instances must be an integer of at least 1, got "two"/],
    [['--instances', '0'], /--instances must be an integer of at least 1/],
    [['--requests-per-month=-5'], /--requests-per-month must be a number of at least 0/],
    [['--requests-per-month', '-5'], /'--requests-per-month' argument is ambiguous/],
    [['--gb-per-hour', ''], /--gb-per-hour must be a number/],
    [['--app', 'starter'], /--app and --stage go together/],
    [['--app', 'starter', '--stage', 'qa'], /no stage starter\/qa .*starter\/dev, starter\/prod/],
    [['--region', 'eu-west-1'], /no price table for region eu-west-1/],
    [['--instance-type', 'z9.huge'], /no price for instance type z9\.huge/],
    [['extra'], /Unexpected argument 'extra'/],
  ])('refuses %j with one line on stderr and exit code 2', (argv, message) => {
    const { code, stdout, stderr } = run(argv);
    expect(code).toBe(EXIT.usage);
    expect(stdout).toBe('');
    expect(stderr).toMatch(message);
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('exits 1 naming the field when the configuration is invalid', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stackpilot-cost-'));
    const path = join(dir, 'stackpilot.yml');
    writeFileSync(
      path,
      'apps:\n  web:\n    repository: { provider: github, url: "https://github.com/a/b" }\n    stages:\n      dev: { branch: main, scale: huge }\n',
    );
    const { code, stderr } = run(['--app', 'web', '--stage', 'dev', '--config', path]);
    expect(code).toBe(EXIT.config);
    expect(stderr).toContain('apps.web.stages.dev.scale');
  });

  it('prints its usage with --help', () => {
    const { code, stdout } = run(['--help']);
    expect(code).toBe(EXIT.ok);
    expect(stdout).toMatch(/^usage: stackpilot cost/);
  });
});
