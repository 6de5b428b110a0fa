/**
 * Mailer for local runs: every message becomes one JSON file in an outbox directory, which the dev host lists
 * and tests read back. Nothing leaves the machine.
 */
import type { Clock, Mailer, MailMessage, OutboxMessage } from '../../ports';
import { systemClock } from '../../system';
import { createJsonOutbox } from '../outbox/jsonOutbox';

export interface OutboxMailerOptions {
  readonly directory: string;
  readonly from?: string;
  readonly clock?: Clock;
}

/** A message as the outbox file keeps it. */
export interface OutboxEntry extends OutboxMessage {
  readonly from: string;
}

export interface OutboxMailer extends Mailer {
  /** Oldest first. */
  list(): Promise<OutboxEntry[]>;
  get(id: string): Promise<OutboxEntry | null>;
}

export function createOutboxMailer(options: OutboxMailerOptions): OutboxMailer {
  const from = options.from ?? 'no-reply@connectid.localhost';
  const outbox = createJsonOutbox<OutboxEntry>(options.directory, options.clock ?? systemClock);
  return {
    async send(message: MailMessage) {
      const { to, subject, text, html } = message;
      await outbox.append((id, sentAt) => ({ id, from, to, subject, text, html, sentAt }));
    },
    list: () => outbox.list(),
    get: (id) => outbox.get(id),
  };
}
