/**
 * Master-key rotation, second half: re-wraps every key the master key wraps (DESIGN §4) with its current
 * version, so older versions can be disabled. The first half is creating the new version (Key Vault: a new
 * version of MASTER_KEY_NAME, by its rotation policy or `az keyvault key rotate`; locally:
 * rotateLocalMasterKey).
 *
 *   wrapped_keys.wrapped          organization KEKs ('org-kek') and the column root key ('column')
 *   signing_keys.wrapped_private  token signing keys (PKCS#8, ES256)
 *
 * Zero downtime: the plaintext keys never change, only their wrapping, and every row is replaced in one
 * statement (its own small transaction), so a reader sees either the old wrap (which still unwraps while the
 * old version is enabled) or the new one. Running instances keep their cached KEKs; nothing restarts.
 *
 * Idempotent and resumable: only rows whose master_key_id is not the current version are touched, and a
 * failed row is reported and left as it was, so running it again finishes the job. The update is
 * compare-and-swap on the old master_key_id: a row that changed meanwhile (destroyed, or re-wrapped by a
 * concurrent run) is left alone.
 *
 * A new wrap is unwrapped again and compared with the key before it replaces the old one: writing a wrap
 * that does not open would destroy the key (and with a KEK, every delivery of the organization).
 */
import { timingSafeEqual } from 'node:crypto';
import { dialectFor } from '../adapters/sql/dialect';
import { p, sql } from '../adapters/sql/params';
import type { KeyProvider, Store, WrappedKey } from '../ports';

export interface RewrapOptions {
  /** Count what would be re-wrapped without unwrapping or writing anything. */
  readonly dryRun?: boolean;
  /** Rows read per query (default 100). */
  readonly pageSize?: number;
}

export type RewrapTable = 'wrapped_keys' | 'signing_keys';

export interface RewrapTableReport {
  /** Rows re-wrapped with the current version by this run (dry run: rows that would be). */
  readonly rewrapped: number;
  /** Rows already wrapped by the current version when this run looked. */
  readonly alreadyCurrent: number;
  /** Rows of destroyed keys (crypto-shredded): never unwrapped, never re-wrapped. */
  readonly skippedDestroyed: number;
  /** Rows that changed between our read and our write (destroyed or re-wrapped by someone else): left alone. */
  readonly skippedChanged: number;
  readonly failed: number;
}

export interface RewrapFailure {
  readonly table: RewrapTable;
  /** wrapped_keys.id or signing_keys.kid: key names, never key material. */
  readonly id: string;
  readonly reason: string;
}

export interface RewrapReport {
  readonly currentMasterKeyId: string;
  readonly dryRun: boolean;
  readonly wrappedKeys: RewrapTableReport;
  readonly signingKeys: RewrapTableReport;
  /**
   * Live rows still wrapped by an older version after this run (dry run: before it). Zero means older
   * versions are no longer needed by any live key and may be disabled.
   */
  readonly remaining: number;
  /** The older master key versions live rows still name after this run (empty when remaining is 0). */
  readonly remainingMasterKeyIds: readonly string[];
  readonly failures: readonly RewrapFailure[];
}

export interface TableSpec {
  readonly table: RewrapTable;
  readonly idColumn: string;
  readonly wrappedColumn: string;
  /** SQL condition for a live (not destroyed) row; null when the table keeps no destroyed rows. */
  readonly liveCondition: string | null;
}

/** Every table holding keys wrapped by the master key (a test compares it with the migrations' master_key_id columns). */
export const REWRAPPED_TABLES: readonly TableSpec[] = [
  { table: 'wrapped_keys', idColumn: 'id', wrappedColumn: 'wrapped', liveCondition: 'destroyed_at IS NULL' },
  { table: 'signing_keys', idColumn: 'kid', wrappedColumn: 'wrapped_private', liveCondition: null },
];

const DEFAULT_PAGE_SIZE = 100;

type Row = { id: string; master_key_id: string; wrapped: Uint8Array };

export async function rewrapMasterKeyWraps(
  deps: { readonly store: Store; readonly keys: KeyProvider },
  options: RewrapOptions = {},
): Promise<RewrapReport> {
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  if (!Number.isSafeInteger(pageSize) || pageSize < 1) throw new RangeError('pageSize must be a positive integer');
  const dryRun = options.dryRun === true;
  const currentMasterKeyId = await deps.keys.currentKeyId();
  const failures: RewrapFailure[] = [];

  const reports = new Map<RewrapTable, RewrapTableReport>();
  for (const spec of REWRAPPED_TABLES) {
    reports.set(spec.table, await rewrapTable(deps, spec, currentMasterKeyId, { dryRun, pageSize, failures }));
  }

  const remainingMasterKeyIds = new Set<string>();
  let remaining = 0;
  for (const spec of REWRAPPED_TABLES) {
    const rows = await deps.store.query<{ master_key_id: string; n: number | string }>(
      sql(
        `SELECT master_key_id, COUNT(*) AS n FROM ${spec.table}
         WHERE master_key_id <> @current${spec.liveCondition ? ` AND ${spec.liveCondition}` : ''}
         GROUP BY master_key_id`,
        { current: p.text(currentMasterKeyId) },
      ),
    );
    for (const row of rows) {
      remaining += Number(row.n);
      remainingMasterKeyIds.add(row.master_key_id);
    }
  }

  return {
    currentMasterKeyId,
    dryRun,
    wrappedKeys: reports.get('wrapped_keys') ?? emptyReport(),
    signingKeys: reports.get('signing_keys') ?? emptyReport(),
    remaining,
    remainingMasterKeyIds: [...remainingMasterKeyIds].sort(),
    failures,
  };
}

async function rewrapTable(
  deps: { readonly store: Store; readonly keys: KeyProvider },
  spec: TableSpec,
  currentMasterKeyId: string,
  run: { readonly dryRun: boolean; readonly pageSize: number; readonly failures: RewrapFailure[] },
): Promise<RewrapTableReport> {
  const { store, keys } = deps;
  const live = spec.liveCondition ? ` AND ${spec.liveCondition}` : '';
  const count = async (where: string): Promise<number> => {
    const rows = await store.query<{ n: number | string }>(
      sql(`SELECT COUNT(*) AS n FROM ${spec.table} WHERE ${where}`, { current: p.text(currentMasterKeyId) }),
    );
    return Number(rows[0]?.n ?? 0);
  };
  const alreadyCurrent = await count(`master_key_id = @current${live}`);
  const skippedDestroyed = spec.liveCondition ? await count(`master_key_id <> @current AND NOT (${spec.liveCondition})`) : 0;

  let rewrapped = 0;
  let skippedChanged = 0;
  let failed = 0;
  const limit = dialectFor(store.dialect).limit('limit');
  // Keyset paging by id: rows re-wrapped drop out of the filter, failed ones are stepped over, so every
  // row is visited once per run however the table changes meanwhile.
  let after = '';
  for (;;) {
    const page = await store.query<Row>(
      sql(
        `SELECT ${spec.idColumn} AS id, master_key_id, ${spec.wrappedColumn} AS wrapped FROM ${spec.table}
         WHERE master_key_id <> @current${live} AND ${spec.idColumn} > @after
         ORDER BY ${spec.idColumn}${limit}`,
        { current: p.text(currentMasterKeyId), after: p.text(after), limit: p.int(run.pageSize) },
      ),
    );
    for (const row of page) {
      after = row.id;
      if (run.dryRun) {
        rewrapped++;
        continue;
      }
      try {
        const outcome = await rewrapRow(store, keys, spec, row);
        if (outcome === 'rewrapped') rewrapped++;
        else skippedChanged++;
      } catch (error) {
        failed++;
        run.failures.push({ table: spec.table, id: row.id, reason: describe(error) });
      }
    }
    if (page.length < run.pageSize) break;
  }
  return { rewrapped, alreadyCurrent, skippedDestroyed, skippedChanged, failed };
}

async function rewrapRow(store: Store, keys: KeyProvider, spec: TableSpec, row: Row): Promise<'rewrapped' | 'changed'> {
  const old: WrappedKey = { masterKeyId: row.master_key_id, wrapped: Buffer.from(row.wrapped) };
  const plain = await keys.unwrapKey(old);
  let check: Buffer | undefined;
  try {
    const rewrapped = await keys.wrapKey(plain);
    if (rewrapped.masterKeyId === old.masterKeyId) {
      throw new Error(`The master key wrapped with ${old.masterKeyId} again; is that version current?`);
    }
    check = await keys.unwrapKey(rewrapped);
    if (check.length !== plain.length || !timingSafeEqual(check, plain)) {
      throw new Error(`The new wrap by ${rewrapped.masterKeyId} does not unwrap to the same key; row left unchanged`);
    }
    const live = spec.liveCondition ? ` AND ${spec.liveCondition}` : '';
    const { rowsAffected } = await store.execute(
      sql(
        `UPDATE ${spec.table} SET master_key_id = @newMasterKeyId, ${spec.wrappedColumn} = @wrapped
         WHERE ${spec.idColumn} = @id AND master_key_id = @oldMasterKeyId${live}`,
        {
          newMasterKeyId: p.text(rewrapped.masterKeyId),
          wrapped: p.blob(rewrapped.wrapped),
          id: p.text(row.id),
          oldMasterKeyId: p.text(old.masterKeyId),
        },
      ),
    );
    return rowsAffected === 1 ? 'rewrapped' : 'changed';
  } finally {
    plain.fill(0);
    check?.fill(0);
  }
}

function emptyReport(): RewrapTableReport {
  return { rewrapped: 0, alreadyCurrent: 0, skippedDestroyed: 0, skippedChanged: 0, failed: 0 };
}

function describe(error: unknown): string {
  // Errors from the key providers and the store name keys and versions, never key material.
  if (error instanceof Error) return `${error.name}: ${error.message}`.slice(0, 500);
  return String(error).slice(0, 500);
}
