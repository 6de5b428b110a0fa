import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createOutboxSmsSender } from '../../lib/adapters/sms/outboxSmsSender';
import { describeSmsSenderContract } from './smsSenderContract';

const directories: string[] = [];
function temporaryDirectory(): string {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'connectid-sms-outbox-'));
  directories.push(directory);
  return path.join(directory, 'sms-outbox');
}
afterAll(() => {
  for (const directory of directories) fs.rmSync(directory, { recursive: true, force: true });
});

describeSmsSenderContract('outbox files', async () => {
  const sender = createOutboxSmsSender({ directory: temporaryDirectory() });
  return { sender, to: '+46701234567', delivered: async () => (await sender.list()).map(({ to, text }) => ({ to, text })) };
});

describe('SMS outbox', () => {
  it('writes one owner-only JSON file per message, with the time from the clock, listed oldest first', async () => {
    const directory = temporaryDirectory();
    const sender = createOutboxSmsSender({ directory, clock: { now: () => new Date('2030-05-06T07:08:09.010Z') } });
    await sender.send({ to: '+46701234567', text: 'first' });
    await sender.send({ to: '+46701234567', text: 'second' });
    const files = fs.readdirSync(directory).sort();
    expect(files).toHaveLength(2);
    expect(fs.statSync(path.join(directory, files[0]!)).mode & 0o777).toBe(0o600);
    const listed = await sender.list();
    expect(listed.map((m) => m.text)).toEqual(['first', 'second']);
    expect(listed[0]).toEqual({ id: files[0]!.replace(/\.json$/, ''), to: '+46701234567', text: 'first', sentAt: '2030-05-06T07:08:09.010Z' });
  });

  it('lists nothing before the first message', async () => {
    expect(await createOutboxSmsSender({ directory: temporaryDirectory() }).list()).toEqual([]);
  });
});
