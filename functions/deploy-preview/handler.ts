import * as z from 'zod';
import { parseInput } from '#shared/errors.ts';
import { instrumentTask } from '#shared/powertools.ts';
import { deployPreview, preparedPreviewSchema, previewDeps } from '#shared/preview/steps.ts';

const inputSchema = z.object({ prepared: preparedPreviewSchema });

/** Deploy Preview: the record (`deploying`), the route, and the service created or updated. */
export const handler = instrumentTask(async (event: unknown) => {
  const { prepared } = parseInput(inputSchema, event, 'Deploy Preview input');
  return deployPreview(prepared, previewDeps());
});
