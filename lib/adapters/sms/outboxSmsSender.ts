/**
 * SmsSender for local runs: every message becomes one JSON file in an outbox directory (DATA_DIR/sms-outbox),
 * which tests read back. Nothing leaves the machine. Same file format and ordering as the mail outbox.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Clock, OutboxSms, SmsMessage, SmsSender } from '../../ports';
import { systemClock } from '../../system';
import { assertSmsMessage } from './smsMessage';

export interface OutboxSmsSenderOptions {
  readonly directory: string;
  readonly clock?: Clock;
}

export interface OutboxSmsSender extends SmsSender {
  /** Oldest first. */
  list(): Promise<OutboxSms[]>;
}

/** Milliseconds, then a per-process sequence, then randomness: ids sort by sending order even on a frozen clock. */
const MESSAGE_ID = /^\d{15}-\d{6}-[0-9a-f]{8}$/;
let sequence = 0;

export function createOutboxSmsSender(options: OutboxSmsSenderOptions): OutboxSmsSender {
  const directory = path.resolve(options.directory);
  const clock = options.clock ?? systemClock;

  const read = async (id: string): Promise<OutboxSms | null> => {
    try {
      return JSON.parse(await fs.readFile(path.join(directory, `${id}.json`), 'utf8')) as OutboxSms;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  };

  return {
    async send(message: SmsMessage) {
      assertSmsMessage(message);
      const now = clock.now();
      sequence = (sequence + 1) % 1_000_000;
      const id = `${String(now.getTime()).padStart(15, '0')}-${String(sequence).padStart(6, '0')}-${randomBytes(4).toString('hex')}`;
      const stored: OutboxSms = { id, to: message.to, text: message.text, sentAt: now.toISOString() };
      await fs.mkdir(directory, { recursive: true, mode: 0o700 });
      // Written aside, then renamed: a reader sees the whole message or none of it. Codes inside: owner-only.
      const temporary = path.join(directory, `.tmp-${id}.json`);
      await fs.writeFile(temporary, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
      await fs.rename(temporary, path.join(directory, `${id}.json`));
    },

    async list() {
      let files: string[];
      try {
        files = await fs.readdir(directory);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw error;
      }
      const ids = files
        .filter((file) => file.endsWith('.json'))
        .map((file) => file.slice(0, -'.json'.length))
        .filter((id) => MESSAGE_ID.test(id))
        .sort();
      const messages = await Promise.all(ids.map(read));
      return messages.filter((message): message is OutboxSms => message !== null);
    },
  };
}
