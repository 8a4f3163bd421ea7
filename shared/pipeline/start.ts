/**
 * The `StartPipelineExecution` request of a deploy: the stage's pipeline, pinned to the
 * exact source zip version the deploy uploaded, with the commit as a pipeline variable.
 */
import { createHash } from 'node:crypto';
import { previewPipelineName, stageNames } from '../naming.ts';

/** Name of the pipeline's S3 source action, whose revision the deploy pins. */
export const SOURCE_ACTION_NAME = 'Source';

/** Pipeline-level variables a deploy sets; the stage's pipeline declares them. */
export const PIPELINE_VARIABLES = { commit: 'COMMIT', deliveryId: 'DELIVERY_ID' } as const;

/** The variable of the preview pipeline naming the pull request a build is for (docs/previews.md). */
export const PREVIEW_VARIABLES = { number: 'PREVIEW', branch: 'PREVIEW_BRANCH' } as const;

export interface StartFacts {
  readonly app: string;
  readonly stage: string;
  readonly commit: string;
  readonly deliveryId: string;
  /** S3 version id of the source zip. */
  readonly versionId: string;
  /** The Step Functions execution (ARN) that starts the pipeline. */
  readonly executionId: string;
  /** A pull request's preview: the stage's preview pipeline builds it. */
  readonly preview?: { readonly number: number; readonly branch?: string };
}

/**
 * The idempotency token of the start: the same for every attempt of one execution (a
 * Step Functions retry after a lost response starts nothing new), different for another
 * execution of the same delivery. CodePipeline accepts `[A-Za-z0-9-]{1,128}`.
 */
export function clientRequestToken(executionId: string, deliveryId: string): string {
  return createHash('sha256').update(`${executionId}\n${deliveryId}`).digest('hex');
}

/** Pipeline variable values are limited to 1000 characters; delivery ids are far shorter. */
const variableValue = (value: string) => value.slice(0, 1000);

/** The request, in the SDK's `StartPipelineExecutionInput` shape. */
export function startRequest(facts: StartFacts) {
  return {
    name:
      facts.preview === undefined
        ? stageNames(facts.app, facts.stage).pipeline
        : previewPipelineName(facts.app, facts.stage),
    clientRequestToken: clientRequestToken(facts.executionId, facts.deliveryId),
    sourceRevisions: [
      {
        actionName: SOURCE_ACTION_NAME,
        revisionType: 'S3_OBJECT_VERSION_ID' as const,
        revisionValue: facts.versionId,
      },
    ],
    variables: [
      { name: PIPELINE_VARIABLES.commit, value: facts.commit },
      { name: PIPELINE_VARIABLES.deliveryId, value: variableValue(facts.deliveryId) },
      ...(facts.preview === undefined
        ? []
        : [
            { name: PREVIEW_VARIABLES.number, value: String(facts.preview.number) },
            // The pipeline declares a default ("-") for a preview started without a branch.
            { name: PREVIEW_VARIABLES.branch, value: variableValue(facts.preview.branch ?? '-') },
          ]),
    ],
  };
}
