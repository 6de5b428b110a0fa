import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig, SETTING_NAMES } from '../../lib/config';

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

  test('SMS: an outbox under DATA_DIR by default; ACS with a connection string or an endpoint, and a sender', () => {
    expect(loadConfig({}, '/srv/app').sms).toEqual({ kind: 'outbox', directory: path.resolve('/srv/app/.data/sms-outbox') });
    expect(loadConfig({ ACS_SMS_CONNECTION_STRING: 'endpoint=https://x.communication.azure.com/;accesskey=k', ACS_SMS_FROM: '+18005550100' }).sms).toEqual({
      kind: 'acs',
      connectionString: 'endpoint=https://x.communication.azure.com/;accesskey=k',
      from: '+18005550100',
    });
    expect(loadConfig({ ACS_SMS_ENDPOINT: 'https://x.communication.azure.com/', ACS_SMS_FROM: 'Connectid' }).sms).toEqual({
      kind: 'acs',
      endpoint: 'https://x.communication.azure.com',
      from: 'Connectid',
    });
    const problemsOf = (env: Record<string, string>) => {
      try {
        loadConfig(env);
        return [];
      } catch (error) {
        return (error as ConfigError).problems;
      }
    };
    expect(problemsOf({ ACS_SMS_ENDPOINT: 'https://x.communication.azure.com' }).join()).toMatch(/ACS_SMS_FROM is required/);
    expect(problemsOf({ ACS_SMS_ENDPOINT: 'https://x', ACS_SMS_CONNECTION_STRING: 'y', ACS_SMS_FROM: '+18005550100' }).join()).toMatch(/not both/);
    expect(problemsOf({ ACS_SMS_FROM: '+18005550100' }).join()).toMatch(/needs ACS_SMS_CONNECTION_STRING/);
    expect(problemsOf({ ACS_SMS_ENDPOINT: 'https://x.communication.azure.com', ACS_SMS_FROM: '0701234567' }).join()).toMatch(/E\.164/);
  });

  test('SMS in Azure without ACS settings: the factor is not offered, never an outbox on the server', () => {
    const config = loadConfig({
      WEBSITE_SITE_NAME: 'connectid-func',
      PUBLIC_BASE_URL: 'https://connectid.example.com',
      AZURE_SQL_SERVER: 'x.database.windows.net',
      AZURE_SQL_DATABASE: 'connectid',
      BLOB_ACCOUNT_URL: 'https://acct.blob.core.windows.net',
      KEY_VAULT_URL: 'https://vault.vault.azure.net',
      SENDGRID_API_KEY: 'SG.secret',
      MAIL_FROM: 'no-reply@example.com',
    });
    expect(config.sms).toEqual({ kind: 'disabled' });
    expect(config.warnings.join()).toMatch(/SMS factor is not offered/);
    expect(config.webauthn).toEqual({ rpId: 'connectid.example.com', rpName: 'Connectid', origin: 'https://connectid.example.com' });
  });

  test('WebAuthn: the relying party is the public origin unless set, and its ID must cover the origin', () => {
    expect(loadConfig({}).webauthn).toEqual({ rpId: 'localhost', rpName: 'Connectid', origin: 'http://localhost:7071' });
    expect(loadConfig({ PUBLIC_BASE_URL: 'https://api.connectid.example', WEBAUTHN_RP_ID: 'connectid.example', WEBAUTHN_ORIGIN: 'https://portal.connectid.example', WEBAUTHN_RP_NAME: 'Connectid Test' }).webauthn).toEqual({
      rpId: 'connectid.example',
      rpName: 'Connectid Test',
      origin: 'https://portal.connectid.example',
    });
    expect(() => loadConfig({ WEBAUTHN_RP_ID: 'other.example' })).toThrow(/WEBAUTHN_RP_ID/);
    expect(() => loadConfig({ WEBAUTHN_ORIGIN: 'https://connectid.example/portal', WEBAUTHN_RP_ID: 'connectid.example' })).toThrow(/WEBAUTHN_ORIGIN/);
    expect(() => loadConfig({ WEBAUTHN_RP_ID: 'https://localhost' })).toThrow(/domain name/);
  });

  test('every setting is listed in local.settings.sample.json and in the README settings table', () => {
    const root = path.resolve(__dirname, '../..');
    const sample = JSON.parse(fs.readFileSync(path.join(root, 'local.settings.sample.json'), 'utf8')) as { Values: Record<string, string> };
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    for (const name of SETTING_NAMES) {
      expect({ name, inSample: name in sample.Values }).toEqual({ name, inSample: true });
      expect({ name, inReadme: readme.includes(`\`${name}\``) }).toEqual({ name, inReadme: true });
    }
  });
});
