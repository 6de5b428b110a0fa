// Connectid on Azure (`azd up`): a Function App on Flex Consumption running as one user-assigned managed identity,
// an app storage account and a data storage account, Key Vault with the RSA master key, Azure SQL with Microsoft
// Entra-only authentication, Application Insights on Log Analytics. No secret is in an app setting, no shared key is
// enabled anywhere, and roles are granted in modules/roles.bicep only.
//
// docs/deploy.md walks an operator from an empty subscription to a first delivery. Parameters come from
// main.parameters.json, which azd fills from the environment (`azd env set NAME value`).

targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; part of every resource name and tag')
param environmentName string

@minLength(1)
@description('Region for every resource; it must offer the Flex Consumption plan (az functionapp list-flexconsumption-locations)')
@metadata({ azd: { type: 'location' } })
param location string

@description('Resource group name (empty = rg-<environmentName>)')
param resourceGroupName string = ''

@description('Object id of the operator (azd passes the signed-in user): Entra admin of Azure SQL and Key Vault Crypto User on the master key, to run npx connectid')
param principalId string

@allowed(['User', 'Group', 'ServicePrincipal'])
param principalType string = 'User'

@description('Display name shown for the Azure SQL Entra admin (principalId), e.g. your user principal name or group name')
param sqlAdminLogin string = 'connectid-sql-admin'

@description('An IPv4 address allowed through the SQL firewall for the operator workstation (empty = none)')
param operatorIpAddress string = ''

// ---- Connectid settings (each becomes the app setting lib/config.ts reads) ----------------------------------------

@description('PUBLIC_BASE_URL: the https origin clients call, e.g. a custom domain. Empty = the Function App default https URL.')
param publicBaseUrl string = ''

@description('MAIL_FROM: sender address of every mail (invitations, codes, delivery notices); a verified SendGrid sender')
@minLength(3)
param mailFrom string

@description('SENDGRID_API_KEY: stored as the Key Vault secret sendgrid-api-key. Required on the first deployment; empty later = keep the secret as it is.')
@secure()
param sendgridApiKey string = ''

@description('MASTER_KEY_NAME: name of the RSA-4096 master key in Key Vault')
param masterKeyName string = 'connectid-master'

@description('Keep the master key in an HSM (RSA-HSM, premium vault tier). Decide before the first deployment: an existing key cannot change type.')
param masterKeyHsm bool = false

@description('ISO 8601 duration after which Key Vault creates a new master key version; run npx connectid rewrap-keys after each')
param masterKeyRotateAfter string = 'P1Y'

@description('KEK_CACHE_TTL_SECONDS: how long an unwrapped organization key stays in memory')
@minValue(0)
@maxValue(300)
param kekCacheTtlSeconds int = 300

@description('MAX_JSON_BODY_BYTES: largest JSON request body')
@minValue(1024)
@maxValue(16777216)
param maxJsonBodyBytes int = 1048576

@description('MAX_ITEM_BYTES: largest delivery item')
@minValue(1)
@maxValue(5368709120)
param maxItemBytes int = 100000000

@description('ACS_SMS_ENDPOINT: https://<resource>.communication.azure.com of an Azure Communication Services resource with a phone number (empty = no SMS factor). The app authenticates with its managed identity; docs/deploy.md says which role to grant.')
param acsSmsEndpoint string = ''

@description('ACS_SMS_FROM: the sending number (E.164) or alphanumeric sender id (with ACS_SMS_ENDPOINT)')
param acsSmsFrom string = ''

@description('WEBAUTHN_RP_ID: passkey relying party id (empty = the host of WEBAUTHN_ORIGIN)')
param webauthnRpId string = ''

@description('WEBAUTHN_RP_NAME: the name authenticators show')
param webauthnRpName string = 'Connectid'

@description('WEBAUTHN_ORIGIN: the origin the portal runs on (empty = PUBLIC_BASE_URL)')
param webauthnOrigin string = ''

@description('EID_PROVIDERS: JSON array of third-party eID providers (OpenID Connect); README "Third-party eID". Empty = no eID.')
param eidProviders string = ''

@description('EID_CLIENT_SECRETS: JSON object {"providerId": "client secret"}, stored as the Key Vault secret eid-client-secrets. Empty = keep the secret as it is (none: no eID).')
@secure()
param eidClientSecrets string = ''

// ---- Scale and cost -------------------------------------------------------------------------------------------

@description('Instances kept warm for HTTP (0 = scale to zero; the first request after idle pays a cold start)')
@minValue(0)
@maxValue(20)
param alwaysReadyInstances int = 1

@description('Upper bound on instances during scale-out')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Memory per instance')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('Azure SQL database SKU, e.g. S0 (Standard, always on), GP_S_Gen5_1 (General Purpose serverless)')
param sqlSkuName string = 'S0'

@description('Azure SQL database tier matching sqlSkuName, e.g. Standard, GeneralPurpose')
param sqlSkuTier string = 'Standard'

@description('Serverless SKUs only: minutes idle before the database pauses (-1 = never)')
param sqlAutoPauseDelayInMinutes int = -1

@description('Replication of the data storage account (Standard_ZRS where the region has availability zones)')
@allowed(['Standard_LRS', 'Standard_ZRS', 'Standard_GRS', 'Standard_GZRS'])
param dataStorageSkuName string = 'Standard_LRS'

@description('Days a deleted item blob stays restorable. Its data key is destroyed first, so a restored blob stays unreadable after purge.')
@minValue(0)
@maxValue(365)
param dataBlobSoftDeleteDays int = 7

@description('Keep blob versions in the data account (off: items are written once and never overwritten)')
param dataBlobVersioning bool = false

@description('Days Log Analytics keeps logs')
@minValue(30)
@maxValue(730)
param logRetentionInDays int = 30

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
  application: 'connectid'
}

// Secrets the app reads through Key Vault references: key = secret name in the vault.
var secretNames = {
  sendgridApiKey: 'sendgrid-api-key'
  eidClientSecrets: 'eid-client-secrets'
}

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : 'rg-${environmentName}'
  location: location
  tags: tags
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: 'log-${resourceToken}'
    applicationInsightsName: 'appi-${resourceToken}'
    location: location
    tags: tags
    retentionInDays: logRetentionInDays
  }
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-connectid-${resourceToken}'
    location: location
    tags: tags
  }
}

var deploymentContainerName = 'app-package'

// Functions host storage and the deployment package. Soft delete is short (7 days) and versioning off: nothing
// here is irreplaceable, `azd deploy` writes the package again.
module appStorage 'modules/storage.bicep' = {
  name: 'app-storage'
  scope: rg
  params: {
    name: 'stapp${resourceToken}'
    location: location
    tags: tags
    containers: [deploymentContainerName]
    blobSoftDeleteDays: 7
    containerSoftDeleteDays: 7
    versioning: false
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
  }
}

// Delivery items, encrypted by the app. Soft delete guards the 32-day download window against an accidental or
// malicious delete; purge destroys an item's data key before deleting its blob, so soft-deleted bytes of an expired
// item are unreadable (crypto-shredding). Versioning stays off: an item is written once.
module dataStorage 'modules/storage.bicep' = {
  name: 'data-storage'
  scope: rg
  params: {
    name: 'stdata${resourceToken}'
    location: location
    tags: tags
    skuName: dataStorageSkuName
    blobSoftDeleteDays: dataBlobSoftDeleteDays
    containerSoftDeleteDays: dataBlobSoftDeleteDays
    versioning: dataBlobVersioning
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
  }
}

module keyVault 'modules/keyVault.bicep' = {
  name: 'key-vault'
  scope: rg
  params: {
    name: 'kv-${resourceToken}'
    location: location
    tags: tags
    masterKeyName: masterKeyName
    useHsm: masterKeyHsm
    masterKeyRotateAfter: masterKeyRotateAfter
    secretValues: {
      '${secretNames.sendgridApiKey}': sendgridApiKey
      '${secretNames.eidClientSecrets}': eidClientSecrets
    }
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
  }
}

module sql 'modules/sql.bicep' = {
  name: 'sql'
  scope: rg
  params: {
    serverName: 'sql-${resourceToken}'
    databaseName: 'connectid'
    location: location
    tags: tags
    adminLogin: sqlAdminLogin
    adminObjectId: principalId
    adminPrincipalType: principalType == 'ServicePrincipal' ? 'Application' : principalType
    skuName: sqlSkuName
    skuTier: sqlSkuTier
    autoPauseDelayInMinutes: sqlAutoPauseDelayInMinutes
    operatorIpAddress: operatorIpAddress
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
  }
}

module roles 'modules/roles.bicep' = {
  name: 'roles'
  scope: rg
  params: {
    appPrincipalId: identity.outputs.principalId
    operatorPrincipalId: principalId
    operatorPrincipalType: principalType
    appStorageAccountName: appStorage.outputs.name
    dataStorageAccountName: dataStorage.outputs.name
    keyVaultName: keyVault.outputs.name
    masterKeyName: keyVault.outputs.masterKeyName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
  }
}

module functionApp 'modules/functionApp.bicep' = {
  name: 'function-app'
  scope: rg
  params: {
    name: 'func-connectid-${resourceToken}'
    planName: 'plan-${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    appStorageAccountName: appStorage.outputs.name
    appBlobEndpoint: appStorage.outputs.blobEndpoint
    deploymentContainerName: deploymentContainerName
    applicationInsightsConnectionString: monitoring.outputs.applicationInsightsConnectionString
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
    alwaysReadyInstances: alwaysReadyInstances
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    publicBaseUrl: publicBaseUrl
    sqlServerFqdn: sql.outputs.fullyQualifiedDomainName
    sqlDatabaseName: sql.outputs.databaseName
    dataBlobEndpoint: dataStorage.outputs.blobEndpoint
    keyVaultUrl: keyVault.outputs.url
    masterKeyName: masterKeyName
    sendgridApiKeySecretName: secretNames.sendgridApiKey
    mailFrom: mailFrom
    kekCacheTtlSeconds: kekCacheTtlSeconds
    maxJsonBodyBytes: maxJsonBodyBytes
    maxItemBytes: maxItemBytes
    acsSmsEndpoint: acsSmsEndpoint
    acsSmsFrom: acsSmsFrom
    webauthnRpId: webauthnRpId
    webauthnRpName: webauthnRpName
    webauthnOrigin: webauthnOrigin
    eidProviders: eidProviders
    eidClientSecretsSecretName: secretNames.eidClientSecrets
  }
  // The identity's roles exist before the app first resolves its Key Vault references and reaches storage.
  dependsOn: [roles]
}

var identityName = identity.outputs.name

// ---- Outputs: azd stores them in the environment (`azd env get-values`). Names that match a setting of
// lib/config.ts are the values the app runs with, so `npx connectid` on a workstation targets the same resources.

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_MANAGED_IDENTITY_NAME string = identityName
output AZURE_MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_APPLICATION_INSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output AZURE_LOG_ANALYTICS_WORKSPACE_NAME string = monitoring.outputs.logAnalyticsWorkspaceName
output AZURE_PORTAL_RESOURCE_GROUP_URL string = '${environment().portal}/#@${tenant().tenantId}/resource${rg.id}'

output PUBLIC_BASE_URL string = functionApp.outputs.publicBaseUrl
output FUNCTION_APP_URL string = functionApp.outputs.defaultUrl
output CONNECTID_HEALTH_URL string = '${functionApp.outputs.publicBaseUrl}/health'
output CONNECTID_API_DOCS_URL string = '${functionApp.outputs.publicBaseUrl}/docs'
output CONNECTID_PORTAL_URL string = '${functionApp.outputs.publicBaseUrl}/portal/'
output CONNECTID_OPENID_CONFIGURATION_URL string = '${functionApp.outputs.publicBaseUrl}/.well-known/openid-configuration'

output AZURE_SQL_SERVER string = sql.outputs.fullyQualifiedDomainName
output AZURE_SQL_DATABASE string = sql.outputs.databaseName
output BLOB_ACCOUNT_URL string = dataStorage.outputs.blobEndpoint
output KEY_VAULT_URL string = keyVault.outputs.url
output MASTER_KEY_NAME string = keyVault.outputs.masterKeyName

// Run once in the database as its Entra admin (docs/deploy.md, "Database access"): the app may read and write,
// not change the schema (migrations run from `npx connectid init`).
output SQL_GRANT_APP_ACCESS string = 'CREATE USER [${identityName}] FROM EXTERNAL PROVIDER; ALTER ROLE db_datareader ADD MEMBER [${identityName}]; ALTER ROLE db_datawriter ADD MEMBER [${identityName}];'
