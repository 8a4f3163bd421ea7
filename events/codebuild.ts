/**
 * "CodeBuild Build State Change" events (sample: `events/samples/codebuild-build-failed.json`,
 * shaped as in the CodeBuild docs' build notifications reference), and the pattern of a
 * stage's "the build failed" alert.
 */
export const BUILD_STATE_CHANGE = 'CodeBuild Build State Change';

/** The build statuses that end a build without an image. */
export const FAILED_BUILD_STATUSES = ['FAILED', 'FAULT', 'TIMED_OUT'] as const;

/** EventBridge pattern (JSON form) of the failed builds of one CodeBuild project. */
export function buildFailedPattern(projectName: string) {
  return {
    source: ['aws.codebuild'],
    'detail-type': [BUILD_STATE_CHANGE],
    detail: { 'build-status': [...FAILED_BUILD_STATUSES], 'project-name': [projectName] },
  };
}
