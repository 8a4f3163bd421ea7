/**
 * `npm run lint:templates`: synthesizes the CDK app for `lint-templates.config.yml` (both tiers,
 * every optional field) and runs cfn-lint over every template. Any finding fails the run,
 * except the ones listed in {@link ACCEPTED}, the only place a finding is ignored.
 *
 * cfn-lint is a Python tool, not an npm dependency. Without it the run is skipped with one line
 * saying how to get it, unless `CI=true`: then a missing cfn-lint fails.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The cfn-lint release these templates are checked with (what `.ci/run` installs elsewhere). */
const CFN_LINT_VERSION = '1.51.0';
const INSTALL_HINT = `pip install cfn-lint==${CFN_LINT_VERSION}`;

/** A finding that is not a defect of the templates, and why. */
interface Accepted {
  readonly rule: string;
  /** Only on resources of this type (every resource when absent). */
  readonly resourceType?: string;
  /** Only on this top-level property of the resource (anywhere when absent). */
  readonly property?: string;
  readonly reason: string;
}

const ACCEPTED: readonly Accepted[] = [
  {
    rule: 'W3005',
    reason:
      'CDK writes DependsOn next to the Ref or GetAtt that already implies it (for example a service on its listener): CDK output, harmless.',
  },
  {
    rule: 'E3002',
    resourceType: 'AWS::ElasticLoadBalancingV2::Listener',
    property: 'Tags',
    reason:
      "CloudFormation accepts Tags on listeners and CDK's generated CfnListener (taggable) propagates the stack tags; the resource schema bundled with cfn-lint 1.51 predates that.",
  },
];

interface Finding {
  readonly Filename: string;
  readonly Level: string;
  readonly Message: string;
  readonly Location: { readonly Start: { readonly LineNumber: number }; readonly Path: (string | number)[] };
  readonly Rule: { readonly Id: string };
}

type Template = { Resources?: Record<string, { Type?: string }> };

function acceptedBy(finding: Finding, template: Template): Accepted | undefined {
  const [section, logicalId, properties, property] = finding.Location.Path;
  const resourceType =
    section === 'Resources' && typeof logicalId === 'string'
      ? template.Resources?.[logicalId]?.Type
      : undefined;
  return ACCEPTED.find(
    (a) =>
      a.rule === finding.Rule.Id &&
      (a.resourceType === undefined || a.resourceType === resourceType) &&
      (a.property === undefined || (properties === 'Properties' && property === a.property)),
  );
}

function cfnLintVersion(): string | undefined {
  const probe = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) return undefined;
  return probe.stdout.trim().replace(/^cfn-lint\s+/, '');
}

/** Synthesizes without bundling the functions: the templates do not depend on the bundles. */
async function synthesize(configPath: string): Promise<string> {
  // Loaded here, not at the top: a run without cfn-lint stops before loading the CDK app.
  const { App } = await import('aws-cdk-lib');
  const { buildApp } = await import('../infra/app.ts');
  const { loadConfigFile } = await import('../shared/config-file.ts');
  const outdir = mkdtempSync(join(tmpdir(), 'stackpilot-lint-templates-'));
  // The feature flags of `npx cdk synth` (cdk.json), so the templates are the deployed ones.
  const { context } = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context: object };
  const app = new App({ outdir, context: { ...context, 'aws:cdk:bundling-stacks': [] } });
  buildApp(loadConfigFile(configPath), app).app.synth();
  return outdir;
}

async function main(): Promise<number> {
  const version = cfnLintVersion();
  if (!version) {
    if (process.env.CI === 'true') {
      console.error(`lint:templates: cfn-lint is not installed, and CI requires it (${INSTALL_HINT})`);
      return 1;
    }
    console.log(`lint:templates: skipped, cfn-lint is not installed (${INSTALL_HINT})`);
    return 0;
  }
  if (version !== CFN_LINT_VERSION) {
    console.log(
      `lint:templates: cfn-lint ${version}; the accepted findings were reviewed on ${CFN_LINT_VERSION}`,
    );
  }

  const config = 'scripts/lint-templates.config.yml';
  const outdir = await synthesize(join(PROJECT_ROOT, config));
  const files = readdirSync(outdir)
    .filter((f) => f.endsWith('.template.json'))
    .sort();
  const run = spawnSync('cfn-lint', ['--format', 'json', '--', ...files], {
    cwd: outdir,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  // cfn-lint exits non-zero when it finds anything; only unreadable output is a failure to run.
  let findings: Finding[];
  try {
    findings = JSON.parse(run.stdout) as Finding[];
  } catch {
    console.error(`lint:templates: cfn-lint failed (exit ${run.status}):\n${run.stderr}`);
    return 1;
  }

  const templates = new Map(
    files.map((f) => [f, JSON.parse(readFileSync(join(outdir, f), 'utf8')) as Template]),
  );
  const accepted = new Map<string, number>();
  const rejected: Finding[] = [];
  for (const finding of findings) {
    const by = acceptedBy(finding, templates.get(finding.Filename) ?? {});
    if (by) accepted.set(by.rule, (accepted.get(by.rule) ?? 0) + 1);
    else rejected.push(finding);
  }

  for (const f of rejected) {
    console.log(
      `${f.Filename}:${f.Location.Start.LineNumber} ${f.Level} ${f.Rule.Id} at ${f.Location.Path.join('/')}: ${f.Message}`,
    );
  }
  const acceptedSummary = [...accepted].map(([rule, count]) => `${rule} x${count}`).join(', ') || 'none';
  console.log(
    `lint:templates: cfn-lint ${version} on ${files.length} templates (${config}): ` +
      `${rejected.length} findings, accepted ${acceptedSummary}`,
  );
  if (rejected.length > 0) {
    console.log(`lint:templates: templates kept in ${outdir}`);
    return 1;
  }
  rmSync(outdir, { recursive: true, force: true });
  return 0;
}

process.exitCode = await main();
