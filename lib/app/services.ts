/**
 * The composition root: builds every adapter once from the config. Adapters are loaded lazily (require inside
 * the branch that needs them) so a cold start only pays for what this configuration uses.
 */
import type { Config } from '../config';
import type { KeyHierarchy } from '../crypto/keyHierarchy';
import type { SigningKeys } from '../domain/tokens/signingKeys';
import type { Authenticator } from '../http/guard';
import type { BlobStore, Clock, KeyProvider, Logger, Mailer, Random, SmsSender, Store } from '../ports';
import { cryptoRandom, systemClock } from '../system';
import { createConsoleLogger } from './logger';

export interface Services {
  readonly config: Config;
  readonly clock: Clock;
  readonly random: Random;
  readonly log: Logger;
  readonly store: Store;
  readonly blobs: BlobStore;
  readonly keys: KeyProvider;
  readonly mailer: Mailer;
  /** One-time codes for the SMS factor. With `config.sms.kind === 'disabled'` the factor is not offered and this refuses. */
  readonly sms: SmsSender;
  readonly keyHierarchy: KeyHierarchy;
  /** Token signing keys (ES256), one instance per process so unwrapped keys are cached once. */
  readonly signingKeys: SigningKeys;
  readonly authenticator: Authenticator;
  close(): Promise<void>;
}

export type ServiceOverrides = Partial<Pick<Services, 'clock' | 'random' | 'log' | 'store' | 'blobs' | 'keys' | 'mailer' | 'sms'>>;

export async function createServices(config: Config, overrides: ServiceOverrides = {}): Promise<Services> {
  const clock = overrides.clock ?? systemClock;
  const random = overrides.random ?? cryptoRandom;
  const log = overrides.log ?? createConsoleLogger();
  const store = overrides.store ?? createStore(config);
  const blobs = overrides.blobs ?? createBlobStore(config);
  const keys = overrides.keys ?? createKeyProvider(config);
  const mailer = overrides.mailer ?? createMailer(config, clock);
  const sms = overrides.sms ?? createSmsSender(config, clock);
  const { KeyHierarchy } = await import('../crypto/keyHierarchy');
  const keyHierarchy = new KeyHierarchy({ store, keys, clock, random, kekCacheTtlInSeconds: config.kekCacheTtlInSeconds });
  const { SigningKeys } = await import('../domain/tokens/signingKeys');
  const signingKeys = new SigningKeys({ store, keys, clock, random });
  const { createTokenAuthenticator } = await import('../domain/auth/authenticator');
  const services: Services = {
    config,
    clock,
    random,
    log,
    store,
    blobs,
    keys,
    mailer,
    sms,
    keyHierarchy,
    signingKeys,
    // The authenticator reads sessions and keys through these same services.
    get authenticator() {
      return authenticator;
    },
    close: () => store.close(),
  };
  const authenticator = createTokenAuthenticator(services);
  return services;
}

export function createStore(config: Config): Store {
  const sql = config.sql;
  if (sql.kind === 'sqlite') {
    const { createSqliteStore } = require('../adapters/sqlite/sqliteStore') as typeof import('../adapters/sqlite/sqliteStore');
    return createSqliteStore({ file: sql.file });
  }
  const { createMssqlStore } = require('../adapters/mssql/mssqlStore') as typeof import('../adapters/mssql/mssqlStore');
  return createMssqlStore('connectionString' in sql ? { connectionString: sql.connectionString } : { server: sql.server, database: sql.database });
}

export function createBlobStore(config: Config): BlobStore {
  const blob = config.blob;
  const { createAzureBlobStore } = require('../adapters/blob/azureBlobStore') as typeof import('../adapters/blob/azureBlobStore');
  if (blob.kind === 'connection-string') return createAzureBlobStore({ connectionString: blob.connectionString });
  if (blob.kind === 'account-url') return createAzureBlobStore({ accountUrl: blob.accountUrl });
  // The embedded Azurite is a process the dev host starts and hands in as an override; a CLI command that
  // never touches blobs must not start a second Azurite on the same files.
  const unavailable = (): never => {
    throw new TypeError('Embedded Azurite is not running here: use the dev host (npm start) or set BLOB_CONNECTION_STRING');
  };
  return {
    createContainer: unavailable,
    deleteContainer: unavailable,
    upload: unavailable,
    download: unavailable,
    getProperties: unavailable,
    delete: unavailable,
    list: unavailable,
  };
}

export function createKeyProvider(config: Config): KeyProvider {
  const keys = config.keys;
  if (keys.kind === 'local') {
    const { createLocalKeyProvider } = require('../adapters/keys/localKeyProvider') as typeof import('../adapters/keys/localKeyProvider');
    return createLocalKeyProvider({ directory: keys.directory });
  }
  const { createKeyVaultKeyProvider } = require('../adapters/keys/keyVaultKeyProvider') as typeof import('../adapters/keys/keyVaultKeyProvider');
  return createKeyVaultKeyProvider({ vaultUrl: keys.vaultUrl, masterKeyName: keys.masterKeyName });
}

export function createMailer(config: Config, clock: Clock): Mailer {
  const mail = config.mail;
  if (mail.kind === 'outbox') {
    const { createOutboxMailer } = require('../adapters/mail/outboxMailer') as typeof import('../adapters/mail/outboxMailer');
    return createOutboxMailer({ directory: mail.directory, from: mail.from, clock });
  }
  const { createSendGridMailer } = require('../adapters/mail/sendGridMailer') as typeof import('../adapters/mail/sendGridMailer');
  return createSendGridMailer({ apiKey: mail.apiKey, from: mail.from, baseUrl: mail.baseUrl ?? undefined });
}

export function createSmsSender(config: Config, clock: Clock): SmsSender {
  const sms = config.sms;
  if (sms.kind === 'disabled') {
    return {
      send: async () => {
        throw new TypeError('SMS is not configured (ACS_SMS_*): the SMS factor must not be offered');
      },
    };
  }
  if (sms.kind === 'outbox') {
    const { createOutboxSmsSender } = require('../adapters/sms/outboxSmsSender') as typeof import('../adapters/sms/outboxSmsSender');
    return createOutboxSmsSender({ directory: sms.directory, clock });
  }
  const { createAcsSmsSender } = require('../adapters/sms/acsSmsSender') as typeof import('../adapters/sms/acsSmsSender');
  return 'connectionString' in sms
    ? createAcsSmsSender({ connectionString: sms.connectionString, from: sms.from })
    : createAcsSmsSender({ endpoint: sms.endpoint, from: sms.from });
}
