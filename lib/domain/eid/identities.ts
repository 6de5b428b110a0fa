/**
 * Identity proof: what an eID provider verified about a person (table verified_identities, one row per person, the
 * latest successful eID completion). The mapped claims — name, birth date, national identifier — are one
 * column-encrypted JSON value; the provider's subject is kept only as a blind index. Organizations see the identity
 * on the requests the person sends them (lib/domain/requests), with its provider and assurance level.
 */
import { p, sql } from '../../adapters/sql/params';
import type { ColumnCipher } from '../../crypto/columnCipher';
import type { SqlExecutor } from '../../ports';
import { EID_CLAIM_FIELDS, type EidClaimField, type EidProviderConfig } from './settings';

export const CLAIMS_CONTEXT = 'verified_identities.claims';
const SUBJECT_INDEX_CONTEXT = 'eid_bindings.subject';
const MAX_CLAIM_LENGTH = 500;

export type VerifiedClaims = Readonly<Record<EidClaimField, string | null>>;

/** As organizations (and the person) see it on a request. */
export interface VerifiedIdentityView {
  readonly name: string | null;
  readonly birthDate: string | null;
  readonly nationalId: string | null;
  readonly provider: string;
  readonly assuranceLevel: string | null;
  readonly verifiedAt: string;
}

/** One eID subject, across accounts: a `sub` is unique per issuer (OpenID Connect Core §2), so the index covers both. */
export function subjectIndex(cipher: ColumnCipher, issuer: string, subject: string): string {
  return cipher.blindIndex(`${issuer}\u0000${subject}`, SUBJECT_INDEX_CONTEXT);
}

/** Our fields from the provider's claims, as the provider's settings map them. Strings (and numbers) only. */
export function mapClaims(provider: EidProviderConfig, userinfo: Readonly<Record<string, unknown>>): VerifiedClaims {
  const claims = {} as Record<EidClaimField, string | null>;
  for (const field of EID_CLAIM_FIELDS) {
    const claimName = provider.claims[field];
    const value = claimName === null ? undefined : userinfo[claimName];
    const text = typeof value === 'string' ? value.trim() : typeof value === 'number' && Number.isFinite(value) ? String(value) : '';
    claims[field] = text === '' ? null : text.slice(0, MAX_CLAIM_LENGTH);
  }
  return claims;
}

/** The provider's assurance level label, or the `acr` it returned. */
export function assuranceLevelOf(provider: EidProviderConfig, acr: string | null): string | null {
  return provider.assuranceLevel ?? acr;
}

export async function upsertVerifiedIdentity(
  tx: SqlExecutor,
  cipher: ColumnCipher,
  identity: { userId: string; providerId: string; subjectIndex: string; claims: VerifiedClaims; assuranceLevel: string | null; now: number },
): Promise<void> {
  // Delete-then-insert in the caller's transaction: one statement text for both engines.
  await tx.execute(sql('DELETE FROM verified_identities WHERE user_id = @user', { user: p.text(identity.userId) }));
  await tx.execute(
    sql(
      `INSERT INTO verified_identities (user_id, provider_id, subject_index, claims, assurance_level, verified_at)
       VALUES (@user, @provider, @subject, @claims, @assurance, @now)`,
      {
        user: p.text(identity.userId),
        provider: p.text(identity.providerId),
        subject: p.text(identity.subjectIndex),
        claims: p.blob(cipher.encrypt(JSON.stringify(identity.claims), CLAIMS_CONTEXT)),
        assurance: p.text(identity.assuranceLevel === null ? null : identity.assuranceLevel.slice(0, 200)),
        now: p.bigint(identity.now),
      },
    ),
  );
}

/** The view of a stored identity; all-null columns (no identity, from a LEFT JOIN) give null. */
export function verifiedIdentityView(
  cipher: ColumnCipher,
  row: { providerId: string | null; claims: Uint8Array | null; assuranceLevel: string | null; verifiedAt: number | string | null },
): VerifiedIdentityView | null {
  if (row.providerId === null || row.claims === null || row.verifiedAt === null) return null;
  const claims = JSON.parse(cipher.decrypt(row.claims, CLAIMS_CONTEXT)) as Partial<Record<EidClaimField, string | null>>;
  const composed = [claims.givenName, claims.familyName].filter((part): part is string => typeof part === 'string' && part !== '').join(' ');
  return {
    name: claims.name ?? (composed === '' ? null : composed),
    birthDate: claims.birthDate ?? null,
    nationalId: claims.nationalId ?? null,
    provider: row.providerId,
    assuranceLevel: row.assuranceLevel,
    verifiedAt: new Date(Number(row.verifiedAt)).toISOString(),
  };
}

export async function getVerifiedIdentity(db: SqlExecutor, cipher: ColumnCipher, userId: string): Promise<VerifiedIdentityView | null> {
  const [row] = await db.query<{ provider_id: string; claims: Uint8Array; assurance_level: string | null; verified_at: number | string }>(
    sql('SELECT provider_id, claims, assurance_level, verified_at FROM verified_identities WHERE user_id = @user', { user: p.text(userId) }),
  );
  if (!row) return null;
  return verifiedIdentityView(cipher, { providerId: row.provider_id, claims: row.claims, assuranceLevel: row.assurance_level, verifiedAt: row.verified_at });
}
