/** Puts stackpilot's own alert events on the account's default event bus. */
import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ALERT_SOURCE, RELEASE_FAILED, type ReleaseFailedDetail } from '#events/release-alert.ts';

/** An entry EventBridge refused (PutEvents reports it in the answer, not as an error). */
export class AlertEventRefused extends Error {
  override readonly name = 'AlertEventRefused';
}

/** Puts one "stackpilot Release Failed" event; throws when EventBridge refuses the entry. */
export async function putReleaseFailed(
  detail: ReleaseFailedDetail,
  client: EventBridgeClient,
): Promise<void> {
  const result = await client.send(
    new PutEventsCommand({
      Entries: [
        {
          Source: ALERT_SOURCE,
          DetailType: RELEASE_FAILED,
          Detail: JSON.stringify(detail),
          Resources: [detail.executionArn],
        },
      ],
    }),
  );
  const [entry] = result.Entries ?? [];
  if ((result.FailedEntryCount ?? 0) > 0 || entry?.ErrorCode) {
    throw new AlertEventRefused(
      `EventBridge refused the alert event: ${entry?.ErrorCode} ${entry?.ErrorMessage ?? ''}`,
    );
  }
}
