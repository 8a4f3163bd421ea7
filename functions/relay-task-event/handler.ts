import { callbackDeps, relayTaskEvent } from '#shared/callbacks/steps.ts';
import { instrument } from '#shared/powertools.ts';

/**
 * The relay, target of the rule on pipeline execution and ECS deployment state changes: records
 * the outcome and resumes the execution waiting on it. A malformed event is dropped (no parse to
 * fail: EventBridge's retries could not fix it), so the step reads the event itself.
 */
export const handler = instrument(async (event: unknown) => relayTaskEvent(event, callbackDeps()));
