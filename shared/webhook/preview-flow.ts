/**
 * The webhook's answer to a verified pull (merge) request delivery: count the open previews
 * of the stages a deploy would add one to, decide ({@link decidePreview}), start the
 * executions, and say what happened. The AWS calls come in as {@link PreviewPorts}, which
 * `steps.ts` wires to the clients.
 */

import type { StartedExecution } from '#shared/aws/stepfunctions.ts';
import type { StackpilotConfig } from '#shared/config.ts';
import type { Skipped } from './decide.ts';
import { decidePreview, previewChange, previewTargets } from './preview.ts';
import type { PullRequest } from './pull-request.ts';

/** What the flow asks of AWS. */
export interface PreviewPorts {
  /** The numbers of a stage's open previews (its preview records). */
  listOpenPreviews(app: string, stage: string): Promise<readonly number[]>;
  /** Starts execution `name` of the `deploy` state machine. */
  startDeploy(name: string, input: unknown): Promise<StartedExecution>;
  /** Starts execution `name` of the `preview` state machine. */
  startPreview(name: string, input: unknown): Promise<StartedExecution>;
}

/** One execution the delivery started (or had started already: a redelivery). */
export interface StartedPreview {
  readonly app: string;
  readonly stage: string;
  readonly number: number;
  readonly action: 'deploy' | 'remove';
  readonly executionArn: string;
  readonly executionName: string;
}

export type PreviewAnswer =
  | { readonly status: 200; readonly body: { ignored: string } }
  | { readonly status: 202; readonly body: Record<string, unknown>; readonly started: StartedPreview[] }
  | { readonly status: 409; readonly body: { message: string; refused: Skipped[]; skipped?: Skipped[] } }
  /** An AWS call failed: `what` failed, the handler answers 502/503. */
  | { readonly status: 'failed'; readonly what: string; readonly error: unknown };

/**
 * Answers a pull request event: 202 with the executions started (and the apps skipped or
 * refused beside them), 409 when every app that would deploy it is at `previews.max`,
 * 200 with the reason when it changes no preview.
 */
export async function answerPullRequest(
  config: StackpilotConfig,
  pr: PullRequest,
  deliveryId: string,
  ports: PreviewPorts | undefined,
): Promise<PreviewAnswer> {
  // Open previews are listed only for a deploy, and only for the stages it would deploy to
  // (not for an app that ignores this fork's pull request).
  const open = new Map<string, readonly number[]>();
  const key = (app: string, stage: string) => `${app}\u0000${stage}`;
  const targets =
    previewChange(pr).kind === 'deploy'
      ? previewTargets(config, pr).filter((t) => !pr.fork || t.previews.forks)
      : [];
  if (targets.length > 0) {
    if (!ports) return misconfigured();
    try {
      await Promise.all(
        targets.map(async ({ app, stage }) =>
          open.set(key(app, stage), await ports.listOpenPreviews(app, stage)),
        ),
      );
    } catch (error) {
      return { status: 'failed', what: 'listing the open previews', error };
    }
  }

  const decision = decidePreview(config, pr, deliveryId, (app, stage) => open.get(key(app, stage)) ?? []);
  if (decision.outcome === 'ignored') return { status: 200, body: { ignored: decision.ignored } };
  if (decision.outcome === 'refused') {
    const { message, refused, skipped } = decision;
    return { status: 409, body: { message, refused, ...(skipped.length > 0 ? { skipped } : {}) } };
  }
  if (!ports) return misconfigured();

  let started: StartedPreview[];
  try {
    started = await Promise.all(
      decision.starts.map(async (start) => {
        const { app, stage, number, action, executionName, input } = start;
        const execution =
          action === 'deploy'
            ? await ports.startDeploy(executionName, input)
            : await ports.startPreview(executionName, input);
        return {
          app,
          stage,
          number,
          action,
          executionArn: execution.executionArn,
          executionName: execution.executionName,
        };
      }),
    );
  } catch (error) {
    const removes = decision.starts.every((s) => s.action === 'remove');
    return {
      status: 'failed',
      what: removes ? 'starting the preview removal' : 'starting the preview',
      error,
    };
  }
  const { skipped, refused } = decision;
  const more = { ...(skipped.length > 0 ? { skipped } : {}), ...(refused.length > 0 ? { refused } : {}) };
  const [only] = started;
  const body = started.length === 1 && only ? { ...only, ...more } : { executions: started, ...more };
  return { status: 202, body, started };
}

/**
 * An app has previews but the environment has none: `webhookEnvironment()` refuses that at
 * start, so this is only reached with a hand-made environment.
 */
function misconfigured(): PreviewAnswer {
  return {
    status: 'failed',
    what: 'reading the preview settings',
    error: new Error('PREVIEW_STATE_MACHINE_ARN and PREVIEW_BUCKET are not set'),
  };
}
