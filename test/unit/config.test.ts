import path from 'node:path';
import { ConfigError, loadConfig } from '../../lib/config';

describe('configuration', () => {
  test('with no settings at all, every adapter is embedded under DATA_DIR', () => {
    const config = loadConfig({}, '/srv/app');
    expect(config.port).toBe(7071);
    expect(config.dataDir).toBe(path.resolve('/srv/app/.data'));
    expect(config.sql).toEqual({ kind: 'sqlite', file: path.resolve('/srv/app/.data/connectid.sqlite') });
    expect(config.blob.kind).toBe('azurite-embedded');
    expect(config.keys.kind).toBe('local');
    expect(config.mail.kind).toBe('outbox');
    expect(config.publicBaseUrl).toBe('http://localhost:7071');
    expect(config.warnings.length).toBeGreaterThan(0);
  });

  test('the config is frozen, all the way down', () => {
    const config = loadConfig({}, '/srv/app');
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.sql)).toBe(true);
  });

  test('Azure settings switch each adapter', () => {
    const config = loadConfig({
      AZURE_SQL_SERVER: 'x.database.windows.net',
      AZURE_SQL_DATABASE: 'connectid',
      BLOB_ACCOUNT_URL: 'https://acct.blob.core.windows.net/',
      KEY_VAULT_URL: 'https://vault.vault.azure.net',
      SENDGRID_API_KEY: 'SG.secret',
      MAIL_FROM: 'no-reply@example.com',
    });
    expect(config.sql).toEqual({ kind: 'mssql', server: 'x.database.windows.net', database: 'connectid' });
    expect(config.blob).toEqual({ kind: 'account-url', accountUrl: 'https://acct.blob.core.windows.net' });
    expect(config.keys).toEqual({ kind: 'key-vault', vaultUrl: 'https://vault.vault.azure.net', masterKeyName: 'connectid-master' });
    expect(config.mail).toMatchObject({ kind: 'sendgrid', from: 'no-reply@example.com' });
  });

  test('one error lists every bad setting at once', () => {
    let caught: unknown;
    try {
      loadConfig({ PORT: 'eighty', AZURE_SQL_SERVER: 'x', SENDGRID_API_KEY: 'k', KEY_VAULT_URL: 'http://insecure', KEK_CACHE_TTL_SECONDS: '301' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const problems = (caught as ConfigError).problems.join('\n');
    expect(problems).toMatch(/PORT/);
    expect(problems).toMatch(/AZURE_SQL_DATABASE/);
    expect(problems).toMatch(/MAIL_FROM/);
    expect(problems).toMatch(/KEY_VAULT_URL/);
    expect(problems).toMatch(/KEK_CACHE_TTL_SECONDS/);
    expect((caught as ConfigError).problems).toHaveLength(5);
  });

  test('inside Azure, a missing group is an error instead of a silent local fallback', () => {
    expect(() => loadConfig({ WEBSITE_SITE_NAME: 'connectid-func' })).toThrow(ConfigError);
    try {
      loadConfig({ WEBSITE_SITE_NAME: 'connectid-func' });
    } catch (error) {
      expect((error as ConfigError).problems.join('\n')).toMatch(/KEY_VAULT_URL.*required/);
    }
  });

  test('DATA_DIR and PORT let two local instances run side by side', () => {
    const a = loadConfig({ DATA_DIR: 'a', PORT: '7101' }, '/w');
    const b = loadConfig({ DATA_DIR: 'b', PORT: '7102' }, '/w');
    expect(a.sql).not.toEqual(b.sql);
    expect(a.publicBaseUrl).toBe('http://localhost:7101');
    expect(b.port).toBe(7102);
  });
});
