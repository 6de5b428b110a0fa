/**
 * Mailer for local runs: every message becomes one JSON file in an outbox directory, which the dev host lists
 * and tests read back. Nothing leaves the machine.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Clock, Mailer, MailMessage, OutboxMessage } from '../../ports';
import { systemClock } from '../../system';

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

/** Milliseconds, then a per-process sequence, then randomness: ids sort by sending order even on a frozen clock. */
const MESSAGE_ID = /^\d{15}-\d{6}-[0-9a-f]{8}$/;
let sequence = 0;

export function createOutboxMailer(options: OutboxMailerOptions): OutboxMailer {
  const directory = path.resolve(options.directory);
  const from = options.from ?? 'no-reply@connectid.localhost';
  const clock = options.clock ?? systemClock;

  const read = async (id: string): Promise<OutboxEntry | null> => {
    try {
      return JSON.parse(await fs.readFile(path.join(directory, `${id}.json`), 'utf8')) as OutboxEntry;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  };

  return {
    async send(message: MailMessage) {
      const now = clock.now();
      sequence = (sequence + 1) % 1_000_000;
      const id = `${String(now.getTime()).padStart(15, '0')}-${String(sequence).padStart(6, '0')}-${randomBytes(4).toString('hex')}`;
      const { to, subject, text, html } = message;
      const stored: OutboxEntry = { id, from, to, subject, text, html, sentAt: now.toISOString() };
      await fs.mkdir(directory, { recursive: true, mode: 0o700 });
      // Written aside, then renamed: a reader sees the whole message or none of it.
      const temporary = path.join(directory, `.tmp-${id}.json`);
      // Messages carry one-time links and codes: owner-only, like everything else under DATA_DIR.
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
      // A message removed between readdir and read is simply gone.
      return messages.filter((message): message is OutboxEntry => message !== null);
    },

    async get(id: string) {
      // Ids come from URLs of the dev host: anything else could name a path outside the outbox.
      return MESSAGE_ID.test(id) ? read(id) : null;
    },
  };
}
