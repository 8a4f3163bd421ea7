import { instrument } from '#shared/powertools.ts';
import { expirePreviews, previewDeps, previewStateMachineArn } from '#shared/preview/steps.ts';

/** Hourly (EventBridge schedule): starts the removal of every preview older than its app's `previews.ttlHours`. */
export const handler = instrument(async () => {
  const expired = await expirePreviews(previewStateMachineArn(), previewDeps());
  return { expired };
});
