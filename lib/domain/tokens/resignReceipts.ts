/**
 * After an emergency rotation (`rotate-signing-key --compromised`, signingKeys.ts) every receipt we stored is
 * signed by a key no longer in /.well-known/jwks.json, so its holder can no longer verify it. This re-signs them
 * with the current key, claims unchanged:
 *
 *   requests.consent_receipt     consent receipts (consentReceipt.ts)
 *   deliveries.deletion_receipt  deletion receipts (purge.ts)
 *
 * For each stored receipt, a page (200) at a time:
 *   1. decrypt it and read its JWS header: a receipt whose `kid` is published is left alone (this is what makes a
 *      second run find nothing, and a normal rotation re-sign nothing: its older key stays published);
 *   2. check its signature with the stored public key of that kid, so we only ever re-sign what one of our keys
 *      signed (a row that does not check is reported, not laundered into a valid signature);
 *   3. sign the same payload again (decoded, re-signed: byte for byte the same JSON) with the current key, which
 *      this process holds in memory (one Key Vault unwrap for the whole run);
 *   4. store it, encrypted, in one transaction per page, each row only if it still holds the ciphertext we read
 *      (every encryption has a fresh IV, so any write since our read changes it): a consent withdrawn meanwhile
 *      keeps the receipt its withdrawal wrote. Nothing else of the row changes (not even requests.updated_at):
 *      the claims are the same.
 *
 * Idempotent and resumable: rows are chosen by what they hold, not remembered, and every row is replaced in one
 * statement, so a run cut off anywhere leaves each receipt either old or re-signed, and the next run finishes.
 *
 * The audit log is not touched: it is an immutable hash chain, and the receipt copies in its `delivery.purged`
 * entries stay signed by the old key.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { compactVerify, decodeProtectedHeader } from 'jose';
import { dialectFor } from '../../adapters/sql/dialect';
import { p, sql } from '../../adapters/sql/params';
import type { Services } from '../../app/services';
import type { ColumnCipher } from '../../crypto/columnCipher';
import { CONSENT_RECEIPT_CONTEXT } from '../requests/requests';
import { DELETION_RECEIPT_CONTEXT } from '../retention/purge';
import { signJws } from './accessTokens';
import { SIGNING_ALG } from './signingKeys';

export type ResignServices = Pick<Services, 'store' | 'keyHierarchy' | 'signingKeys'>;

export interface ResignOptions {
  /** Receipts read, and re-signed in one transaction, per page. Default 200. */
  readonly batchSize?: number;
}

export type ReceiptKind = 'consent' | 'deletion';

export interface ResignFailure {
  readonly receipt: ReceiptKind;
  /** requests.id or deliveries.id. */
  readonly id: string;
  readonly reason: string;
}

export interface ResignReport {
  /** Consent receipts this run re-signed with the current key. */
  readonly consentReceipts: number;
  /** Deletion receipts this run re-signed with the current key. */
  readonly deletionReceipts: number;
  /** Receipts rewritten by someone else between our read and our write (a withdrawal, say): left as they are. */
  readonly changedMeanwhile: number;
  /** Receipts that could not be re-signed (unreadable, or not signed by a key of ours); left as they are. */
  readonly failures: readonly ResignFailure[];
}

interface ReceiptColumn {
  readonly kind: ReceiptKind;
  readonly table: 'requests' | 'deliveries';
  readonly column: 'consent_receipt' | 'deletion_receipt';
  readonly context: string;
}

/** Every column holding a receipt we signed. */
export const RECEIPT_COLUMNS: readonly ReceiptColumn[] = [
  { kind: 'consent', table: 'requests', column: 'consent_receipt', context: CONSENT_RECEIPT_CONTEXT },
  { kind: 'deletion', table: 'deliveries', column: 'deletion_receipt', context: DELETION_RECEIPT_CONTEXT },
];

export const RESIGN_BATCH_SIZE = 200;

// signing_keys.kid is a dialect `key` (NVARCHAR(200) on SQL Server): a longer header value cannot be ours.
const MAX_KID_LENGTH = 200;

/** Re-signs every stored receipt signed by a key no longer published with the current signing key. */
export async function resignReceipts(services: ResignServices, options: ResignOptions = {}): Promise<ResignReport> {
  const batchSize = options.batchSize ?? RESIGN_BATCH_SIZE;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new RangeError('batchSize must be a positive integer');
  const run: Run = {
    services,
    cipher: await services.keyHierarchy.columnCipher(),
    batchSize,
    signers: new Map(),
    failures: [],
  };
  const resigned = { consent: 0, deletion: 0 };
  let changedMeanwhile = 0;
  for (const column of RECEIPT_COLUMNS) {
    const outcome = await resignColumn(run, column);
    resigned[column.kind] += outcome.resigned;
    changedMeanwhile += outcome.changedMeanwhile;
  }
  return { consentReceipts: resigned.consent, deletionReceipts: resigned.deletion, changedMeanwhile, failures: run.failures };
}

// ---------------------------------------------------------------------------------------------

interface Run {
  readonly services: ResignServices;
  readonly cipher: ColumnCipher;
  readonly batchSize: number;
  /** The stored public key of each kid met so far (null: no such key), to check old signatures. */
  readonly signers: Map<string, KeyObject | null>;
  readonly failures: ResignFailure[];
}

type ReceiptRow = { id: string; receipt: Uint8Array };

interface Resigned {
  readonly id: string;
  readonly stored: Uint8Array;
  readonly sealed: Buffer;
}

async function resignColumn(run: Run, column: ReceiptColumn): Promise<{ resigned: number; changedMeanwhile: number }> {
  const { store } = run.services;
  const limit = dialectFor(store.dialect).limit('limit');
  let resigned = 0;
  let changedMeanwhile = 0;
  // Keyset paging by id: every row is visited once per run, whatever is written meanwhile.
  let after = '';
  for (;;) {
    const page = await store.query<ReceiptRow>(
      sql(
        `SELECT id, ${column.column} AS receipt FROM ${column.table}
         WHERE ${column.column} IS NOT NULL AND id > @after
         ORDER BY id${limit}`,
        { after: p.text(after), limit: p.int(run.batchSize) },
      ),
    );
    if (page.length === 0) break;
    after = page[page.length - 1]!.id;

    // What holders verify against, read again per page: a rotation during the run is seen by the next page.
    const published = new Set((await run.services.signingKeys.jwks()).keys.map((key) => key.kid));
    const replacements: Resigned[] = [];
    for (const row of page) {
      const payload = await stalePayload(run, column, row, published);
      if (payload === null) continue;
      // Signing reads the signing keys through the store, so it happens before the transaction.
      const receipt = await signJws(run.services.signingKeys, payload);
      replacements.push({ id: row.id, stored: row.receipt, sealed: run.cipher.encrypt(receipt, column.context) });
    }

    if (replacements.length > 0) {
      const written = await store.transaction(async (tx) => {
        let count = 0;
        for (const replacement of replacements) {
          const { rowsAffected } = await tx.execute(
            sql(`UPDATE ${column.table} SET ${column.column} = @receipt WHERE id = @id AND ${column.column} = @stored`, {
              receipt: p.blob(replacement.sealed),
              id: p.text(replacement.id),
              stored: p.blob(Buffer.from(replacement.stored)),
            }),
          );
          count += rowsAffected;
        }
        return count;
      });
      resigned += written;
      changedMeanwhile += replacements.length - written;
    }
    if (page.length < run.batchSize) break;
  }
  return { resigned, changedMeanwhile };
}

/**
 * The payload to sign again when the row's receipt names a key no longer published; null when it names a
 * published key (nothing to do) or cannot be re-signed (recorded as a failure).
 */
async function stalePayload(run: Run, column: ReceiptColumn, row: ReceiptRow, published: ReadonlySet<string>): Promise<object | null> {
  const fail = (reason: string): null => {
    run.failures.push({ receipt: column.kind, id: row.id, reason });
    return null;
  };
  let jws: string;
  let kid: unknown;
  try {
    jws = run.cipher.decrypt(row.receipt, column.context);
    kid = decodeProtectedHeader(jws).kid;
  } catch (error) {
    return fail(describe(error));
  }
  if (typeof kid === 'string' && published.has(kid)) return null;
  if (typeof kid !== 'string' || kid.length === 0) return fail('The receipt names no signing key');
  if (kid.length > MAX_KID_LENGTH) return fail('The receipt names a signing key that is not one of ours');

  const signer = await storedPublicKey(run, kid);
  if (!signer) return fail(`The receipt names signing key ${kid}, which is not one of ours`);
  let signed: Uint8Array;
  try {
    signed = (await compactVerify(jws, signer, { algorithms: [SIGNING_ALG] })).payload;
  } catch (error) {
    return fail(`Its signature does not check with the stored key ${kid}: ${describe(error)}`);
  }
  const text = Buffer.from(signed).toString('utf8');
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch {
    return fail('Its payload is not JSON');
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return fail('Its payload is not a JSON object');
  // signJws writes JSON.stringify of the object: the new receipt must carry exactly the bytes the old one did.
  if (JSON.stringify(payload) !== text) return fail('Its payload would not be signed again byte for byte');
  return payload;
}

/** The public half of a signing key as stored (published or not); null when there is no such key. */
async function storedPublicKey(run: Run, kid: string): Promise<KeyObject | null> {
  if (run.signers.has(kid)) return run.signers.get(kid) ?? null;
  const [row] = await run.services.store.query<{ public_jwk: string }>(
    sql('SELECT public_jwk FROM signing_keys WHERE kid = @kid', { kid: p.text(kid) }),
  );
  let key: KeyObject | null = null;
  if (row) {
    const jwk = JSON.parse(row.public_jwk) as { kty?: unknown; crv?: unknown; x?: unknown; y?: unknown };
    if (jwk.kty === 'EC' && jwk.crv === 'P-256' && typeof jwk.x === 'string' && typeof jwk.y === 'string') {
      key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y }, format: 'jwk' });
    }
  }
  run.signers.set(kid, key);
  return key;
}

function describe(error: unknown): string {
  // Decryption and JOSE errors name no secret; the message is for the operator.
  if (error instanceof Error) return `${error.name}: ${error.message}`.slice(0, 500);
  return String(error).slice(0, 500);
}
