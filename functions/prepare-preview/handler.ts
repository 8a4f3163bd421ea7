import { deployPreviewInputSchema } from '#events/preview.ts';
import { parseInput } from '#shared/errors.ts';
import { instrumentTask } from '#shared/powertools.ts';
import { preparePreview, previewDeps } from '#shared/preview/steps.ts';

/** Prepare Preview: the limit, the stage's front door and the preview's task-definition revision. */
export const handler = instrumentTask(async (event: unknown) => {
  const input = parseInput(deployPreviewInputSchema, event, 'Prepare Preview input');
  return preparePreview(input, previewDeps());
});
