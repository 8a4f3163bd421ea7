/**
 * EventBridge PutEvents: entries become events on the account's bus (the same hook the
 * emulated services emit on), so a function that puts an event reaches the sandbox's rules.
 */
import { randomUUID } from 'node:crypto';
import type { PutEventsCommandInput, PutEventsCommandOutput } from '@aws-sdk/client-eventbridge';
import { type AccountContext, type AccountEvent, type Emulator, eventTime, type Result } from './types.ts';

export class EventBridgeEmulator implements Emulator {
  readonly service = 'EventBridge';

  constructor(private readonly ctx: AccountContext & { publish(event: AccountEvent): void }) {}

  readonly commands = {
    PutEvents: (input: PutEventsCommandInput): Result<PutEventsCommandOutput> => {
      const entries: NonNullable<PutEventsCommandOutput['Entries']> = [];
      let failed = 0;
      for (const entry of input.Entries ?? []) {
        let detail: Record<string, unknown>;
        try {
          detail = JSON.parse(entry.Detail ?? '{}');
        } catch {
          failed += 1;
          entries.push({ ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' });
          continue;
        }
        const id = randomUUID();
        this.ctx.publish({
          version: '0',
          id,
          'detail-type': entry.DetailType ?? '',
          source: entry.Source ?? '',
          account: this.ctx.accountId,
          time: eventTime(entry.Time?.getTime() ?? this.ctx.clock.now()),
          region: this.ctx.region,
          resources: entry.Resources ?? [],
          detail,
        });
        entries.push({ EventId: id });
      }
      return { FailedEntryCount: failed, Entries: entries };
    },
  };

  save(): void {}
}
