/**
 * A monorepo app (`path` in stackpilot.yml): its CodeBuild project tells the buildspec the
 * app's folder, and the buildspec builds there (build.yml lookup, Dockerfile, context).
 */
import { readFileSync } from 'node:fs';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_BUILDSPEC_PATH } from '../../infra/constructs/stage-pipeline.ts';
import { oneStageConfig, synthStage } from './stage-stack.ts';

function buildVariables(template: ReturnType<typeof synthStage>['template']) {
  const [project] = Object.values(template.findResources('AWS::CodeBuild::Project'));
  return (project?.Properties.Environment.EnvironmentVariables ?? []) as Array<{
    Name: string;
    Value: unknown;
  }>;
}

describe('build context of a monorepo app', () => {
  it('passes the app path to CodeBuild as STACKPILOT_APP_PATH, next to its DOCKERFILE_PATH', () => {
    const { template, nagFindings } = synthStage(
      oneStageConfig({ path: './services/api/', dockerfilePath: 'docker/Dockerfile' }),
    );
    template.hasResourceProperties('AWS::CodeBuild::Project', {
      Environment: Match.objectLike({
        EnvironmentVariables: Match.arrayWith([
          { Name: 'DOCKERFILE_PATH', Type: 'PLAINTEXT', Value: 'docker/Dockerfile' },
          { Name: 'STACKPILOT_APP_PATH', Type: 'PLAINTEXT', Value: 'services/api' },
        ]),
      }),
    });
    expect(nagFindings).toEqual([]);
  }, 120_000);

  it('sets no STACKPILOT_APP_PATH for an app at the repository root', () => {
    const { template } = synthStage(oneStageConfig());
    expect(buildVariables(template).map((v) => v.Name)).not.toContain('STACKPILOT_APP_PATH');
  }, 120_000);

  it('changes into the app folder before build.yml is looked for, in both phases', () => {
    const spec = parseYaml(readFileSync(DEFAULT_BUILDSPEC_PATH, 'utf8')) as {
      phases: Record<string, { commands: string[] }>;
    };
    const cd = 'cd "$CODEBUILD_SRC_DIR/$STACKPILOT_APP_PATH"';
    const preBuild = spec.phases.pre_build?.commands[0] ?? '';
    const build = spec.phases.build?.commands[0] ?? '';
    expect(preBuild).toContain(cd);
    expect(build.indexOf(cd)).toBeGreaterThanOrEqual(0);
    expect(build.indexOf(cd)).toBeLessThan(build.indexOf('if [ -f build.yml ]'));
  });
});
