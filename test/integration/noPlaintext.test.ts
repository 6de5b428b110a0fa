/**
 * The promise of DESIGN §4, checked on the bytes: what the database file and the blob store hold is ciphertext.
 * A known email goes through column encryption into SQLite; a known payload goes through the stream format into
 * Azurite; neither appears in the stored bytes, yet both decrypt back.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { p, sql } from '../../lib/adapters/sql/params';
import { normalizeEmail } from '../../lib/crypto/columnCipher';
import { createDecryptStream, createEncryptStream } from '../../lib/crypto/streamFormat';
import { startTestApp, type TestApp } from '../helpers/testApp';

const EMAIL = 'Known.Person+vault@example.org';
const PAYLOAD_MARKER = 'NATIONAL-ID-1985-04-12-PLAINTEXT-MARKER';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => app.close());

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

function containsText(haystack: Buffer, text: string): boolean {
  return haystack.includes(Buffer.from(text, 'utf8')) || haystack.includes(Buffer.from(text, 'utf16le')) || haystack.includes(Buffer.from(text.toLowerCase(), 'utf8'));
}

test('a known email never appears in the SQLite file, and a known payload never appears in the blob bytes', async () => {
  const { store, keyHierarchy, blobs, random } = app.services;
  const cipher = await keyHierarchy.columnCipher();

  await store.execute(sql(`CREATE TABLE probe_people (id TEXT PRIMARY KEY, email BLOB NOT NULL, email_index TEXT NOT NULL)`));
  await store.execute(
    sql(`INSERT INTO probe_people (id, email, email_index) VALUES (@id, @email, @emailIndex)`, {
      id: p.text('person-1'),
      email: p.blob(cipher.encrypt(EMAIL, 'probe_people.email')),
      emailIndex: p.text(cipher.blindIndex(normalizeEmail(EMAIL), 'probe_people.email')),
    }),
  );

  const organizationId = random.id();
  await keyHierarchy.createOrganizationKek(organizationId);
  const itemKey = await keyHierarchy.newItemKey(organizationId);
  const container = `org-${organizationId}`;
  await blobs.createContainer(container);
  const payload = Buffer.from(`${PAYLOAD_MARKER}\n`.repeat(20_000));
  await blobs.upload(container, 'item-1', Readable.from([payload]).pipe(createEncryptStream(itemKey.key, random)));

  // Found again by blind index, and it decrypts.
  const [row] = await store.query<{ email: Buffer }>(
    sql(`SELECT email FROM probe_people WHERE email_index = @index`, { index: p.text(cipher.blindIndex(normalizeEmail(' known.person+VAULT@example.org '), 'probe_people.email')) }),
  );
  expect(cipher.decrypt(row!.email, 'probe_people.email')).toBe(EMAIL);

  const stored = await collect((await blobs.download(container, 'item-1'))!);
  expect(stored.length).toBeGreaterThan(payload.length);
  expect(containsText(stored, PAYLOAD_MARKER)).toBe(false);
  const dek = await keyHierarchy.openItemKey(organizationId, itemKey.wrapped);
  const decrypted = await collect(Readable.from([stored]).pipe(createDecryptStream(dek)));
  expect(decrypted.equals(payload)).toBe(true);

  // Close so the WAL is checkpointed into the file, then read every byte SQLite keeps on disk.
  await store.close();
  const files = fs.readdirSync(app.dataDir).filter((name) => name.startsWith('connectid.sqlite'));
  expect(files).toContain('connectid.sqlite');
  for (const file of files) {
    const bytes = fs.readFileSync(path.join(app.dataDir, file));
    expect(containsText(bytes, EMAIL)).toBe(false);
    expect(containsText(bytes, PAYLOAD_MARKER)).toBe(false);
  }
  // Closing twice is harmless (afterAll closes again).
});
