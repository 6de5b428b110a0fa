/**
 * A directory of JSON files, one per message: what the local mail and SMS outboxes keep. Files are written
 * aside then renamed (a reader sees a whole message or none), owner-only (they carry one-time links and codes),
 * and named so they sort in sending order even on a frozen test clock.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../../ports';

/** Milliseconds, then a per-process sequence, then randomness. */
const MESSAGE_ID = /^\d{15}-\d{6}-[0-9a-f]{8}$/;
let sequence = 0;

export interface JsonOutbox<T extends { readonly id: string; readonly sentAt: string }> {
  /** Stores what `build` makes of the new id and time. */
  append(build: (id: string, sentAt: string) => T): Promise<void>;
  /** Oldest first. */
  list(): Promise<T[]>;
  /** null for a missing message or an id that is not one of ours (ids may come from URLs). */
  get(id: string): Promise<T | null>;
}

export function createJsonOutbox<T extends { readonly id: string; readonly sentAt: string }>(directory: string, clock: Clock): JsonOutbox<T> {
  const root = path.resolve(directory);

  const read = async (id: string): Promise<T | null> => {
    try {
      return JSON.parse(await fs.readFile(path.join(root, `${id}.json`), 'utf8')) as T;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  };

  return {
    async append(build) {
      const now = clock.now();
      sequence = (sequence + 1) % 1_000_000;
      const id = `${String(now.getTime()).padStart(15, '0')}-${String(sequence).padStart(6, '0')}-${randomBytes(4).toString('hex')}`;
      await fs.mkdir(root, { recursive: true, mode: 0o700 });
      const temporary = path.join(root, `.tmp-${id}.json`);
      await fs.writeFile(temporary, `${JSON.stringify(build(id, now.toISOString()), null, 2)}\n`, { mode: 0o600, flag: 'wx' });
      await fs.rename(temporary, path.join(root, `${id}.json`));
    },

    async list() {
      let files: string[];
      try {
        files = await fs.readdir(root);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw error;
      }
      const ids = files
        .filter((file) => file.endsWith('.json'))
        .map((file) => file.slice(0, -'.json'.length))
        .filter((id) => MESSAGE_ID.test(id))
        .sort();
      // A message removed between readdir and read is simply gone.
      return (await Promise.all(ids.map(read))).filter((message): message is Awaited<T> => message !== null);
    },

    async get(id) {
      return MESSAGE_ID.test(id) ? read(id) : null;
    },
  };
}
