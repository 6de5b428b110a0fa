/**
 * Third-party eID providers (OpenID Connect), as the settings describe them. Pure parsing and validation, called by
 * lib/config.ts: every problem is reported with the others at start-up, never at request time.
 *
 *   EID_PROVIDERS       JSON array of providers (below); absent or empty = no eID (the feature is off)
 *   EID_CLIENT_SECRETS  JSON object { providerId: client secret } — the secret one, a Key Vault reference in Azure
 *
 * An issuer must be https; plain http is accepted only for loopback hosts (a provider running on this machine, as
 * in the tests), and only those get openid-client's allowInsecureRequests.
 */

export const EID_TOKEN_ENDPOINT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post'] as const;
export type EidTokenEndpointAuthMethod = (typeof EID_TOKEN_ENDPOINT_AUTH_METHODS)[number];

/** What we ask the UserInfo endpoint for, and accept from it: plain JSON, a signed JWT, or a signed-then-encrypted JWT. */
export const EID_USERINFO_FORMS = ['json', 'jwt', 'encrypted-jwt'] as const;
export type EidUserinfoForm = (typeof EID_USERINFO_FORMS)[number];

/** Asymmetric JWS algorithms only: a signature we check against the provider's JWKS, never one made with our secret. */
export const EID_SIGNING_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
export type EidSigningAlg = (typeof EID_SIGNING_ALGS)[number];

/** Our fields of a verified identity, each read from the provider claim the mapping names. */
export const EID_CLAIM_FIELDS = ['name', 'givenName', 'familyName', 'birthDate', 'nationalId'] as const;
export type EidClaimField = (typeof EID_CLAIM_FIELDS)[number];

/** Standard OIDC claims (OpenID Connect Core §5.1); a national identifier has no standard claim, so none by default. */
export const DEFAULT_CLAIM_MAPPING: Readonly<Record<EidClaimField, string | null>> = Object.freeze({
  name: 'name',
  givenName: 'given_name',
  familyName: 'family_name',
  birthDate: 'birthdate',
  nationalId: null,
});

export interface EidProviderConfig {
  /** A slug: lowercase letters, digits and dashes. Names the provider in the API (`provider` of a factor). */
  readonly id: string;
  readonly label: string;
  /** The OpenID issuer identifier; discovery reads `${issuer}/.well-known/openid-configuration`. No trailing slash. */
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Space-separated, always including `openid`. */
  readonly scopes: string;
  /** Sent as acr_values, e.g. `idp:itsme` to pick the identity provider behind an eID hub. */
  readonly acrValues: string | null;
  readonly tokenEndpointAuthMethod: EidTokenEndpointAuthMethod;
  readonly userinfo: EidUserinfoForm;
  /** Pinned algorithm of the ID token (id_token_signed_response_alg); default RS256, the OpenID Connect default. */
  readonly idTokenSigningAlg: EidSigningAlg;
  /** Pinned algorithm of a JWT UserInfo answer (userinfo_signed_response_alg); default RS256. */
  readonly userinfoSigningAlg: EidSigningAlg;
  /** Which provider claim fills each of our fields; null = the provider does not give it. */
  readonly claims: Readonly<Record<EidClaimField, string | null>>;
  /** The assurance level organizations are shown; null = the `acr` the provider returns. */
  readonly assuranceLevel: string | null;
}

export interface EidSettings {
  readonly providers: readonly EidProviderConfig[];
}

const PROVIDER_KEYS = [
  'id',
  'label',
  'issuer',
  'clientId',
  'scopes',
  'acrValues',
  'tokenEndpointAuthMethod',
  'userinfo',
  'idTokenSigningAlg',
  'userinfoSigningAlg',
  'claims',
  'assuranceLevel',
] as const;

const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;
// RFC 6749 Appendix A: client_id and client_secret are VSCHAR (printable ASCII).
const VSCHAR = /^[\x20-\x7e]+$/;
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
const KEY_VAULT_REFERENCE = /^@Microsoft\.KeyVault\(/;

/** Only an http issuer on a loopback host may be called without TLS (openid-client's allowInsecureRequests). */
export function isLoopbackHttpIssuer(issuer: string): boolean {
  try {
    const url = new URL(issuer);
    return url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
  } catch {
    return false;
  }
}

/**
 * Parses both settings; pushes every problem (naming the provider, never a secret) into `problems` and every
 * warning into `warnings`. Returns the providers that parsed.
 */
export function parseEidSettings(
  rawProviders: string | undefined,
  rawSecrets: string | undefined,
  problems: string[],
  warnings: string[],
): EidSettings {
  const secrets = parseSecrets(rawSecrets, rawProviders !== undefined, problems);
  if (rawProviders === undefined) {
    if (secrets && Object.keys(secrets).length > 0) warnings.push('EID_CLIENT_SECRETS is set but EID_PROVIDERS is not: no eID provider is offered');
    return { providers: [] };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(rawProviders);
  } catch {
    problems.push('EID_PROVIDERS is not valid JSON (a JSON array of providers)');
    return { providers: [] };
  }
  if (!Array.isArray(parsed)) {
    problems.push('EID_PROVIDERS must be a JSON array of providers');
    return { providers: [] };
  }
  const providers: EidProviderConfig[] = [];
  const ids = new Set<string>();
  parsed.forEach((entry: unknown, index) => {
    const provider = parseProvider(entry, index, secrets, problems);
    if (!provider) return;
    if (ids.has(provider.id)) problems.push(`EID_PROVIDERS: the id "${provider.id}" is used twice`);
    ids.add(provider.id);
    providers.push(provider);
  });
  if (secrets) {
    for (const id of Object.keys(secrets)) {
      if (!ids.has(id)) warnings.push(`EID_CLIENT_SECRETS holds a secret for "${id}", which EID_PROVIDERS does not name`);
    }
  }
  return { providers };
}

function parseSecrets(raw: string | undefined, needed: boolean, problems: string[]): Record<string, string> | null {
  if (raw === undefined) return null;
  // In Azure an app setting whose Key Vault secret does not exist keeps the reference text itself. Without providers
  // that is the normal state of a deployment that uses no eID; with providers it is a mistake.
  if (KEY_VAULT_REFERENCE.test(raw)) {
    if (needed) problems.push('EID_CLIENT_SECRETS is an unresolved Key Vault reference: store the secret eid-client-secrets in the vault (infra parameter eidClientSecrets)');
    return null;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    problems.push('EID_CLIENT_SECRETS is not valid JSON (a JSON object { "providerId": "secret" })');
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    problems.push('EID_CLIENT_SECRETS must be a JSON object { "providerId": "secret" }');
    return null;
  }
  const secrets: Record<string, string> = {};
  for (const [id, secret] of Object.entries(parsed)) {
    if (typeof secret !== 'string' || !VSCHAR.test(secret) || secret.length > 1000) {
      problems.push(`EID_CLIENT_SECRETS: the secret of "${id}" must be a non-empty string of printable ASCII characters (RFC 6749 Appendix A)`);
      continue;
    }
    secrets[id] = secret;
  }
  return secrets;
}

function parseProvider(entry: unknown, index: number, secrets: Record<string, string> | null, problems: string[]): EidProviderConfig | null {
  const where = `EID_PROVIDERS[${index}]`;
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    problems.push(`${where} must be an object`);
    return null;
  }
  const raw = entry as Record<string, unknown>;
  const before = problems.length;
  for (const key of Object.keys(raw)) {
    if (!(PROVIDER_KEYS as readonly string[]).includes(key)) problems.push(`${where}: unknown field "${key}" (a client secret belongs in EID_CLIENT_SECRETS)`);
  }
  const text = (key: string, options: { required: boolean; max: number; pattern?: RegExp; hint?: string }): string | null => {
    const value = raw[key];
    if (value === undefined || value === null) {
      if (options.required) problems.push(`${where}: ${key} is required`);
      return null;
    }
    if (typeof value !== 'string' || value.trim() === '' || value.length > options.max || (options.pattern && !options.pattern.test(value))) {
      problems.push(`${where}: ${key} must be ${options.hint ?? `a non-empty string of at most ${options.max} characters`}`);
      return null;
    }
    return value.trim();
  };
  const oneOf = <T extends string>(key: string, allowed: readonly T[], fallback: T): T => {
    const value = raw[key];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
      problems.push(`${where}: ${key} must be one of ${allowed.join(', ')}`);
      return fallback;
    }
    return value as T;
  };

  const id = text('id', { required: true, max: 40, pattern: SLUG, hint: 'a slug: lowercase letters, digits and dashes, at most 40' }) ?? `#${index}`;
  const label = text('label', { required: true, max: 100 });
  const issuerRaw = text('issuer', { required: true, max: 500 });
  const clientId = text('clientId', { required: true, max: 200, pattern: VSCHAR, hint: 'printable ASCII (RFC 6749 Appendix A), at most 200 characters' });
  const scopes = (text('scopes', { required: false, max: 1000 }) ?? 'openid profile').split(/\s+/).filter(Boolean);
  if (!scopes.includes('openid')) problems.push(`${where}: scopes must include openid`);
  const acrValues = text('acrValues', { required: false, max: 500 });
  const assuranceLevel = text('assuranceLevel', { required: false, max: 200 });
  const tokenEndpointAuthMethod = oneOf('tokenEndpointAuthMethod', EID_TOKEN_ENDPOINT_AUTH_METHODS, 'client_secret_basic');
  const userinfo = oneOf('userinfo', EID_USERINFO_FORMS, 'json');
  const idTokenSigningAlg = oneOf('idTokenSigningAlg', EID_SIGNING_ALGS, 'RS256');
  const userinfoSigningAlg = oneOf('userinfoSigningAlg', EID_SIGNING_ALGS, 'RS256');

  let issuer = '';
  if (issuerRaw !== null) {
    try {
      const url = new URL(issuerRaw);
      if (url.search || url.hash) problems.push(`${where}: issuer must not have a query or fragment`);
      else if (url.protocol !== 'https:' && !isLoopbackHttpIssuer(issuerRaw)) {
        problems.push(`${where}: issuer must be an https:// URL (http:// only for localhost, 127.0.0.1 or [::1])`);
      }
      issuer = issuerRaw.replace(/\/+$/, '');
    } catch {
      problems.push(`${where}: issuer is not a valid URL`);
    }
  }

  const claims: Record<EidClaimField, string | null> = { ...DEFAULT_CLAIM_MAPPING };
  const rawClaims = raw.claims;
  if (rawClaims !== undefined && rawClaims !== null) {
    if (typeof rawClaims !== 'object' || Array.isArray(rawClaims)) problems.push(`${where}: claims must be an object mapping our fields to provider claim names`);
    else {
      for (const [field, claim] of Object.entries(rawClaims)) {
        if (!(EID_CLAIM_FIELDS as readonly string[]).includes(field)) {
          problems.push(`${where}: claims.${field} is not one of ${EID_CLAIM_FIELDS.join(', ')}`);
        } else if (claim !== null && (typeof claim !== 'string' || claim.trim() === '' || claim.length > 300)) {
          problems.push(`${where}: claims.${field} must be a provider claim name (or null)`);
        } else {
          claims[field as EidClaimField] = claim === null ? null : claim.trim();
        }
      }
    }
  }

  const clientSecret = secrets?.[id];
  if (clientSecret === undefined && !problems.slice(before).some((problem) => problem.includes(': id '))) {
    problems.push(`${where}: EID_CLIENT_SECRETS has no secret for "${id}"`);
  }
  if (problems.length > before) return null;
  return {
    id,
    label: label!,
    issuer,
    clientId: clientId!,
    clientSecret: clientSecret!,
    scopes: scopes.join(' '),
    acrValues,
    tokenEndpointAuthMethod,
    userinfo,
    idTokenSigningAlg,
    userinfoSigningAlg,
    claims,
    assuranceLevel,
  };
}
