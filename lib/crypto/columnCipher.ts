/**
 * Application-side column encryption, doing what SQL Server's Always Encrypted driver would (DESIGN §4):
 * values are sealed before they reach any database, so neither the database nor its backups see plaintext.
 *
 *   value      version (1) = 1 ‖ IV (12, random) ‖ AES-256-GCM ciphertext ‖ tag (16); AAD = version ‖ context
 *   lookup     blind index = hex HMAC-SHA-256(indexKey, context ‖ 0x00 ‖ value)
 *
 * The context (a column name such as "users.email") is authenticated, so a value copied into another column
 * fails to decrypt, and it separates blind indexes, so equal values in two columns do not link.
 * Encryption and index keys are derived separately (HKDF, RFC 5869) so the index key can never decrypt.
 * The audit log's MAC key is derived from the same root under its own label, so no extra wrapped key (and no
 * extra master-key unwrap) is needed, and it can neither decrypt nor compute blind indexes.
 */
import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import type { Random } from '../ports';
import { gcmOpen, gcmSeal } from './streamFormat';

const VERSION = 1;
const IV_SIZE = 12;
const TAG_SIZE = 16;
const KEY_SIZE = 32;
const HKDF_SALT = Buffer.from('connectid/column-keys', 'utf8');
const ENCRYPTION_INFO = 'connectid column encryption v1';
const BLIND_INDEX_INFO = 'connectid column blind index v1';
const AUDIT_MAC_INFO = 'connectid audit mac v1';

/** A column value failed to decrypt: tampered with, moved from another column, or sealed under another key. */
export class ColumnDecryptError extends Error {
  readonly code = 'column_decrypt_failed';
  constructor(message = 'The column value failed authentication') {
    super(message);
    this.name = 'ColumnDecryptError';
  }
}

/** HKDF-SHA-256 (RFC 5869). */
export function hkdfSha256(ikm: Buffer, salt: Buffer, info: Buffer | string, lengthInBytes: number): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, info, lengthInBytes));
}

/** Apply before blindIndex so lookups ignore case, surrounding spaces and Unicode composition. */
export function normalizeEmail(email: string): string {
  return email.normalize('NFC').trim().toLowerCase();
}

export class ColumnCipher {
  private readonly encryptionKey: Buffer;
  private readonly indexKey: Buffer;
  private readonly auditMacKey: Buffer;

  constructor(
    rootKey: Buffer,
    private readonly random: Pick<Random, 'bytes'> = { bytes: randomBytes },
  ) {
    if (rootKey.length !== KEY_SIZE) throw new RangeError(`The column root key must be ${KEY_SIZE} bytes`);
    this.encryptionKey = hkdfSha256(rootKey, HKDF_SALT, ENCRYPTION_INFO, KEY_SIZE);
    this.indexKey = hkdfSha256(rootKey, HKDF_SALT, BLIND_INDEX_INFO, KEY_SIZE);
    this.auditMacKey = hkdfSha256(rootKey, HKDF_SALT, AUDIT_MAC_INFO, KEY_SIZE);
  }

  /** A copy of the HMAC-SHA-256 key that chains the audit log (lib/domain/audit). */
  auditKey(): Buffer {
    return Buffer.from(this.auditMacKey);
  }

  encrypt(value: string, context: string): Buffer {
    const iv = this.random.bytes(IV_SIZE);
    if (iv.length !== IV_SIZE) throw new RangeError('Random returned the wrong number of bytes');
    const { ciphertext, tag } = gcmSeal(this.encryptionKey, iv, aadFor(context), Buffer.from(value, 'utf8'));
    return Buffer.concat([Buffer.of(VERSION), iv, ciphertext, tag]);
  }

  decrypt(blob: Uint8Array, context: string): string {
    const bytes = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
    if (bytes.length < 1 + IV_SIZE + TAG_SIZE || bytes.readUInt8(0) !== VERSION) throw new ColumnDecryptError();
    const iv = bytes.subarray(1, 1 + IV_SIZE);
    const ciphertext = bytes.subarray(1 + IV_SIZE, bytes.length - TAG_SIZE);
    const tag = bytes.subarray(bytes.length - TAG_SIZE);
    const plaintext = gcmOpen(this.encryptionKey, iv, aadFor(context), ciphertext, tag);
    if (!plaintext) throw new ColumnDecryptError();
    return plaintext.toString('utf8');
  }

  encryptNullable(value: string | null | undefined, context: string): Buffer | null {
    return value === null || value === undefined ? null : this.encrypt(value, context);
  }

  decryptNullable(blob: Uint8Array | null | undefined, context: string): string | null {
    return blob === null || blob === undefined ? null : this.decrypt(blob, context);
  }

  /** Deterministic: equal (context, value) give equal indexes, for equality lookups only. */
  blindIndex(value: string, context: string): string {
    assertContext(context);
    return createHmac('sha256', this.indexKey).update(context, 'utf8').update(Buffer.of(0)).update(value, 'utf8').digest('hex');
  }
}

function aadFor(context: string): Buffer {
  assertContext(context);
  return Buffer.concat([Buffer.of(VERSION), Buffer.from(context, 'utf8')]);
}

function assertContext(context: string): void {
  // A NUL inside the context would make context ‖ 0x00 ‖ value ambiguous.
  if (context.length === 0 || context.includes('\0')) throw new TypeError('A column context is a non-empty name without NUL');
}
