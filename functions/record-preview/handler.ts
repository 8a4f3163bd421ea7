import * as z from 'zod';
import { parseInput } from '#shared/errors.ts';
import { instrumentTask } from '#shared/powertools.ts';
import {
  failedExecutionSchema,
  failPreview,
  preparedPreviewSchema,
  previewDeps,
  recordPreview,
} from '#shared/preview/steps.ts';

/** A serving preview, or a failed execution (`error` is the Catch's `{Error, Cause}`). */
const inputSchema = z.union([
  z.object({ failed: failedExecutionSchema }),
  z.object({ prepared: preparedPreviewSchema }),
]);

/** Record Preview (the preview serves) and Mark Failed (the record says why, the Cause names the step). */
export const handler = instrumentTask(async (event: unknown) => {
  const input = parseInput(inputSchema, event, 'Record Preview input');
  if ('failed' in input) return failPreview(input.failed, previewDeps());
  return recordPreview(input.prepared, previewDeps());
});
