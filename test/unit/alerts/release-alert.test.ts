import { readFileSync } from 'node:fs';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { releaseFailedDetailSchema } from '../../../events/release-alert.ts';
import { executionStatusChangeSchema } from '../../../events/step-functions-execution.ts';
import { AlertEventRefused, putReleaseFailed } from '../../../shared/alerts/event-bus.ts';
import { releaseFailedDetail } from '../../../shared/alerts/release.ts';

const read = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../../events/samples/${name}`, import.meta.url), 'utf8'));
const failed = executionStatusChangeSchema.parse(read('step-functions-execution-failed.json'));

describe('releaseFailedDetail', () => {
  it("names the stage from the release's input and keeps the Cause: the sample alert event's detail", () => {
    const detail = releaseFailedDetail(failed);
    expect(detail).toEqual(read('stackpilot-release-failed.json').detail);
    expect(releaseFailedDetailSchema.parse(detail)).toEqual(detail);
  });

  it('tells an operator rollback and a redeploy from a release', () => {
    const withInput = (input: unknown) =>
      releaseFailedDetail({ ...failed, detail: { ...failed.detail, input: JSON.stringify(input) } });
    expect(withInput({ app: 'a', stage: 'b', action: 'rollback' })).toMatchObject({ action: 'rollback' });
    expect(withInput({ app: 'a', stage: 'b', image: 'x' })).toMatchObject({ action: 'redeploy' });
  });

  it('gives a timed-out or stopped release an Error and a Cause of its own', () => {
    const ended = (status: string) =>
      releaseFailedDetail({ ...failed, detail: { ...failed.detail, status, error: null, cause: null } });
    expect(ended('TIMED_OUT')).toMatchObject({ error: 'States.Timeout' });
    expect(ended('ABORTED')).toMatchObject({ error: 'ABORTED', cause: 'the execution was stopped' });
  });

  it('skips a release that succeeded or whose input names no stage', () => {
    expect(
      releaseFailedDetail({ ...failed, detail: { ...failed.detail, status: 'SUCCEEDED' } }),
    ).toHaveProperty('skipped');
    expect(
      releaseFailedDetail({ ...failed, detail: { ...failed.detail, input: '{"app":"a"}' } }),
    ).toHaveProperty('skipped');
    expect(releaseFailedDetail({ ...failed, detail: { ...failed.detail, input: null } })).toHaveProperty(
      'skipped',
    );
  });
});

describe('putReleaseFailed', () => {
  const eventBridge = mockClient(EventBridgeClient);
  afterEach(() => eventBridge.reset());
  const detail = read('stackpilot-release-failed.json').detail;

  it('puts one "stackpilot Release Failed" event on the default bus', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: '1' }] });
    await putReleaseFailed(detail, new EventBridgeClient({}));
    expect(eventBridge).toHaveReceivedCommandWith(PutEventsCommand, {
      Entries: [
        {
          Source: 'stackpilot',
          DetailType: 'stackpilot Release Failed',
          Detail: JSON.stringify(detail),
          Resources: [detail.executionArn],
        },
      ],
    });
  });

  it('throws when EventBridge refuses the entry', async () => {
    eventBridge.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }],
    });
    await expect(putReleaseFailed(detail, new EventBridgeClient({}))).rejects.toThrow(AlertEventRefused);
  });
});
