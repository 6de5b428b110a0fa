/**
 * Putting an item into a draft delivery: the body streams through a byte counter and SHA-256, then the segmented
 * AEAD stream (a fresh DEK per item, wrapped by the organization KEK), into the organization's blob container.
 * Nothing is buffered whole, except a JSON item validated against its category's schema (at most 10 MiB).
 *
 * No visible item without a complete blob, no blob nobody knows about:
 *   1. a pending_uploads row names the blob before a byte is written (its own small transaction);
 *   2. the blob is written; a failure, an abort or a length that does not match Content-Length deletes the blob
 *      and the pending row (the blob store commits nothing for a stream that errors, so this is belt and braces);
 *   3. one transaction inserts the item, deletes the pending row and writes the audit entry.
 * A crash between 2 and 3 leaves the pending row, which the purge sweeps after 24 hours with its blob.
 *
 * Key Vault economy (DESIGN §8): the DEK is wrapped with the cached organization KEK, so an upload makes no
 * master-key call once the KEK is cached (at most one per organization per cache TTL).
 */
import { createHash, type Hash } from 'node:crypto';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { HttpRequest } from '@azure/functions';
import { p, sql, UniqueViolationError } from '../../adapters/sql/params';
import type { Services } from '../../app/services';
import { createEncryptStream } from '../../crypto/streamFormat';
import { ApiError, errors } from '../../errors';
import { validate } from '../../http/body';
import type { Principal } from '../../http/route';
import type { SqlExecutor } from '../../ports';
import { appendAudit, orgChain } from '../audit/audit';
import { containerOf } from '../organizations/organizations';
import { categorySchema } from '../requests/categories';
import { actorOf, ITEM_NAME_CONTEXT, loadOrgDelivery, type DeliveryItemView } from './deliveries';
import { findStoredResponse, storeResponse, type Idempotency } from './idempotency';
import { loadDeliverableRequest } from '../requests/requests';

/** Largest JSON item validated against a category schema; it is parsed in memory. */
export const MAX_VALIDATED_JSON_BYTES = 10 * 1024 * 1024;
const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
const MAX_CONTENT_TYPE_LENGTH = 200; // delivery_items.content_type
// RFC 9110 §8.3.1: type "/" subtype *( OWS ";" OWS parameter ), tokens and quoted strings.
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const MEDIA_TYPE = new RegExp(`^${TOKEN}/${TOKEN}(?:[ \\t]*;[ \\t]*${TOKEN}=(?:${TOKEN}|"(?:[^"\\\\\\x00-\\x1f\\x7f]|\\\\[\\x20-\\x7e])*"))*$`);

export interface ItemUploadHeaders {
  /** Exactly the number of bytes the body must carry. */
  readonly contentLength: number;
  /** As sent (checked), or application/octet-stream. */
  readonly contentType: string;
}

/**
 * Checks the headers before a byte of the body is read: Content-Length is required (a chunked body of unknown
 * size is 411) and may not exceed the limit (413). Those answers close the connection, so an unread body of any
 * size is never drained.
 */
export function parseItemUploadHeaders(headers: Headers, maxItemBytes: number): ItemUploadHeaders {
  const close = { headers: { Connection: 'close' } };
  const declared = headers.get('content-length');
  if (declared === null || headers.has('transfer-encoding')) {
    throw new ApiError(411, 'length_required', 'Content-Length is required: send the item with its exact size, not chunked', close);
  }
  if (!/^\d{1,16}$/.test(declared.trim())) {
    throw new ApiError(400, 'invalid_request', 'Content-Length is not a byte count', { ...close, errors: [{ path: 'Content-Length', message: 'Not a byte count' }] });
  }
  const contentLength = Number(declared.trim());
  if (contentLength > maxItemBytes) {
    throw new ApiError(413, 'payload_too_large', `The item is larger than the limit of ${maxItemBytes} bytes`, close);
  }
  const rawType = headers.get('content-type')?.trim() ?? '';
  if (rawType === '') return { contentLength, contentType: DEFAULT_CONTENT_TYPE };
  if (rawType.length > MAX_CONTENT_TYPE_LENGTH || !MEDIA_TYPE.test(rawType)) {
    throw errors.invalidRequest('Content-Type is not a media type', [{ path: 'Content-Type', message: `A media type of at most ${MAX_CONTENT_TYPE_LENGTH} characters` }]);
  }
  return { contentLength, contentType: rawType };
}

export function isJsonMediaType(contentType: string): boolean {
  const essence = contentType.split(';')[0]!.trim().toLowerCase();
  return essence === 'application/json' || /^[^/]+\/[^/]+\+json$/.test(essence);
}

/**
 * The request body of an upload, read at most once: streamed, read whole (JSON to validate) or discarded. An
 * answer sent before the body was read must still drain it, or the connection stalls behind the unread bytes.
 */
export class ItemBody {
  private stream: Readable | null = null;
  private reader: ReadableStreamDefaultReader<Uint8Array> | null = null;

  constructor(
    private readonly request: HttpRequest,
    readonly declaredLength: number,
  ) {}

  asStream(): Readable {
    if (this.stream || this.reader) throw new TypeError('The item body is read once');
    const body = this.request.body;
    this.stream = body ? Readable.fromWeb(body as unknown as WebReadableStream<Uint8Array>) : Readable.from([]);
    return this.stream;
  }

  /** The whole body; it holds exactly declaredLength bytes (the host enforces Content-Length). */
  async readAll(): Promise<Buffer> {
    if (this.stream || this.reader) throw new TypeError('The item body is read once');
    const body = this.request.body;
    if (!body) return Buffer.alloc(0);
    this.reader = body.getReader();
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const { done, value } = await this.reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > this.declaredLength) throw errors.invalidRequest('The body is longer than its Content-Length');
      chunks.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
    }
    return Buffer.concat(chunks, total);
  }

  /**
   * Reads and drops whatever is left, in the background: the answer goes out at once (a client waiting for it
   * before sending more must not deadlock), and the connection stays usable once the body is through. Bounded
   * by Content-Length, which was checked against the limit. Never throws.
   */
  discard(): void {
    const drain = async () => {
      if (this.stream) {
        const stream = this.stream;
        if (stream.destroyed || stream.readableEnded) return;
        stream.unpipe();
        stream.on('error', () => undefined);
        stream.resume();
        return;
      }
      const reader = this.reader ?? this.request.body?.getReader();
      if (!reader) return;
      this.reader = reader;
      while (!(await reader.read()).done) {
        // dropped
      }
    };
    // A client that went away has nothing left to drain.
    drain().catch(() => undefined);
  }
}

export interface PutItemInput {
  readonly deliveryId: string;
  /** Already normalized by normalizeItemName. */
  readonly name: string;
  readonly headers: ItemUploadHeaders;
  /** Validate a JSON item against this category's schema (the `category` query parameter). */
  readonly category: string | null;
  readonly body: ItemBody;
  readonly idempotency: Idempotency | null;
}

/** Streams the item in and records it; see the file comment for the order of things. */
export async function putDeliveryItem(services: Services, principal: Principal, input: PutItemInput): Promise<DeliveryItemView> {
  const { store, clock, random, keyHierarchy } = services;
  const cipher = await keyHierarchy.columnCipher();
  const { contentLength, contentType } = input.headers;

  const delivery = await loadOrgDelivery(store, principal, input.deliveryId);
  const request = await loadDeliverableRequest(store, principal, delivery.request_id, clock.now());
  if (delivery.status !== 'draft') throw errors.conflict('Only a draft delivery accepts items; this one was already released');
  const schema = input.category === null ? null : checkCategory(input.category, contentType, contentLength, request.categories);

  // Scoped to the delivery: equal names in two deliveries do not show as equal in the database.
  const nameIndex = cipher.blindIndex(`${delivery.id}\u0000${input.name}`, ITEM_NAME_CONTEXT);
  if (await nameTaken(store, delivery.id, nameIndex)) throw duplicateName();

  const source = schema === null ? input.body.asStream() : Readable.from([await readValidatedJson(input.body, schema)]);

  const organizationId = delivery.organization_id;
  const container = containerOf(organizationId);
  const { key, wrapped } = await keyHierarchy.newItemKey(organizationId);
  const blobName = random.id();
  await store.execute(
    sql('INSERT INTO pending_uploads (blob_name, organization_id, started_at) VALUES (@blobName, @organizationId, @now)', {
      blobName: p.text(blobName),
      organizationId: p.text(organizationId),
      now: p.bigint(clock.now().getTime()),
    }),
  );
  const forgetBlob = () => discardBlob(services, container, blobName);

  let written: { size: number; sha256: string };
  try {
    written = await encryptInto(services, container, blobName, source, key, contentLength);
  } catch (error) {
    await forgetBlob();
    throw error;
  } finally {
    key.fill(0);
  }

  const item: DeliveryItemView = { id: random.id(), name: input.name, size: written.size, contentType, sha256: written.sha256 };
  try {
    await store.transaction(async (tx) => {
      if (input.idempotency) await storeResponse(tx, cipher, clock, input.idempotency, { status: 201, body: item });
      // Touching the row serializes with submit on SQL Server (row lock) and re-checks the status atomically.
      const stillDraft = await tx.execute(sql(`UPDATE deliveries SET status = status WHERE id = @id AND status = 'draft'`, { id: p.text(delivery.id) }));
      if (stillDraft.rowsAffected !== 1) throw errors.conflict('Only a draft delivery accepts items; this one was released meanwhile');
      await tx.execute(
        sql(
          `INSERT INTO delivery_items (id, delivery_id, organization_id, name, name_index, content_type, size, sha256, blob_name, wrapped_dek, created_at, destroyed_at)
           VALUES (@id, @deliveryId, @organizationId, @name, @nameIndex, @contentType, @size, @sha256, @blobName, @wrappedDek, @now, NULL)`,
          {
            id: p.text(item.id),
            deliveryId: p.text(delivery.id),
            organizationId: p.text(organizationId),
            name: p.blob(cipher.encrypt(input.name, ITEM_NAME_CONTEXT)),
            nameIndex: p.text(nameIndex),
            contentType: p.text(contentType),
            size: p.bigint(item.size),
            sha256: p.text(item.sha256),
            blobName: p.text(blobName),
            wrappedDek: p.blob(wrapped),
            now: p.bigint(clock.now().getTime()),
          },
        ),
      );
      await tx.execute(sql('DELETE FROM pending_uploads WHERE blob_name = @blobName', { blobName: p.text(blobName) }));
      // No name in the log: the organization chain records that an item of this size arrived, not what it is.
      await appendAudit(tx, services, {
        chain: orgChain(organizationId),
        action: 'delivery.item.added',
        actor: actorOf(principal),
        target: { type: 'delivery', id: delivery.id },
        details: { itemId: item.id, size: item.size },
      });
    });
  } catch (error) {
    await forgetBlob();
    if (error instanceof UniqueViolationError) {
      // Either a request with the same Idempotency-Key committed first (replay its answer), or the name was taken.
      const stored = input.idempotency ? await findStoredResponse(store, cipher, clock, input.idempotency) : null;
      if (stored) return stored.body as DeliveryItemView;
      throw duplicateName();
    }
    throw error;
  }
  return item;
}

function checkCategory(category: string, contentType: string, contentLength: number, consented: readonly string[]) {
  if (!isJsonMediaType(contentType)) {
    throw errors.invalidRequest('category applies to JSON items only', [{ path: 'category', message: 'Send Content-Type: application/json (or +json)' }]);
  }
  if (!consented.includes(category)) {
    throw errors.invalidRequest('The request does not cover this category', [{ path: 'category', message: `One of: ${consented.join(', ')}` }]);
  }
  if (contentLength > MAX_VALIDATED_JSON_BYTES) {
    throw new ApiError(413, 'payload_too_large', `A JSON item validated against its category may be at most ${MAX_VALIDATED_JSON_BYTES} bytes`);
  }
  // `other` publishes no schema: the item must still be JSON.
  return categorySchema(category) ?? 'any-json';
}

/** The exact bytes received, after checking they are JSON matching `schema`. */
async function readValidatedJson(body: ItemBody, schema: ReturnType<typeof checkCategory>): Promise<Buffer> {
  const bytes = await body.readAll();
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw errors.invalidRequest('The item is not valid UTF-8 JSON');
  }
  if (schema !== 'any-json') validate(schema, value);
  return bytes;
}

async function nameTaken(db: SqlExecutor, deliveryId: string, nameIndex: string): Promise<boolean> {
  const rows = await db.query(
    sql('SELECT id FROM delivery_items WHERE delivery_id = @deliveryId AND name_index = @nameIndex', { deliveryId: p.text(deliveryId), nameIndex: p.text(nameIndex) }),
  );
  return rows.length > 0;
}

function duplicateName(): ApiError {
  return errors.conflict('This delivery already has an item with this name');
}

/**
 * plaintext → count + SHA-256 → encrypt → blob. The request stream is piped, not pipelined: when the blob store
 * fails, the request must stay open so the client still gets an answer (destroying it would reset the
 * connection); the caller drains what is left.
 */
async function encryptInto(
  services: Services,
  container: string,
  blobName: string,
  source: Readable,
  key: Buffer,
  expectedLength: number,
): Promise<{ size: number; sha256: string }> {
  const meter = new MeteringStream(expectedLength);
  const encrypt = createEncryptStream(key, services.random);
  let clientProblem: ApiError | null = null;
  // `on`, not `once`: a second error (the client leaving after the blob store failed) must not go unhandled.
  source.on('error', () => {
    clientProblem ??= errors.invalidRequest('The upload was interrupted before Content-Length bytes arrived');
    meter.destroy(clientProblem);
  });
  meter.on('error', (error) => {
    if (error instanceof ApiError) clientProblem ??= error;
    encrypt.destroy(error);
  });
  // The blob store sees the error through its own listener; this one only keeps a late error from crashing.
  encrypt.on('error', () => undefined);
  source.pipe(meter).pipe(encrypt);
  try {
    await services.blobs.upload(container, blobName, encrypt);
  } catch (error) {
    throw clientProblem ?? error;
  } finally {
    source.unpipe(meter);
    meter.destroy();
    encrypt.destroy();
  }
  // The upload resolved, so the meter saw the end of the body and found exactly expectedLength bytes.
  return { size: meter.bytes, sha256: meter.digest() };
}

/** Counts and hashes the plaintext; errors when it is longer or shorter than Content-Length. */
class MeteringStream extends Transform {
  bytes = 0;
  private readonly hash: Hash = createHash('sha256');
  private sha256: string | null = null;

  constructor(private readonly expectedLength: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.expectedLength) return callback(errors.invalidRequest('The body is longer than its Content-Length'));
    this.hash.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.bytes !== this.expectedLength) return callback(errors.invalidRequest('The body is shorter than its Content-Length'));
    this.sha256 = this.hash.digest('hex');
    callback();
  }

  digest(): string {
    if (this.sha256 === null) throw new TypeError('The body has not ended');
    return this.sha256;
  }
}

/** Deletes a blob that must not stay, then its pending row; if the blob store is down, the row stays for the purge. */
async function discardBlob(services: Services, container: string, blobName: string): Promise<void> {
  try {
    await services.blobs.delete(container, blobName);
    await services.store.execute(sql('DELETE FROM pending_uploads WHERE blob_name = @blobName', { blobName: p.text(blobName) }));
  } catch (error) {
    services.log.warn('could not clean up an unfinished upload; the purge will', { errorName: error instanceof Error ? error.name : typeof error });
  }
}
