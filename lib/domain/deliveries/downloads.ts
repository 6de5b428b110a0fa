/**
 * The requester downloads an item: decrypted while it streams, whole or one byte range (RFC 9110 §14), with its
 * digest (RFC 9530 Repr-Digest, and the same SHA-256 as a strong ETag). Only the requester's own released
 * delivery, only before expiresAt (then 410, purged or not). Each download is audited in the requester's chain
 * only: the organization learns nothing beyond `downloaded`.
 *
 * Key Vault economy (DESIGN §8): the DEK is unwrapped with the cached organization KEK, so a download makes at
 * most one master-key call (a cold KEK cache), none with a warm one.
 *
 * A failure after the headers went out (a tampered segment, a vanished blob) errors the body stream, and the
 * host then breaks the connection: a client never mistakes a truncated body for a complete one.
 */
import type { Readable, Transform } from 'node:stream';
import { p, sql } from '../../adapters/sql/params';
import type { Services } from '../../app/services';
import { createDecryptStream, createRangeDecryptStream, HEADER_SIZE, planRange, segmentCount } from '../../crypto/streamFormat';
import { ApiError, errors } from '../../errors';
import type { Principal } from '../../http/route';
import { appendAudit, requesterChain } from '../audit/audit';
import { containerOf } from '../organizations/organizations';
import { isExpired, ITEM_NAME_CONTEXT, SEEN_BY_REQUESTER, type DeliveryStatus } from './deliveries';
import { contentDisposition } from './itemNames';

export interface ItemDownload {
  readonly status: 200 | 206;
  readonly headers: Record<string, string>;
  readonly body: Readable;
}

/** A single range to send, or the whole item. */
export type RangeChoice = { readonly kind: 'whole' } | { readonly kind: 'partial'; readonly start: number; readonly end: number };

type ItemRow = {
  delivery_status: DeliveryStatus;
  expires_at: number | null;
  organization_id: string;
  requester_id: string;
  name: Buffer;
  content_type: string;
  size: number;
  sha256: string;
  blob_name: string;
  wrapped_dek: Buffer | null;
  destroyed_at: number | null;
};

export interface DownloadInput {
  readonly deliveryId: string;
  readonly itemId: string;
  readonly range: string | null;
  readonly ifRange: string | null;
}

/** What a download would answer, decided before any byte is read: the item, the range, the status and headers. */
interface PlannedDownload {
  readonly row: ItemRow;
  readonly range: RangeChoice;
  readonly status: 200 | 206;
  readonly headers: Record<string, string>;
}

/**
 * HEAD: the status and headers a GET would answer (404, 410, 416 included), without reading the blob, unwrapping
 * a key or writing the audit: nothing of the content is read, and everything it tells (name, size, digest) the
 * delivery's metadata tells already.
 */
export async function describeItemDownload(services: Services, principal: Principal, input: DownloadInput): Promise<Omit<ItemDownload, 'body'>> {
  const { status, headers } = await planDownload(services, principal, input);
  return { status, headers };
}

export async function openItemDownload(services: Services, principal: Principal, input: DownloadInput): Promise<ItemDownload> {
  const { store, blobs, keyHierarchy } = services;
  const { row, range, status, headers } = await planDownload(services, principal, input);
  const size = Number(row.size);
  const key = await keyHierarchy.openItemKey(row.organization_id, Buffer.from(row.wrapped_dek!));

  // Open the blob before auditing and answering: a missing blob is a 500 before any header, not a broken 200.
  const container = containerOf(row.organization_id);
  let body: Readable;
  if (range.kind === 'whole') {
    body = decrypting(await requireBlob(blobs.download(container, row.blob_name)), createDecryptStream(key));
  } else {
    const plan = planRange(size, range.start, range.end);
    const header = await readFully(await requireBlob(blobs.download(container, row.blob_name, { offset: 0, count: HEADER_SIZE })), HEADER_SIZE);
    const window = await requireBlob(blobs.download(container, row.blob_name, { offset: plan.cipherOffset, count: plan.cipherCount }));
    body = decrypting(window, createRangeDecryptStream(key, header, plan, segmentCount(size)));
  }

  try {
    await store.transaction((tx) =>
      appendAudit(tx, services, {
        chain: requesterChain(row.requester_id),
        action: 'delivery.item.downloaded',
        actor: { type: 'user', id: principal.subject },
        target: { type: 'delivery', id: input.deliveryId },
        details: { itemId: input.itemId, ...(range.kind === 'partial' && { range: `${range.start}-${range.end}` }) },
      }),
    );
  } catch (error) {
    body.destroy();
    throw error;
  }
  return { status, headers, body };
}

async function planDownload(services: Services, principal: Principal, input: DownloadInput): Promise<PlannedDownload> {
  const { store, clock, keyHierarchy } = services;
  const [row] = await store.query<ItemRow>(
    sql(
      `SELECT d.status AS delivery_status, d.expires_at, d.organization_id, d.requester_id,
              i.name, i.content_type, i.size, i.sha256, i.blob_name, i.wrapped_dek, i.destroyed_at
       FROM delivery_items i JOIN deliveries d ON d.id = i.delivery_id
       WHERE i.id = @itemId AND d.id = @deliveryId AND d.requester_id = @requesterId AND ${SEEN_BY_REQUESTER}`,
      { itemId: p.text(input.itemId), deliveryId: p.text(input.deliveryId), requesterId: p.text(principal.subject) },
    ),
  );
  if (!row) throw errors.notFound('No such item');
  if (isExpired({ status: row.delivery_status, expires_at: row.expires_at }, clock.now().getTime()) || row.destroyed_at !== null || row.wrapped_dek === null) {
    throw errors.gone('This delivery has expired and its data is deleted');
  }

  const size = Number(row.size);
  const etag = `"${row.sha256}"`;
  const range = chooseRange(input.range, input.ifRange, etag, size);
  const name = (await keyHierarchy.columnCipher()).decrypt(row.name, ITEM_NAME_CONTEXT);
  const headers: Record<string, string> = {
    'Content-Type': row.content_type,
    'Content-Disposition': contentDisposition(name),
    'Repr-Digest': `sha-256=:${Buffer.from(row.sha256, 'hex').toString('base64')}:`,
    ETag: etag,
    'Accept-Ranges': 'bytes',
    'Cache-Control': 'no-store',
  };
  if (range.kind === 'whole') return { row, range, status: 200, headers: { ...headers, 'Content-Length': String(size) } };
  return {
    row,
    range,
    status: 206,
    headers: { ...headers, 'Content-Length': String(range.end - range.start + 1), 'Content-Range': `bytes ${range.start}-${range.end}/${size}` },
  };
}

/**
 * RFC 9110 §14.2: one `bytes` range is served; several (or a syntax we do not know) are ignored and the whole
 * item sent, which the RFC allows. An If-Range that is not our current strong ETag also means "send it whole".
 * A well-formed range that selects nothing is 416 with `Content-Range: bytes * /size` (no spaces).
 */
export function chooseRange(header: string | null, ifRange: string | null, etag: string, size: number): RangeChoice {
  if (header === null) return { kind: 'whole' };
  if (ifRange !== null && ifRange.trim() !== etag) return { kind: 'whole' };
  const match = /^bytes[ \t]*=[ \t]*(\d*)[ \t]*-[ \t]*(\d*)[ \t]*$/i.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return { kind: 'whole' };
  const first = match[1] === '' ? null : Number(match[1]);
  const last = match[2] === '' ? null : Number(match[2]);
  if ((first !== null && !Number.isSafeInteger(first)) || (last !== null && !Number.isSafeInteger(last))) return { kind: 'whole' };
  if (first === null) {
    // bytes=-n: the last n bytes.
    if (last === 0 || size === 0) throw unsatisfiable(size);
    return { kind: 'partial', start: Math.max(0, size - last!), end: size - 1 };
  }
  if (last !== null && last < first) return { kind: 'whole' }; // invalid syntax: ignored, per §14.1.1
  if (first >= size) throw unsatisfiable(size);
  return { kind: 'partial', start: first, end: last === null ? size - 1 : Math.min(last, size - 1) };
}

function unsatisfiable(size: number): ApiError {
  return new ApiError(416, 'range_not_satisfiable', 'The range selects no byte of this item', { headers: { 'Content-Range': `bytes */${size}` } });
}

async function requireBlob(download: Promise<Readable | null>): Promise<Readable> {
  const stream = await download;
  // A row without its blob: the purge or an operator removed it, or storage lost it. Not the client's fault.
  if (!stream) throw new Error('The blob of a live item is missing');
  return stream;
}

/** Ciphertext → plaintext; an error on either side errors the result, and closing the result releases the blob. */
function decrypting(ciphertext: Readable, decrypt: Transform): Readable {
  ciphertext.on('error', (error) => decrypt.destroy(error));
  decrypt.on('close', () => ciphertext.destroy());
  return ciphertext.pipe(decrypt);
}

async function readFully(stream: Readable, length: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  const bytes = Buffer.concat(chunks);
  if (bytes.length !== length) throw new Error('The blob is shorter than its header');
  return bytes;
}
