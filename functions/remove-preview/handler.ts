import { removePreviewInputSchema } from '#events/preview.ts';
import { parseInput } from '#shared/errors.ts';
import { instrumentTask } from '#shared/powertools.ts';
import { previewDeps, removePreview } from '#shared/preview/steps.ts';

/** Remove Preview: routes, service, task definitions and record; `PreviewStillDraining` while its task stops. */
export const handler = instrumentTask(async (event: unknown) => {
  const input = parseInput(removePreviewInputSchema, event, 'Remove Preview input');
  return removePreview(input, previewDeps());
});
