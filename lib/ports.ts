/**
 * The ports: every external system the use cases touch sits behind one of these interfaces.
 * Each has an embedded adapter (always tested) and an Azure adapter (tested when its settings exist).
 */
import type { Readable } from 'node:stream';

// ---------------------------------------------------------------------------------------------
// Time and randomness are injected so tests freeze them instead of sleeping.

export interface Clock {
  now(): Date;
}

export interface Random {
  /** Cryptographically secure random bytes. */
  bytes(length: number): Buffer;
  /** An opaque, URL-safe, lowercase identifier with at least 128 bits of entropy (container-name safe). */
  id(): string;
}

// ---------------------------------------------------------------------------------------------
// Store: one set of SQL for SQLite and Azure SQL. Queries use `@name` parameters (both engines
// understand them) and every parameter carries an explicit type, so the mssql adapter never guesses.

export type SqlType = 'text' | 'int' | 'bigint' | 'blob' | 'bool';

export interface SqlParam {
  readonly type: SqlType;
  readonly value: string | number | boolean | Buffer | null;
}

export interface SqlStatement {
  readonly text: string;
  readonly params: Readonly<Record<string, SqlParam>>;
}

/** A row as the engines return it: text → string, int/bigint → number, blob → Buffer, bool → 0/1 or boolean. */
export type SqlRow = Record<string, unknown>;

export interface SqlExecutor {
  query<Row extends SqlRow = SqlRow>(statement: SqlStatement): Promise<Row[]>;
  execute(statement: SqlStatement): Promise<{ rowsAffected: number }>;
}

export type SqlDialectName = 'sqlite' | 'mssql';

export interface Store extends SqlExecutor {
  readonly dialect: SqlDialectName;
  /**
   * Runs `work` in one transaction: everything it writes commits together or not at all.
   * Statements must go through the `tx` executor given to `work`.
   */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Applies pending migrations in version order; returns the versions applied now. */
  migrate(): Promise<number[]>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// BlobStore: Azure Blob Storage (Azurite locally). One container per organization.

export interface BlobProperties {
  readonly size: number;
  readonly metadata: Readonly<Record<string, string>>;
  readonly createdOn: Date;
}

export interface BlobListing {
  readonly name: string;
  readonly size: number;
  readonly createdOn: Date;
}

export interface ByteRange {
  readonly offset: number;
  /** Number of bytes; absent = to the end. */
  readonly count?: number;
}

export interface BlobStore {
  /** Idempotent. */
  createContainer(container: string): Promise<void>;
  /** Idempotent. */
  deleteContainer(container: string): Promise<void>;
  /**
   * Streams `body` into a blob (never buffering it whole). If the stream errors, no blob is left
   * committed under `name`.
   */
  upload(container: string, name: string, body: Readable, options?: { metadata?: Record<string, string> }): Promise<{ size: number }>;
  /** null when the blob does not exist. */
  download(container: string, name: string, range?: ByteRange): Promise<Readable | null>;
  /** null when the blob does not exist. */
  getProperties(container: string, name: string): Promise<BlobProperties | null>;
  /** Idempotent: deleting a missing blob is not an error. */
  delete(container: string, name: string): Promise<void>;
  list(container: string, prefix?: string): AsyncIterable<BlobListing>;
}

// ---------------------------------------------------------------------------------------------
// KeyProvider: the master key (Key Vault RSA-4096, RSA-OAEP-256; local RSA-4096 key files).
// Wrapping uses the cached public key (no remote call); only unwrapping reaches Key Vault.

export interface WrappedKey {
  /** Identifies the master key version that wrapped it (a Key Vault key id, or a local key name). */
  readonly masterKeyId: string;
  readonly wrapped: Buffer;
}

export interface KeyProvider {
  /** The master key version new wraps use. */
  currentKeyId(): Promise<string>;
  wrapKey(plainKey: Buffer): Promise<WrappedKey>;
  unwrapKey(key: WrappedKey): Promise<Buffer>;
}

// ---------------------------------------------------------------------------------------------
// Mailer: outbox files locally, SendGrid in Azure.

export interface MailMessage {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

export interface Mailer {
  send(message: MailMessage): Promise<void>;
}

/** A sent message as the outbox keeps it. */
export interface OutboxMessage extends MailMessage {
  readonly id: string;
  readonly sentAt: string;
}

// ---------------------------------------------------------------------------------------------
// SmsSender: outbox files locally, Azure Communication Services SMS in Azure. One-time codes only: the
// text carries no personal data, and the number is E.164 (`+` and up to 15 digits).

export interface SmsMessage {
  readonly to: string;
  readonly text: string;
}

export interface SmsSender {
  send(message: SmsMessage): Promise<void>;
}

/** A sent SMS as the outbox keeps it. */
export interface OutboxSms extends SmsMessage {
  readonly id: string;
  readonly sentAt: string;
}

// ---------------------------------------------------------------------------------------------
// Logging never receives secrets or personal data: pass ids and codes, not values.

export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}
