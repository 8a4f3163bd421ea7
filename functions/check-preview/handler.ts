import * as z from 'zod';
import { parseInput } from '#shared/errors.ts';
import { instrumentTask } from '#shared/powertools.ts';
import {
  checkPreview,
  deployedPreviewSchema,
  preparedPreviewSchema,
  previewDeps,
} from '#shared/preview/steps.ts';

const inputSchema = z.object({ prepared: preparedPreviewSchema, deployment: deployedPreviewSchema });

/** Check Preview: one look at the preview's deployment (done, wait, or failed with the reasons). */
export const handler = instrumentTask(async (event: unknown) => {
  const { prepared, deployment } = parseInput(inputSchema, event, 'Check Preview input');
  return checkPreview(prepared, deployment, previewDeps());
});
