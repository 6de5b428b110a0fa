/**
 * SmsSender for local runs: every message becomes one JSON file in an outbox directory (DATA_DIR/sms-outbox),
 * which tests read back. Nothing leaves the machine. Same file format and ordering as the mail outbox.
 */
import type { Clock, OutboxSms, SmsMessage, SmsSender } from '../../ports';
import { systemClock } from '../../system';
import { createJsonOutbox } from '../outbox/jsonOutbox';
import { assertSmsMessage } from './smsMessage';

export interface OutboxSmsSenderOptions {
  readonly directory: string;
  readonly clock?: Clock;
}

export interface OutboxSmsSender extends SmsSender {
  /** Oldest first. */
  list(): Promise<OutboxSms[]>;
}

export function createOutboxSmsSender(options: OutboxSmsSenderOptions): OutboxSmsSender {
  const outbox = createJsonOutbox<OutboxSms>(options.directory, options.clock ?? systemClock);
  return {
    async send(message: SmsMessage) {
      assertSmsMessage(message);
      await outbox.append((id, sentAt) => ({ id, to: message.to, text: message.text, sentAt }));
    },
    list: () => outbox.list(),
  };
}
