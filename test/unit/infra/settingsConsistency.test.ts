/**
 * Config is one truth: the settings lib/config.ts reads (SETTING_NAMES), the app settings infra/ gives the Function
 * App, and the ones local.settings.sample.json documents are the same list. A setting added to SETTING_NAMES fails
 * this suite until infra sets it (or the allow-list below says, with a reason, why infra must not) and the sample
 * documents it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, SETTING_NAMES, loadConfig, type Env } from '../../../lib/config';
import { INFRA_DIR, modules, objectLiteral, params, parseFile, type BicepFile } from './bicepText';

/**
 * Settings infra/ deliberately does not set. Every entry needs a reason; an entry that is no longer in SETTING_NAMES
 * fails the suite, so the list cannot go stale.
 */
const NOT_SET_BY_INFRA: Readonly<Record<string, string>> = {
  PORT: 'the dev host port; Azure Functions binds its own',
  DATA_DIR: 'the embedded stack (SQLite, Azurite, key files, outboxes); every store is an Azure service in Azure',
  SENDGRID_BASE_URL: 'tests only: points the SendGrid client at a loopback capture server',
  SQL_CONNECTION_STRING: 'alternative to AZURE_SQL_SERVER + AZURE_SQL_DATABASE; infra uses Entra authentication, no password',
  BLOB_CONNECTION_STRING: 'alternative to BLOB_ACCOUNT_URL that carries an account key; shared keys are disabled in infra',
  ACS_SMS_CONNECTION_STRING: 'alternative to ACS_SMS_ENDPOINT that carries an access key; infra uses the managed identity',
};

/** Read by lib/config.ts but set by the platform, not by anyone deploying: not a setting. */
const PLATFORM_VARIABLES_CONFIG_READS = ['WEBSITE_SITE_NAME'];

/** local.settings.sample.json entries for the Functions host, not for lib/config.ts. */
const SAMPLE_HOST_ENTRIES = ['FUNCTIONS_WORKER_RUNTIME', 'AzureWebJobsStorage'];

/**
 * App settings infra/ sets for the platform and the Azure SDK (modules/functionApp.bicep platformSettings). A new
 * one must be added here on purpose: FUNCTIONS_WORKER_RUNTIME, FUNCTIONS_EXTENSION_VERSION and WEBSITE_RUN_FROM_PACKAGE
 * break a Flex Consumption app, and a storage connection string would bring shared keys back.
 */
const PLATFORM_SETTINGS = [
  'AzureWebJobsStorage__accountName',
  'AzureWebJobsStorage__credential',
  'AzureWebJobsStorage__clientId',
  'APPLICATIONINSIGHTS_CONNECTION_STRING',
  'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
  'AZURE_CLIENT_ID',
  'FUNCTIONS_REQUEST_BODY_SIZE_LIMIT',
];

/**
 * What infra computes for settings that are not a plain parameter with a default (resource URLs, the Key Vault
 * reference the platform resolves, required parameters), as a deployment with default parameters produces them.
 */
const AZURE_VALUES: Readonly<Record<string, string>> = {
  PUBLIC_BASE_URL: 'https://func-connectid-abc123.azurewebsites.net',
  AZURE_SQL_SERVER: 'sql-abc123.database.windows.net',
  AZURE_SQL_DATABASE: 'connectid',
  BLOB_ACCOUNT_URL: 'https://stdataabc123.blob.core.windows.net',
  KEY_VAULT_URL: 'https://kv-abc123.vault.azure.net',
  SENDGRID_API_KEY: 'SG.the-secret-the-platform-resolved-from-key-vault',
  MAIL_FROM: 'no-reply@example.com',
  // No eID secret is stored by default, so the platform passes the reference text through unresolved.
  EID_CLIENT_SECRETS: '@Microsoft.KeyVault(SecretUri=https://kv-abc123.vault.azure.net/secrets/eid-client-secrets/)',
};

const SECRET_LIKE = /(SECRETS?|PASSWORD|API_KEY|CONNECTION_STRING|TOKEN)$/;

function readBicep(relative: string): BicepFile {
  return parseFile(relative, fs.readFileSync(path.join(INFRA_DIR, relative), 'utf8'));
}

const functionApp = readBicep('modules/functionApp.bicep');
const main = readBicep('main.bicep');
const infraSettings = objectLiteral(functionApp, 'connectidSettings');
const platformSettings = objectLiteral(functionApp, 'platformSettings');
const sampleText = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'local.settings.sample.json'), 'utf8');
const sampleValues = (JSON.parse(sampleText) as { Values: Record<string, string> }).Values;

const sorted = (names: Iterable<string>): string[] => [...new Set(names)].sort();

/** Every environment variable loadConfig reads from `env`. */
function readsOf(env: Env): Set<string> {
  const read = new Set<string>();
  const recording = new Proxy(env, {
    get(target, key) {
      if (typeof key === 'string') read.add(key);
      return Reflect.get(target, key) as unknown;
    },
  });
  try {
    loadConfig(recording);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
  }
  return read;
}

/** The env the Function App gets from infra/ with default parameters, as lib/config.ts sees it. */
function azureEnvironment(): Record<string, string> {
  const mainParams = new Map(params(main).map((param) => [param.name, param]));
  const functionAppModule = modules(main).find((module) => module.path === 'modules/functionApp.bicep');
  if (!functionAppModule) throw new Error('main.bicep does not deploy modules/functionApp.bicep');
  const env: Record<string, string> = {};
  for (const [setting, expression] of infraSettings) {
    if (setting in AZURE_VALUES) {
      env[setting] = AZURE_VALUES[setting] ?? '';
      continue;
    }
    // SETTING: param  or  SETTING: string(param), passed from main.bicep as  param: mainParam  with a default.
    const moduleParam = /^(?:string\()?(\w+)\)?$/.exec(expression)?.[1];
    const mainParam = moduleParam ? /^(\w+)$/.exec(functionAppModule.params.get(moduleParam) ?? '')?.[1] : undefined;
    const defaultValue = mainParam ? mainParams.get(mainParam)?.defaultValue : undefined;
    if (defaultValue === undefined || defaultValue === null) {
      throw new Error(`Add the value infra gives ${setting} to AZURE_VALUES (its expression is not a parameter with a default)`);
    }
    env[setting] = defaultValue.startsWith("'") ? defaultValue.slice(1, -1) : defaultValue;
  }
  return env;
}

describe('config is one truth: lib/config.ts, infra/ and local.settings.sample.json name the same settings', () => {
  test('SETTING_NAMES is exactly what lib/config.ts reads (besides the platform variables)', () => {
    const everyone = Object.fromEntries(SETTING_NAMES.map((name) => [name, 'x']));
    const sample = Object.fromEntries(Object.entries(sampleValues).filter(([name]) => !SAMPLE_HOST_ENTRIES.includes(name)));
    const reads = new Set<string>();
    for (const env of [{}, everyone, sample, { ...azureEnvironment(), WEBSITE_SITE_NAME: 'func-connectid-abc123' }]) {
      for (const name of readsOf(env)) reads.add(name);
    }
    expect(sorted(reads)).toEqual(sorted([...SETTING_NAMES, ...PLATFORM_VARIABLES_CONFIG_READS]));
  });

  test('infra/ sets every setting except the allow-listed local, test-only and shared-key ones', () => {
    const expected = SETTING_NAMES.filter((name) => !(name in NOT_SET_BY_INFRA));
    expect(sorted(infraSettings.keys())).toEqual(sorted(expected));
  });

  test('the allow-list names only current settings', () => {
    const stale = Object.keys(NOT_SET_BY_INFRA).filter((name) => !(SETTING_NAMES as readonly string[]).includes(name));
    expect(stale).toEqual([]);
  });

  test('local.settings.sample.json documents every setting, once, and nothing else', () => {
    const documented = Object.keys(sampleValues).filter((name) => !SAMPLE_HOST_ENTRIES.includes(name));
    expect(sorted(documented)).toEqual(sorted(SETTING_NAMES));
    for (const name of Object.keys(sampleValues)) {
      // JSON.parse keeps the last of two equal keys silently.
      expect({ name, occurrences: sampleText.split(`"${name}":`).length - 1 }).toEqual({ name, occurrences: 1 });
    }
  });

  test('the platform settings infra/ adds are the known, keyless ones', () => {
    expect(sorted(platformSettings.keys())).toEqual(sorted(PLATFORM_SETTINGS));
    const overlap = [...platformSettings.keys()].filter((name) => infraSettings.has(name));
    expect(overlap).toEqual([]);
  });

  test('inside Azure, lib/config.ts accepts what infra/ sets with default parameters', () => {
    const env: Record<string, string> = { ...azureEnvironment(), WEBSITE_SITE_NAME: 'func-connectid-abc123' };
    const config = loadConfig(env);
    expect(config).toMatchObject({
      runningInAzure: true,
      sql: { kind: 'mssql', server: env.AZURE_SQL_SERVER, database: env.AZURE_SQL_DATABASE },
      blob: { kind: 'account-url', accountUrl: env.BLOB_ACCOUNT_URL },
      keys: { kind: 'key-vault', vaultUrl: env.KEY_VAULT_URL },
      mail: { kind: 'sendgrid', from: env.MAIL_FROM },
    });
  });

  test('infra/ defaults are lib/config.ts defaults: leaving them out changes nothing', () => {
    const env = { ...azureEnvironment(), WEBSITE_SITE_NAME: 'func-connectid-abc123' };
    const withoutDefaults = Object.fromEntries(Object.entries(env).filter(([name]) => name in AZURE_VALUES || name === 'WEBSITE_SITE_NAME'));
    expect(loadConfig(env)).toEqual(loadConfig(withoutDefaults));
  });

  test('secret settings reach the app only as Key Vault references to secrets infra/ creates from @secure() parameters', () => {
    const keyVaultModule = modules(main).find((module) => module.path === 'modules/keyVault.bicep');
    const functionAppModule = modules(main).find((module) => module.path === 'modules/functionApp.bicep');
    const secretValues = parseFile('secretValues', `var secretValues = ${keyVaultModule?.params.get('secretValues') ?? '{}'}`);
    const created = objectLiteral(secretValues, 'secretValues');
    const secretNames = objectLiteral(main, 'secretNames');
    const secureMainParams = new Set(params(main).filter((param) => param.decorators.includes('@secure()')).map((param) => param.name));

    const secretSettings = [...infraSettings.keys()].filter((name) => SECRET_LIKE.test(name));
    expect(secretSettings.length).toBeGreaterThan(0);
    for (const setting of secretSettings) {
      const reference = /^'@Microsoft\.KeyVault\(SecretUri=\$\{keyVaultUrl\}\/secrets\/\$\{(\w+)\}\/\)'$/.exec(infraSettings.get(setting) ?? '');
      expect({ setting, isKeyVaultReference: Boolean(reference) }).toEqual({ setting, isKeyVaultReference: true });
      const nameExpression = functionAppModule?.params.get(reference?.[1] ?? '') ?? '';
      const key = /^secretNames\.(\w+)$/.exec(nameExpression)?.[1] ?? '';
      expect({ setting, secretName: secretNames.has(key) }).toEqual({ setting, secretName: true });
      const valueParam = created.get(`\${secretNames.${key}}`) ?? '';
      expect({ setting, createdFromSecureParam: secureMainParams.has(valueParam) }).toEqual({ setting, createdFromSecureParam: true });
    }
    // And no secret-looking value is spelled out anywhere else in the app settings.
    for (const [name, value] of [...infraSettings, ...platformSettings]) {
      expect({ name, value: /AccountKey=|SharedAccessSignature=|AccessKey=/i.test(value) }).toEqual({ name, value: false });
    }
  });

  test('local.settings.sample.json holds no secret value, only placeholders and Key Vault references', () => {
    for (const name of SETTING_NAMES.filter((setting) => SECRET_LIKE.test(setting))) {
      const value = sampleValues[name] ?? '';
      expect({ name, placeholder: value === '' || value.startsWith('@Microsoft.KeyVault(') || value.includes('<') }).toEqual({
        name,
        placeholder: true,
      });
    }
  });
});
