import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createOutboxMailer } from '../../lib/adapters/mail/outboxMailer';
import type { Clock } from '../../lib/ports';
import { describeMailerContract } from './mailerContract';

const directories: string[] = [];
function temporaryDirectory(): string {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'connectid-outbox-'));
  directories.push(directory);
  return path.join(directory, 'outbox');
}
afterAll(() => {
  for (const directory of directories) fs.rmSync(directory, { recursive: true, force: true });
});

const message = { to: 'anna@example.com', subject: 'Hello', text: 'Hi', html: '<p>Hi</p>' };

describeMailerContract('outbox files', async () => {
  const from = 'no-reply@connectid.test';
  const mailer = createOutboxMailer({ directory: temporaryDirectory(), from });
  const delivered = async () => (await mailer.list()).map(({ from, to, subject, text, html }) => ({ from, to, subject, text, html }));
  return { mailer, from, delivered };
});

describe('outbox mailer', () => {
  it('writes one JSON file per message with its id and the time from the clock', async () => {
    const directory = temporaryDirectory();
    const clock: Clock = { now: () => new Date('2030-05-06T07:08:09.010Z') };
    const mailer = createOutboxMailer({ directory, clock });

    await mailer.send(message);

    const files = fs.readdirSync(directory);
    expect(files).toHaveLength(1);
    const stored = JSON.parse(fs.readFileSync(path.join(directory, files[0]!), 'utf8'));
    expect(stored).toEqual({ ...message, id: files[0]!.replace(/\.json$/, ''), from: 'no-reply@connectid.localhost', sentAt: '2030-05-06T07:08:09.010Z' });
    expect(await mailer.get(stored.id)).toEqual(stored);
  });

  it('lists oldest first, even when the clock stands still', async () => {
    const mailer = createOutboxMailer({ directory: temporaryDirectory(), clock: { now: () => new Date('2030-01-01T00:00:00Z') } });

    for (const subject of ['first', 'second', 'third']) await mailer.send({ ...message, subject });

    expect((await mailer.list()).map((mail) => mail.subject)).toEqual(['first', 'second', 'third']);
  });

  it('lists nothing before the first message, and ignores files that are not messages', async () => {
    const directory = temporaryDirectory();
    const mailer = createOutboxMailer({ directory });
    expect(await mailer.list()).toEqual([]);

    await mailer.send(message);
    fs.writeFileSync(path.join(directory, '.tmp-000000000000001-000001-abcdef01.json'), '{"half":');
    fs.writeFileSync(path.join(directory, 'notes.json'), '{}');

    expect(await mailer.list()).toHaveLength(1);
  });

  it('answers null for an unknown id and for an id that is a path', async () => {
    const directory = temporaryDirectory();
    const mailer = createOutboxMailer({ directory });
    await mailer.send(message);

    expect(await mailer.get('000000000000001-000001-abcdef01')).toBeNull();
    expect(await mailer.get('../outbox/whatever')).toBeNull();
  });
});
