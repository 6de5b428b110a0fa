/**
 * The security properties of infra/ (issue 7), read from the Bicep text so that a regression fails CI without the
 * Bicep CLI or an Azure subscription: shared keys off, public blob access off, TLS minimums, Key Vault purge
 * protection, Entra-only SQL, no basic publishing credentials, least-privilege role assignments in one module,
 * diagnostic settings. The last tests flip one property at a time and prove the checks notice.
 */
import fs from 'node:fs';
import path from 'node:path';
import { objectLiteral, outputs, params, parseFile, readInfra, resources, type BicepFile, type BicepResource } from './bicepText';

const DEPLOY_DOC = path.join(__dirname, '..', '..', '..', 'docs', 'deploy.md');

/** Built-in role definition ids infra/ may grant, by the name roles.bicep gives them. */
const ALLOWED_ROLES: Readonly<Record<string, string>> = {
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe',
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
  keyVaultCryptoUser: '12338af0-0e69-4776-bea7-57ae8d297424',
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6',
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb',
};

/** Parameters whose names look secret but are not, with the reason. */
const NOT_SECRET_PARAMS: Readonly<Record<string, string>> = {
  applicationInsightsConnectionString: 'local authentication is disabled: it names the ingestion endpoint and grants nothing',
};

/** Roles that must appear nowhere in infra/: they manage resources or access, not data. */
const FORBIDDEN_ROLES: Readonly<Record<string, string>> = {
  Owner: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635',
  Contributor: 'b24988ac-6180-42a0-ab88-20f7382dd24c',
  'User Access Administrator': '18d7d88d-d35e-4fb5-a5c3-7773c20a72d9',
  'Role Based Access Control Administrator': 'f58310d9-a9f6-439a-9e8d-f62e7b41a168',
  'Key Vault Administrator': '00482a5a-887f-4fb3-b363-3b7fe8e74483',
  'Key Vault Crypto Officer': '14b46e9e-c2b7-41b4-b07b-48a6ebf60603',
  'Key Vault Secrets Officer': 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7',
  'Storage Account Contributor': '17d1049b-9a84-46fb-8f53-869881c3d3ab',
  'SQL Server Contributor': '6d8ee4ec-f05a-4a1d-8b00-a9b17e38b437',
};

/**
 * Every role assignment, exactly: who, what, where. Storage Blob Data Owner is on the app storage account only
 * (Functions host storage, as Microsoft documents for identity-based AzureWebJobsStorage); the data account,
 * which holds personal data, gets Contributor.
 */
const EXPECTED_ASSIGNMENTS = [
  'app storageBlobDataContributor on dataStorage',
  'app storageBlobDataOwner on appStorage',
  'app keyVaultCryptoUser on masterKey',
  'app keyVaultSecretsUser on vault',
  'app monitoringMetricsPublisher on applicationInsights',
  'operator keyVaultCryptoUser on masterKey',
].sort();

function property(resource: BicepResource, name: string, value: string): boolean {
  return new RegExp(`(^|[\\s{])${name}\\s*:\\s*${value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*($|[\\n}])`, 'm').test(resource.body);
}

function states(resource: BicepResource, name: string): boolean {
  return new RegExp(`(^|[\\s{])${name}\\s*:`, 'm').test(resource.body);
}

/** Every security problem in a set of infra files (relative path → text); [] when all is well. */
export function securityProblems(texts: ReadonlyMap<string, string>): string[] {
  const problems: string[] = [];
  const files: BicepFile[] = [...texts].map(([name, text]) => parseFile(name, text));
  const all = files.flatMap((file) => resources(file));
  const declared = all.filter((resource) => !resource.existing);
  const ofType = (type: string) => declared.filter((resource) => resource.type === type);
  const require = (resource: BicepResource, name: string, value: string, why: string) => {
    if (!property(resource, name, value)) problems.push(`${resource.file} ${resource.symbol}: ${name} must be ${value} (${why})`);
  };
  const requireOne = (type: string) => {
    const found = ofType(type);
    if (found.length === 0) problems.push(`no ${type} resource found`);
    return found;
  };

  for (const account of requireOne('Microsoft.Storage/storageAccounts')) {
    require(account, 'allowSharedKeyAccess', 'false', 'no account keys or key-signed SAS');
    require(account, 'allowBlobPublicAccess', 'false', 'no anonymous blob access');
    require(account, 'minimumTlsVersion', "'TLS1_2'", 'TLS 1.2 minimum');
    require(account, 'supportsHttpsTrafficOnly', 'true', 'https only');
    require(account, 'defaultToOAuthAuthentication', 'true', 'Entra by default in the portal too');
    require(account, 'allowCrossTenantReplication', 'false', 'no replication out of the tenant');
    if (!states(account, 'publicNetworkAccess')) problems.push(`${account.file} ${account.symbol}: publicNetworkAccess must be stated (documented choice)`);
  }
  for (const blobService of requireOne('Microsoft.Storage/storageAccounts/blobServices')) {
    for (const name of ['deleteRetentionPolicy', 'containerDeleteRetentionPolicy', 'isVersioningEnabled']) {
      if (!states(blobService, name)) problems.push(`${blobService.file} ${blobService.symbol}: ${name} must be stated (documented choice)`);
    }
  }
  for (const container of ofType('Microsoft.Storage/storageAccounts/blobServices/containers')) {
    require(container, 'publicAccess', "'None'", 'private containers');
  }

  for (const vault of requireOne('Microsoft.KeyVault/vaults')) {
    require(vault, 'enableRbacAuthorization', 'true', 'Azure RBAC, no access policies');
    require(vault, 'enableSoftDelete', 'true', 'a deleted master key stays recoverable');
    require(vault, 'enablePurgeProtection', 'true', 'nobody can purge the master key early');
    require(vault, 'softDeleteRetentionInDays', '90', 'longest recovery window');
    if (states(vault, 'accessPolicies')) problems.push(`${vault.file} ${vault.symbol}: no access policies (RBAC only)`);
    if (!states(vault, 'publicNetworkAccess')) problems.push(`${vault.file} ${vault.symbol}: publicNetworkAccess must be stated (documented choice)`);
  }
  for (const key of requireOne('Microsoft.KeyVault/vaults/keys')) {
    require(key, 'keySize', '4096', 'RSA-4096 master key (DESIGN §4)');
    if (!/kty:\s*useHsm \? 'RSA-HSM' : 'RSA'/.test(key.body)) problems.push(`${key.file} ${key.symbol}: kty must be RSA or RSA-HSM`);
    if (!/rotationPolicy:[\s\S]*type:\s*'rotate'/.test(key.body)) problems.push(`${key.file} ${key.symbol}: a rotation policy must rotate the key`);
  }

  for (const server of requireOne('Microsoft.Sql/servers')) {
    require(server, 'azureADOnlyAuthentication', 'true', 'Microsoft Entra-only authentication');
    require(server, 'administratorType', "'ActiveDirectory'", 'an Entra admin, no SQL admin');
    require(server, 'minimalTlsVersion', "'1.2'", 'TLS 1.2 minimum');
    if (states(server, 'administratorLogin') || states(server, 'administratorLoginPassword')) {
      problems.push(`${server.file} ${server.symbol}: no SQL administrator login or password`);
    }
    if (!states(server, 'publicNetworkAccess')) problems.push(`${server.file} ${server.symbol}: publicNetworkAccess must be stated (documented choice)`);
  }
  for (const entraOnly of requireOne('Microsoft.Sql/servers/azureADOnlyAuthentications')) {
    require(entraOnly, 'azureADOnlyAuthentication', 'true', 'Microsoft Entra-only authentication, re-asserted');
  }

  for (const site of requireOne('Microsoft.Web/sites')) {
    require(site, 'httpsOnly', 'true', 'https only');
    require(site, 'minTlsVersion', "'1.2'", 'TLS 1.2 minimum');
    require(site, 'scmMinTlsVersion', "'1.2'", 'TLS 1.2 minimum on the deployment endpoint');
    require(site, 'ftpsState', "'Disabled'", 'no FTP');
    require(site, 'type', "'UserAssigned'", 'the user-assigned managed identity');
    require(site, 'type', "'UserAssignedIdentity'", 'deployment storage through the managed identity');
    require(site, 'keyVaultReferenceIdentity', 'identityId', 'Key Vault references resolved with the managed identity');
    if (!/runtime:\s*\{\s*name:\s*'node'\s*version:\s*'20'\s*\}/.test(site.body)) problems.push(`${site.file} ${site.symbol}: runtime must be node 20`);
    if (!states(site, 'publicNetworkAccess')) problems.push(`${site.file} ${site.symbol}: publicNetworkAccess must be stated (documented choice)`);
  }
  const credentialPolicies = ofType('Microsoft.Web/sites/basicPublishingCredentialsPolicies');
  for (const name of ['ftp', 'scm']) {
    const policy = credentialPolicies.find((resource) => property(resource, 'name', `'${name}'`));
    if (!policy || !property(policy, 'allow', 'false')) problems.push(`basic publishing credentials for ${name} must be off`);
  }
  for (const plan of requireOne('Microsoft.Web/serverfarms')) {
    require(plan, 'tier', "'FlexConsumption'", 'Flex Consumption plan');
    require(plan, 'name', "'FC1'", 'Flex Consumption plan');
  }
  for (const component of requireOne('Microsoft.Insights/components')) {
    require(component, 'DisableLocalAuth', 'true', 'telemetry ingestion with Entra only');
  }

  // Keys and key-bearing strings nowhere.
  for (const file of files) {
    const patterns: [RegExp, string][] = [
      [/\blistKeys\s*\(|\.listKeys\s*\(|listConnectionStrings|listAccountSas|listServiceSas/, 'reads a key or SAS'],
      [/AccountKey=|SharedAccessSignature=|AccessKey=/i, 'builds a key-bearing connection string'],
      [/^\s*AzureWebJobsStorage\s*:/m, 'sets AzureWebJobsStorage as a connection string'],
      [/FUNCTIONS_WORKER_RUNTIME|FUNCTIONS_EXTENSION_VERSION|WEBSITE_RUN_FROM_PACKAGE|WEBSITE_CONTENTAZUREFILECONNECTIONSTRING/, 'sets an app setting Flex Consumption refuses'],
    ];
    for (const [pattern, what] of patterns) if (pattern.test(file.clean)) problems.push(`${file.name} ${what}`);
    for (const [role, id] of Object.entries(FORBIDDEN_ROLES)) {
      if (file.clean.toLowerCase().includes(id)) problems.push(`${file.name} grants ${role}`);
    }
  }

  // Role assignments: one module, allowed roles, each on one resource, exactly the expected list.
  const assignments = declared.filter((resource) => resource.type === 'Microsoft.Authorization/roleAssignments');
  for (const assignment of assignments.filter((resource) => resource.file !== 'modules/roles.bicep')) {
    problems.push(`${assignment.file} ${assignment.symbol}: role assignments belong in modules/roles.bicep`);
  }
  const rolesFile = files.find((file) => file.name === 'modules/roles.bicep');
  if (!rolesFile) problems.push('modules/roles.bicep is missing');
  else {
    const roleIds = objectLiteral(rolesFile, 'roleIds');
    for (const [name, value] of roleIds) {
      if (value !== `'${ALLOWED_ROLES[name] ?? ''}'`) problems.push(`roles.bicep roleIds.${name} = ${value} is not an allowed role`);
    }
    const granted = assignments
      .filter((resource) => resource.file === 'modules/roles.bicep')
      .map((resource) => {
        const scope = /\bscope:\s*(\w+)\s*\n/.exec(resource.body)?.[1] ?? '(none)';
        const role = /roleDefinitionId:\s*subscriptionResourceId\('Microsoft\.Authorization\/roleDefinitions',\s*roleIds\.(\w+)\)/.exec(resource.body)?.[1] ?? '(unknown role)';
        const principal = /\bprincipalId:\s*(\w+)\s*\n/.exec(resource.body)?.[1];
        const who = principal === 'appPrincipalId' ? 'app' : principal === 'operatorPrincipalId' ? 'operator' : `(${principal ?? 'unknown'})`;
        return `${who} ${role} on ${scope}`;
      })
      .sort();
    if (JSON.stringify(granted) !== JSON.stringify(EXPECTED_ASSIGNMENTS)) {
      problems.push(`role assignments differ from the reviewed list: ${JSON.stringify(granted)}`);
    }
  }

  // Diagnostic settings on every data-bearing or security-relevant resource, to Log Analytics.
  const diagnostics = declared.filter((resource) => resource.type === 'Microsoft.Insights/diagnosticSettings');
  const expectedDiagnostics = [
    ['modules/storage.bicep', 'blobService'],
    ['modules/keyVault.bicep', 'vault'],
    ['modules/sql.bicep', 'masterDatabase'],
    ['modules/sql.bicep', 'database'],
    ['modules/functionApp.bicep', 'site'],
  ];
  for (const [file, scope] of expectedDiagnostics) {
    const found = diagnostics.find((resource) => resource.file === file && new RegExp(`\\bscope:\\s*${scope}\\s*\\n`).test(resource.body));
    if (!found || !states(found, 'workspaceId')) problems.push(`${file}: diagnostic settings for ${scope} must go to Log Analytics`);
  }
  const audit = diagnostics.find((resource) => resource.file === 'modules/sql.bicep' && resource.body.includes('SQLSecurityAuditEvents'));
  if (!audit) problems.push('modules/sql.bicep: SQL security audit events must go to Log Analytics');

  // Secrets: @secure() parameters, never in outputs.
  for (const file of files) {
    const secureNames = new Set<string>();
    for (const param of params(file)) {
      const secure = param.decorators.includes('@secure()');
      if (secure) secureNames.add(param.name);
      const looksSecret = /secret|password|apikey|connectionstring/i.test(param.name) && !/Name$/.test(param.name);
      if (looksSecret && !secure && !(param.name in NOT_SECRET_PARAMS)) {
        problems.push(`${file.name} param ${param.name} must be @secure()`);
      }
    }
    for (const [name, expression] of outputs(file)) {
      for (const secret of secureNames) {
        if (new RegExp(`\\b${secret}\\b`).test(expression)) problems.push(`${file.name} output ${name} exposes @secure() ${secret}`);
      }
    }
  }
  return problems;
}

/** Replaces the first match of `from` that is code, not a comment. */
function replaceInCode(text: string, from: string | RegExp, to: string): string {
  const code = parseFile('mutated', text).clean;
  const pattern = typeof from === 'string' ? new RegExp(from.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : from;
  const match = pattern.exec(code);
  if (!match) return text;
  return text.slice(0, match.index) + to + text.slice(match.index + match[0].length);
}

describe('infra/ security properties', () => {
  const infra = readInfra();

  test('hold in the Bicep files as they are', () => {
    expect(securityProblems(infra)).toEqual([]);
  });

  test('every publicNetworkAccess choice is documented in docs/deploy.md', () => {
    const doc = fs.readFileSync(DEPLOY_DOC, 'utf8');
    expect(doc).toMatch(/publicNetworkAccess/);
    for (const resource of ['Storage', 'Key Vault', 'SQL', 'Function App']) expect(doc).toMatch(new RegExp(`${resource}[^\\n]*\\|`));
  });

  // One change at a time, each of which must be caught.
  const regressions: [file: string, from: string | RegExp, to: string, caught: RegExp][] = [
    ['modules/storage.bicep', 'allowSharedKeyAccess: false', 'allowSharedKeyAccess: true', /allowSharedKeyAccess/],
    ['modules/storage.bicep', 'allowBlobPublicAccess: false', 'allowBlobPublicAccess: true', /allowBlobPublicAccess/],
    ['modules/storage.bicep', "minimumTlsVersion: 'TLS1_2'", "minimumTlsVersion: 'TLS1_0'", /minimumTlsVersion/],
    ['modules/storage.bicep', 'supportsHttpsTrafficOnly: true', 'supportsHttpsTrafficOnly: false', /supportsHttpsTrafficOnly/],
    ['modules/storage.bicep', "publicAccess: 'None'", "publicAccess: 'Blob'", /publicAccess/],
    ['modules/keyVault.bicep', 'enablePurgeProtection: true', 'enablePurgeProtection: false', /enablePurgeProtection/],
    ['modules/keyVault.bicep', 'enableSoftDelete: true', 'enableSoftDelete: false', /enableSoftDelete/],
    ['modules/keyVault.bicep', 'enableRbacAuthorization: true', 'enableRbacAuthorization: false', /enableRbacAuthorization/],
    ['modules/keyVault.bicep', 'keySize: 4096', 'keySize: 2048', /keySize/],
    ['modules/sql.bicep', /azureADOnlyAuthentication: true/, 'azureADOnlyAuthentication: false', /azureADOnlyAuthentication/],
    ['modules/sql.bicep', "minimalTlsVersion: '1.2'", "minimalTlsVersion: '1.0'", /minimalTlsVersion/],
    ['modules/sql.bicep', "version: '12.0'", "version: '12.0'\n    administratorLogin: 'sqladmin'", /administrator login/],
    ['modules/functionApp.bicep', 'httpsOnly: true', 'httpsOnly: false', /httpsOnly/],
    ['modules/functionApp.bicep', "    minTlsVersion: '1.2'", "    minTlsVersion: '1.0'", /minTlsVersion/],
    ['modules/functionApp.bicep', "ftpsState: 'Disabled'", "ftpsState: 'AllAllowed'", /ftpsState/],
    ['modules/functionApp.bicep', /name: 'scm'\n {2}properties: \{ allow: false \}/, "name: 'scm'\n  properties: { allow: true }", /scm/],
    ['modules/functionApp.bicep', "AzureWebJobsStorage__credential: 'managedidentity'", "AzureWebJobsStorage: 'DefaultEndpointsProtocol=https;AccountName=x;AccountKey=y'", /connection string/],
    ['modules/functionApp.bicep', "AZURE_CLIENT_ID: identityClientId", "AZURE_CLIENT_ID: identityClientId\n  FUNCTIONS_WORKER_RUNTIME: 'node'", /Flex Consumption refuses/],
    ['modules/monitoring.bicep', 'DisableLocalAuth: true', 'DisableLocalAuth: false', /DisableLocalAuth/],
    ['modules/roles.bicep', "storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'", "storageBlobDataContributor: 'b24988ac-6180-42a0-ab88-20f7382dd24c'", /Contributor/],
    ['modules/roles.bicep', /scope: masterKey\n {2}properties: \{\n {4}roleDefinitionId: subscriptionResourceId\('Microsoft.Authorization\/roleDefinitions', roleIds.keyVaultCryptoUser\)\n {4}principalId: appPrincipalId/, "scope: vault\n  properties: {\n    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.keyVaultCryptoUser)\n    principalId: appPrincipalId", /reviewed list/],
    ['modules/roles.bicep', 'scope: appStorage', 'scope: dataStorage', /reviewed list/],
    ['modules/keyVault.bicep', "resource vaultDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview'", "resource vaultDiagnostics 'Microsoft.Insights/unrelated@2021-05-01-preview'", /diagnostic settings for vault/],
    ['main.bicep', '@secure()\nparam sendgridApiKey', 'param sendgridApiKey', /must be @secure/],
  ];
  test.each(regressions)('notice a regression in %s: %s', (file, from, to, caught) => {
    const original = infra.get(file);
    if (original === undefined) throw new Error(`infra/${file} is missing`);
    const mutated = replaceInCode(original, from, to);
    expect(mutated).not.toBe(original);
    const problems = securityProblems(new Map([...infra, [file, mutated]]));
    expect(problems.join('\n')).toMatch(caught);
  });

  test('a role assignment outside modules/roles.bicep is refused', () => {
    const extra = `
resource sneaky 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid('x')
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'ba92f5b4-2d11-453d-a403-e96b0029c9fe')
    principalId: 'p'
  }
}
`;
    const problems = securityProblems(new Map([...infra, ['modules/storage.bicep', `${infra.get('modules/storage.bicep') ?? ''}${extra}`]]));
    expect(problems.join('\n')).toMatch(/role assignments belong in modules\/roles\.bicep/);
  });
});
