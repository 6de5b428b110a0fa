/**
 * Every setting, read once, validated once, frozen. A bad or missing setting is a start-up failure that
 * lists every problem at once (ConfigError), never a 4xx at request time.
 *
 * With no Azure settings at all the app runs on embedded defaults: Azurite, SQLite, local key files and a
 * mail outbox (and an SMS outbox), all under DATA_DIR. Each Azure group (SQL, Blob, Key Vault, SendGrid, ACS SMS)
 * switches its own adapter; inside Azure (WEBSITE_SITE_NAME is set by the platform) every group is required, so a
 * missing setting can never silently fall back to local files on a server. SMS is the exception: without ACS
 * settings in Azure the SMS factor is simply not offered.
 */
import path from 'node:path';
import { parseEidSettings, type EidSettings } from './domain/eid/settings';

export class ConfigError extends TypeError {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export type SqlConfig =
  | { readonly kind: 'sqlite'; readonly file: string }
  | { readonly kind: 'mssql'; readonly connectionString: string }
  | { readonly kind: 'mssql'; readonly server: string; readonly database: string };

export type BlobConfig =
  | { readonly kind: 'azurite-embedded'; readonly location: string }
  | { readonly kind: 'connection-string'; readonly connectionString: string }
  | { readonly kind: 'account-url'; readonly accountUrl: string };

export type KeysConfig =
  | { readonly kind: 'local'; readonly directory: string }
  | { readonly kind: 'key-vault'; readonly vaultUrl: string; readonly masterKeyName: string };

export type MailConfig =
  | { readonly kind: 'outbox'; readonly directory: string; readonly from: string }
  | { readonly kind: 'sendgrid'; readonly apiKey: string; readonly from: string; readonly baseUrl: string | null };

export type SmsConfig =
  | { readonly kind: 'outbox'; readonly directory: string }
  | { readonly kind: 'acs'; readonly connectionString: string; readonly from: string }
  | { readonly kind: 'acs'; readonly endpoint: string; readonly from: string }
  /** In Azure without ACS settings: the SMS factor is not offered (never a silent local outbox on a server). */
  | { readonly kind: 'disabled' };

/** WebAuthn relying party (W3C WebAuthn Level 3 §5.1.4): the RP ID is a registrable domain of the origin. */
export interface WebAuthnConfig {
  readonly rpId: string;
  readonly rpName: string;
  /** The exact origin (scheme, host, port) the browser reports in clientDataJSON. */
  readonly origin: string;
}

export interface Config {
  readonly port: number;
  readonly dataDir: string;
  /** Public origin of the API (issuer of tokens, links in emails). No trailing slash. */
  readonly publicBaseUrl: string;
  readonly sql: SqlConfig;
  readonly blob: BlobConfig;
  readonly keys: KeysConfig;
  readonly mail: MailConfig;
  readonly sms: SmsConfig;
  readonly webauthn: WebAuthnConfig;
  /** Third-party eID providers (OpenID Connect); none = the eID factor and identity proof are off. */
  readonly eid: EidSettings;
  /** How long an unwrapped organization KEK may stay in memory (DESIGN §4: at most 5 minutes). */
  readonly kekCacheTtlInSeconds: number;
  readonly maxJsonBodyBytes: number;
  /** Largest delivery item accepted, in bytes (Content-Length is required and checked before reading). */
  readonly maxItemBytes: number;
  readonly runningInAzure: boolean;
  /** Human-readable warnings about dev-only defaults, printed loudly at start. */
  readonly warnings: readonly string[];
}

/** Every environment variable the config reads. Infra and local.settings.sample.json must match it. */
export const SETTING_NAMES = [
  'PORT',
  'DATA_DIR',
  'PUBLIC_BASE_URL',
  'SQL_CONNECTION_STRING',
  'AZURE_SQL_SERVER',
  'AZURE_SQL_DATABASE',
  'BLOB_CONNECTION_STRING',
  'BLOB_ACCOUNT_URL',
  'KEY_VAULT_URL',
  'MASTER_KEY_NAME',
  'SENDGRID_API_KEY',
  'SENDGRID_BASE_URL',
  'MAIL_FROM',
  'KEK_CACHE_TTL_SECONDS',
  'MAX_JSON_BODY_BYTES',
  'MAX_ITEM_BYTES',
  'ACS_SMS_CONNECTION_STRING',
  'ACS_SMS_ENDPOINT',
  'ACS_SMS_FROM',
  'WEBAUTHN_RP_ID',
  'WEBAUTHN_RP_NAME',
  'WEBAUTHN_ORIGIN',
  'EID_PROVIDERS',
  'EID_CLIENT_SECRETS',
] as const;

export type SettingName = (typeof SETTING_NAMES)[number];
export type Env = Readonly<Record<string, string | undefined>>;

export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): Config {
  const problems: string[] = [];
  const warnings: string[] = [];
  const get = (name: SettingName): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const integer = (name: SettingName, fallback: number, min: number, max: number): number => {
    const raw = get(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return value;
  };
  const url = (name: SettingName, raw: string, requireHttps: boolean): string => {
    try {
      const parsed = new URL(raw);
      if (requireHttps && parsed.protocol !== 'https:') problems.push(`${name} must be an https:// URL`);
      else if (!['http:', 'https:'].includes(parsed.protocol)) problems.push(`${name} must be an http(s) URL`);
    } catch {
      problems.push(`${name} is not a valid URL`);
    }
    return raw.replace(/\/+$/, '');
  };

  const runningInAzure = Boolean(env.WEBSITE_SITE_NAME);
  const port = integer('PORT', 7071, 0, 65535);
  const dataDir = path.resolve(cwd, get('DATA_DIR') ?? '.data');

  const publicBaseUrlRaw = get('PUBLIC_BASE_URL');
  let publicBaseUrl: string;
  if (publicBaseUrlRaw) publicBaseUrl = url('PUBLIC_BASE_URL', publicBaseUrlRaw, runningInAzure);
  else {
    publicBaseUrl = `http://localhost:${port}`;
    if (runningInAzure) problems.push('PUBLIC_BASE_URL is required in Azure (the https origin clients call)');
  }

  // SQL
  let sql: SqlConfig;
  const sqlConnectionString = get('SQL_CONNECTION_STRING');
  const azureSqlServer = get('AZURE_SQL_SERVER');
  const azureSqlDatabase = get('AZURE_SQL_DATABASE');
  if (sqlConnectionString && (azureSqlServer || azureSqlDatabase)) {
    problems.push('Set either SQL_CONNECTION_STRING or AZURE_SQL_SERVER + AZURE_SQL_DATABASE, not both');
  }
  if (sqlConnectionString) sql = { kind: 'mssql', connectionString: sqlConnectionString };
  else if (azureSqlServer || azureSqlDatabase) {
    if (!azureSqlServer) problems.push('AZURE_SQL_SERVER is required with AZURE_SQL_DATABASE');
    if (!azureSqlDatabase) problems.push('AZURE_SQL_DATABASE is required with AZURE_SQL_SERVER');
    sql = { kind: 'mssql', server: azureSqlServer ?? '', database: azureSqlDatabase ?? '' };
  } else {
    sql = { kind: 'sqlite', file: path.join(dataDir, 'connectid.sqlite') };
    if (runningInAzure) problems.push('AZURE_SQL_SERVER and AZURE_SQL_DATABASE are required in Azure');
  }

  // Blob
  let blob: BlobConfig;
  const blobConnectionString = get('BLOB_CONNECTION_STRING');
  const blobAccountUrl = get('BLOB_ACCOUNT_URL');
  if (blobConnectionString && blobAccountUrl) problems.push('Set either BLOB_CONNECTION_STRING or BLOB_ACCOUNT_URL, not both');
  if (blobAccountUrl) blob = { kind: 'account-url', accountUrl: url('BLOB_ACCOUNT_URL', blobAccountUrl, true) };
  else if (blobConnectionString) blob = { kind: 'connection-string', connectionString: blobConnectionString };
  else {
    blob = { kind: 'azurite-embedded', location: path.join(dataDir, 'azurite') };
    if (runningInAzure) problems.push('BLOB_ACCOUNT_URL is required in Azure');
  }

  // Keys
  let keys: KeysConfig;
  const keyVaultUrl = get('KEY_VAULT_URL');
  const masterKeyName = get('MASTER_KEY_NAME') ?? 'connectid-master';
  if (!/^[0-9a-zA-Z-]{1,127}$/.test(masterKeyName)) problems.push('MASTER_KEY_NAME may hold only letters, digits and dashes');
  if (keyVaultUrl) keys = { kind: 'key-vault', vaultUrl: url('KEY_VAULT_URL', keyVaultUrl, true), masterKeyName };
  else {
    keys = { kind: 'local', directory: path.join(dataDir, 'keys') };
    if (runningInAzure) problems.push('KEY_VAULT_URL is required in Azure');
    else warnings.push(`Using local master key files under ${path.join(dataDir, 'keys')} (development only; use Key Vault in production)`);
  }

  // Mail
  let mail: MailConfig;
  const sendgridApiKey = get('SENDGRID_API_KEY');
  const mailFrom = get('MAIL_FROM');
  if (mailFrom !== undefined && !/^[^\s@<>]+@[^\s@<>]+$/.test(mailFrom)) problems.push('MAIL_FROM must be an email address');
  const sendgridBaseUrl = get('SENDGRID_BASE_URL');
  if (sendgridApiKey) {
    if (!mailFrom) problems.push('MAIL_FROM is required with SENDGRID_API_KEY');
    mail = {
      kind: 'sendgrid',
      apiKey: sendgridApiKey,
      from: mailFrom ?? '',
      baseUrl: sendgridBaseUrl ? url('SENDGRID_BASE_URL', sendgridBaseUrl, false) : null,
    };
  } else {
    if (sendgridBaseUrl) problems.push('SENDGRID_BASE_URL needs SENDGRID_API_KEY');
    mail = { kind: 'outbox', directory: path.join(dataDir, 'outbox'), from: mailFrom ?? 'no-reply@connectid.localhost' };
    if (runningInAzure) problems.push('SENDGRID_API_KEY and MAIL_FROM are required in Azure');
  }

  // SMS (one-time codes for the SMS factor)
  let sms: SmsConfig;
  const acsConnectionString = get('ACS_SMS_CONNECTION_STRING');
  const acsEndpoint = get('ACS_SMS_ENDPOINT');
  const acsFrom = get('ACS_SMS_FROM');
  if (acsConnectionString && acsEndpoint) problems.push('Set either ACS_SMS_CONNECTION_STRING or ACS_SMS_ENDPOINT, not both');
  if (acsConnectionString || acsEndpoint) {
    if (!acsFrom) problems.push('ACS_SMS_FROM is required with ACS_SMS_CONNECTION_STRING or ACS_SMS_ENDPOINT');
    else if (!/^\+[1-9]\d{6,14}$/.test(acsFrom) && !/^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$/.test(acsFrom)) {
      problems.push('ACS_SMS_FROM must be an E.164 number (+ and digits) or an alphanumeric sender id of at most 11 characters');
    }
    sms = acsConnectionString
      ? { kind: 'acs', connectionString: acsConnectionString, from: acsFrom ?? '' }
      : { kind: 'acs', endpoint: url('ACS_SMS_ENDPOINT', acsEndpoint ?? '', true), from: acsFrom ?? '' };
  } else {
    if (acsFrom) problems.push('ACS_SMS_FROM needs ACS_SMS_CONNECTION_STRING or ACS_SMS_ENDPOINT');
    if (runningInAzure) {
      sms = { kind: 'disabled' };
      warnings.push('No ACS_SMS_* settings: the SMS factor is not offered');
    } else sms = { kind: 'outbox', directory: path.join(dataDir, 'sms-outbox') };
  }

  // WebAuthn: by default the relying party is the public origin, which also serves the portal.
  const webauthnOriginRaw = get('WEBAUTHN_ORIGIN');
  const webauthnOrigin = webauthnOriginRaw ? url('WEBAUTHN_ORIGIN', webauthnOriginRaw, runningInAzure) : publicBaseUrl;
  let originHost = '';
  let origin = webauthnOrigin;
  try {
    const parsed = new URL(webauthnOrigin);
    originHost = parsed.hostname;
    origin = parsed.origin;
    if (parsed.pathname !== '/' || parsed.search || parsed.hash) problems.push('WEBAUTHN_ORIGIN is an origin: scheme, host and port only');
  } catch {
    // url() reported it already.
  }
  const rpId = (get('WEBAUTHN_RP_ID') ?? (originHost || 'localhost')).toLowerCase();
  if (!/^[a-z0-9.-]+$/.test(rpId)) problems.push('WEBAUTHN_RP_ID is a domain name (e.g. connectid.example.com), without scheme or port');
  else if (originHost && originHost !== rpId && !originHost.endsWith(`.${rpId}`)) {
    problems.push(`WEBAUTHN_RP_ID (${rpId}) must be the host of WEBAUTHN_ORIGIN or a parent domain of it`);
  }
  const rpName = get('WEBAUTHN_RP_NAME') ?? 'Connectid';
  if (rpName.length > 64) problems.push('WEBAUTHN_RP_NAME has at most 64 characters');
  const webauthn: WebAuthnConfig = { rpId, rpName, origin };

  // Third-party eID (OpenID Connect): lib/domain/eid/settings.ts validates both settings together.
  const eid = parseEidSettings(get('EID_PROVIDERS'), get('EID_CLIENT_SECRETS'), problems, warnings);

  const kekCacheTtlInSeconds = integer('KEK_CACHE_TTL_SECONDS', 300, 0, 300);
  const maxJsonBodyBytes = integer('MAX_JSON_BODY_BYTES', 1024 * 1024, 1024, 16 * 1024 * 1024);
  const maxItemBytes = integer('MAX_ITEM_BYTES', 100 * 1000 * 1000, 1, 5 * 1024 * 1024 * 1024);

  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze({
    port,
    dataDir,
    publicBaseUrl,
    sql,
    blob,
    keys,
    mail,
    sms,
    webauthn,
    eid,
    kekCacheTtlInSeconds,
    maxJsonBodyBytes,
    maxItemBytes,
    runningInAzure,
    warnings,
  });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
