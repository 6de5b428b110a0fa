/**
 * Access tokens (DESIGN §5): JWTs in the RFC 9068 shape (`typ: at+jwt`), signed ES256 by the current signing
 * key, living `signingKeys.accessTokenTtlInSeconds` (10 minutes). Also the plain signed JSON (JWS, `typ: JWT`)
 * that receipts use.
 *
 * Verification pins the algorithm, issuer, audience and typ, and takes the time from the injected Clock. The
 * typ keeps the two kinds apart: a receipt is never accepted as an access token, nor the other way round.
 */
import { CompactSign, SignJWT, compactVerify, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { KeyObject } from 'node:crypto';
import { ApiError } from '../../errors';
import { ROLES, type Role } from '../../http/route';
import type { Clock, Random } from '../../ports';
import { SIGNING_ALG, type SigningKeys } from './signingKeys';

const ACCESS_TOKEN_TYP = 'at+jwt';
const JWS_TYP = 'JWT';
// Far above any token we issue; refuses to parse megabytes of attacker input.
const MAX_TOKEN_LENGTH = 8192;

export interface AccessTokenClaims {
  readonly sub: string;
  readonly role: Role;
  readonly org: string | null;
  /** The API key the token was minted with (RFC 8705-style binding), else null. */
  readonly akid: string | null;
  readonly sid: string | null;
  readonly amr: readonly string[];
  readonly acr?: string;
  /** When the user last authenticated (RFC 9470 `auth_time`), epoch seconds. */
  readonly authTime: number;
  /**
   * A restriction of what the token may do. `mfa_enrollment`: password proven, no second factor yet; the guard
   * lets it reach only the factor-enrollment routes. Absent on ordinary tokens.
   */
  readonly scp?: AccessTokenRestriction;
}

export const ACCESS_TOKEN_RESTRICTIONS = ['mfa_enrollment'] as const;
export type AccessTokenRestriction = (typeof ACCESS_TOKEN_RESTRICTIONS)[number];

export interface VerifiedAccessToken extends AccessTokenClaims {
  readonly jti: string;
  /** Epoch seconds. */
  readonly issuedAt: number;
  /** Epoch seconds. */
  readonly expiresAt: number;
  readonly kid: string;
}

export interface IssueOptions {
  readonly issuer: string;
  readonly audience: string;
  readonly clock: Clock;
  readonly random: Random;
}

export interface VerifyOptions {
  readonly issuer: string;
  readonly audience: string;
  readonly clock: Clock;
}

export interface IssuedAccessToken {
  readonly token: string;
  /** Seconds, for the token response's `expires_in`. */
  readonly expiresIn: number;
  readonly jti: string;
}

export async function issueAccessToken(
  signingKeys: SigningKeys,
  options: IssueOptions,
  claims: AccessTokenClaims,
): Promise<IssuedAccessToken> {
  assertIssuable(claims);
  const issuedAt = epochSeconds(options.clock);
  // Catches milliseconds passed as seconds, which would make step-up checks pass for years.
  if (claims.authTime > issuedAt) throw new RangeError('authTime is after now: it must be epoch seconds of a past login');
  const { kid, privateKey } = await signingKeys.current();
  const expiresIn = signingKeys.accessTokenTtlInSeconds;
  const jti = options.random.id();
  const payload: JWTPayload = {
    role: claims.role,
    org: claims.org,
    akid: claims.akid,
    sid: claims.sid,
    amr: [...claims.amr],
    auth_time: claims.authTime,
  };
  if (claims.acr !== undefined) payload.acr = claims.acr;
  if (claims.scp !== undefined) payload.scp = claims.scp;
  const token = await new SignJWT(payload)
    .setProtectedHeader({ alg: SIGNING_ALG, typ: ACCESS_TOKEN_TYP, kid })
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setSubject(claims.sub)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + expiresIn)
    .setJti(jti)
    .sign(privateKey);
  return { token, expiresIn, jti };
}

/**
 * A token's signature and claims never change, so a successful verification is remembered until the token's exp
 * (bounded in size; measured: ES256 verification was the largest per-request cost of an authenticated read).
 * A hit still requires the signing key to be published, so an emergency rotation bites as it would without the
 * cache. Revocation of sessions, accounts and API keys is checked in the database on every request, never here.
 */
const VERIFIED_TOKENS_LIMIT = 10_000;
const verifiedTokens = new WeakMap<SigningKeys, Map<string, VerifiedAccessToken>>();

async function rememberedVerification(signingKeys: SigningKeys, cacheKey: string, nowInSeconds: number): Promise<VerifiedAccessToken | null> {
  const cache = verifiedTokens.get(signingKeys);
  const hit = cache?.get(cacheKey);
  if (!cache || !hit) return null;
  if (hit.expiresAt > nowInSeconds && (await signingKeys.verificationKey(hit.kid)) !== null) return hit;
  cache.delete(cacheKey);
  return null;
}

function rememberVerification(signingKeys: SigningKeys, cacheKey: string, claims: VerifiedAccessToken): void {
  let cache = verifiedTokens.get(signingKeys);
  if (!cache) verifiedTokens.set(signingKeys, (cache = new Map()));
  // Maps iterate in insertion order: dropping the first entry drops the oldest.
  if (cache.size >= VERIFIED_TOKENS_LIMIT) cache.delete(cache.keys().next().value!);
  cache.set(cacheKey, claims);
}

/** The token's claims, or ApiError 401 `unauthorized` with `WWW-Authenticate: Bearer error="invalid_token"`. */
export async function verifyAccessToken(
  signingKeys: SigningKeys,
  options: VerifyOptions,
  token: string,
): Promise<VerifiedAccessToken> {
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) throw invalidToken();
  const cacheKey = `${options.issuer}\u0000${options.audience}\u0000${token}`;
  const remembered = await rememberedVerification(signingKeys, cacheKey, Math.floor(options.clock.now().getTime() / 1000));
  if (remembered) return remembered;
  let verified: { payload: JWTPayload; kid: string };
  try {
    const result = await jwtVerify(token, keyResolver(signingKeys), {
      algorithms: [SIGNING_ALG],
      issuer: options.issuer,
      audience: options.audience,
      typ: ACCESS_TOKEN_TYP,
      currentDate: options.clock.now(),
      // exp ≤ now is expired: tokens are issued and verified by the same service, so there is no skew to absorb.
      clockTolerance: 0,
      requiredClaims: ['sub', 'iat', 'exp', 'jti', 'role', 'org', 'akid', 'sid', 'amr', 'auth_time'],
    });
    verified = { payload: result.payload, kid: String(result.protectedHeader.kid) };
  } catch (error) {
    if (isRejection(error)) throw invalidToken();
    // A database or Key Vault failure is ours, not the caller's: it must surface as a 500, not a 401.
    throw error;
  }
  const claims = accessTokenClaims(verified.payload, verified.kid);
  if (!claims) throw invalidToken();
  rememberVerification(signingKeys, cacheKey, claims);
  return claims;
}

export interface VerifiedJws {
  readonly payload: Record<string, unknown>;
  readonly kid: string;
}

/** A signed JSON object (compact JWS, ES256, `typ: JWT`) for receipts. */
export async function signJws(signingKeys: SigningKeys, payload: object): Promise<string> {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new TypeError('A JWS payload is a JSON object');
  }
  const { kid, privateKey } = await signingKeys.current();
  return new CompactSign(Buffer.from(JSON.stringify(payload), 'utf8'))
    .setProtectedHeader({ alg: SIGNING_ALG, typ: JWS_TYP, kid })
    .sign(privateKey);
}

/** The kind of failure of verifyJws: stable `code`, message for humans only. */
export class InvalidJwsError extends Error {
  readonly code = 'invalid_jws';
  constructor(message = 'The signature is not valid') {
    super(message);
    this.name = 'InvalidJwsError';
  }
}

/**
 * The payload of a JWS made by signJws and signed by a key still published, or InvalidJwsError. Infrastructure
 * failures (database, Key Vault) are rethrown as they are.
 */
export async function verifyJws(signingKeys: SigningKeys, jws: string): Promise<VerifiedJws> {
  if (typeof jws !== 'string' || jws.length === 0 || jws.length > MAX_TOKEN_LENGTH) throw new InvalidJwsError();
  let result: Awaited<ReturnType<typeof compactVerify>>;
  try {
    result = await compactVerify(jws, keyResolver(signingKeys), { algorithms: [SIGNING_ALG] });
  } catch (error) {
    if (isRejection(error)) throw new InvalidJwsError();
    throw error;
  }
  if (result.protectedHeader.typ !== JWS_TYP) throw new InvalidJwsError('Not a signed JSON object');
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(result.payload).toString('utf8'));
  } catch {
    throw new InvalidJwsError('The payload is not JSON');
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new InvalidJwsError('The payload is not a JSON object');
  }
  return { payload: payload as Record<string, unknown>, kid: String(result.protectedHeader.kid) };
}

// ---------------------------------------------------------------------------------------------

/** Thrown by the key resolver; a rejection of the token, like jose's own errors. */
class UnknownSigningKeyError extends Error {
  constructor() {
    super('The token names no published signing key');
    this.name = 'UnknownSigningKeyError';
  }
}

function keyResolver(signingKeys: SigningKeys): (header: { kid?: string }) => Promise<KeyObject> {
  // jose calls this only after checking the header's alg against `algorithms`, so alg none and HS256 never get here.
  return async (header) => {
    if (typeof header.kid !== 'string') throw new UnknownSigningKeyError();
    const key = await signingKeys.verificationKey(header.kid);
    if (!key) throw new UnknownSigningKeyError();
    return key;
  };
}

function isRejection(error: unknown): boolean {
  return error instanceof joseErrors.JOSEError || error instanceof UnknownSigningKeyError;
}

function invalidToken(): ApiError {
  // RFC 6750 §3.1: invalid_token tells the client to get a new token rather than retry this one.
  return new ApiError(401, 'unauthorized', 'The access token is not valid', {
    headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' },
  });
}

function accessTokenClaims(payload: JWTPayload, kid: string): VerifiedAccessToken | null {
  const { sub, role, org, akid, sid, amr, acr, scp, auth_time: authTime, jti, iat, exp } = payload;
  if (!isNonEmptyString(sub) || !isNonEmptyString(jti)) return null;
  if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) return null;
  if (!isNullableString(org) || !isNullableString(akid) || !isNullableString(sid)) return null;
  if (!Array.isArray(amr) || !amr.every((method) => typeof method === 'string')) return null;
  if (acr !== undefined && typeof acr !== 'string') return null;
  // An unknown restriction cannot be honoured, so the token is refused rather than treated as unrestricted.
  if (scp !== undefined && !isRestriction(scp)) return null;
  if (!isEpochSeconds(authTime) || !isEpochSeconds(iat) || !isEpochSeconds(exp)) return null;
  return {
    sub,
    role: role as Role,
    org,
    akid,
    sid,
    amr: amr as string[],
    ...(acr === undefined ? {} : { acr }),
    ...(scp === undefined ? {} : { scp: scp as AccessTokenRestriction }),
    authTime,
    jti,
    issuedAt: iat,
    expiresAt: exp,
    kid,
  };
}

function assertIssuable(claims: AccessTokenClaims): void {
  if (!isNonEmptyString(claims.sub)) throw new TypeError('sub is a non-empty string');
  if (!ROLES.includes(claims.role)) throw new TypeError(`role must be one of ${ROLES.join(', ')}`);
  if (!isNullableString(claims.org) || !isNullableString(claims.akid) || !isNullableString(claims.sid)) {
    throw new TypeError('org, akid and sid are strings or null');
  }
  if (!Array.isArray(claims.amr) || !claims.amr.every((method) => typeof method === 'string')) {
    throw new TypeError('amr is an array of strings');
  }
  if (claims.acr !== undefined && typeof claims.acr !== 'string') throw new TypeError('acr is a string when present');
  if (claims.scp !== undefined && !isRestriction(claims.scp)) throw new TypeError(`scp is one of ${ACCESS_TOKEN_RESTRICTIONS.join(', ')} when present`);
  if (!isEpochSeconds(claims.authTime)) throw new TypeError('authTime is epoch seconds (an integer)');
}

function isRestriction(value: unknown): value is AccessTokenRestriction {
  return typeof value === 'string' && (ACCESS_TOKEN_RESTRICTIONS as readonly string[]).includes(value);
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function isNullableString(value: unknown): value is string | null {
  return value === null || typeof value === 'string';
}

function isEpochSeconds(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function epochSeconds(clock: Clock): number {
  return Math.floor(clock.now().getTime() / 1000);
}
