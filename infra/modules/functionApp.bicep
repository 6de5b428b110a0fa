// The Function App on the Flex Consumption plan (Linux, Node 20), running as the user-assigned managed identity.
//
// Security properties, checked by test/unit/infra/bicepSecurity.test.ts:
//   httpsOnly: true, siteConfig.minTlsVersion: '1.2' (also scmMinTlsVersion), ftpsState: 'Disabled'
//   basic (shared) publishing credentials off for FTP and SCM: deployments authenticate with Entra
//   host storage and the deployment package through the managed identity: no storage connection string
//   secrets only as Key Vault references, resolved with the managed identity (keyVaultReferenceIdentity)
//
// App settings are Connectid's own (connectidSettings: the names lib/config.ts reads, SETTING_NAMES) plus the
// platform's (platformSettings). test/unit/infra/settingsConsistency.test.ts keeps connectidSettings, SETTING_NAMES
// and local.settings.sample.json equal.

param name string
param planName string
param location string
param tags object = {}

@description('Resource id of the user-assigned managed identity')
param identityId string

@description('Client id of the user-assigned managed identity (DefaultAzureCredential reads it from AZURE_CLIENT_ID)')
param identityClientId string

@description('The app storage account: Functions host storage and the deployment package container')
param appStorageAccountName string

param appBlobEndpoint string
param deploymentContainerName string
param applicationInsightsConnectionString string
param logAnalyticsWorkspaceId string

@description('Instances kept warm for HTTP triggers (0 = none: the first request after idle pays a cold start). Billed while idle.')
@minValue(0)
@maxValue(20)
param alwaysReadyInstances int

@description('Upper bound on instances during scale-out')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int

@allowed([512, 2048, 4096])
param instanceMemoryMB int

// ---- Connectid settings (lib/config.ts) -------------------------------------------------------------------------

@description('PUBLIC_BASE_URL: the https origin clients call. Empty = the Function App default https URL.')
param publicBaseUrl string

param sqlServerFqdn string
param sqlDatabaseName string
param dataBlobEndpoint string
param keyVaultUrl string
param masterKeyName string

@description('Name of the Key Vault secret holding the SendGrid API key')
param sendgridApiKeySecretName string

param mailFrom string
param kekCacheTtlSeconds int
param maxJsonBodyBytes int
param maxItemBytes int
param acsSmsEndpoint string
param acsSmsFrom string
param webauthnRpId string
param webauthnRpName string
param webauthnOrigin string

@description('EID_PROVIDERS: JSON array of third-party eID providers (empty = no eID)')
param eidProviders string

@description('Name of the Key Vault secret holding EID_CLIENT_SECRETS (JSON: provider id → client secret)')
param eidClientSecretsSecretName string

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  // azd finds the app to deploy `services.api` of azure.yaml to by this tag.
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientAffinityEnabled: false
    publicNetworkAccess: 'Enabled'
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      // No CORS: the portal and the API docs are served from the same origin as the API.
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${appBlobEndpoint}/${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
        alwaysReady: alwaysReadyInstances > 0 ? [{ name: 'http', instanceCount: alwaysReadyInstances }] : []
      }
      runtime: {
        name: 'node'
        version: '20'
      }
    }
  }
}

// Shared publishing credentials (basic auth) off: azd and the Azure CLI deploy with an Entra token.
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: { allow: false }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: { allow: false }
}

var defaultUrl = 'https://${site.properties.defaultHostName}'

// Platform settings: the Functions host and the Azure SDK, not lib/config.ts. Flex Consumption takes the runtime
// from functionAppConfig, so FUNCTIONS_WORKER_RUNTIME and FUNCTIONS_EXTENSION_VERSION must not be set.
var platformSettings = {
  // Host storage (timer leases, host keys) through the managed identity: no connection string.
  AzureWebJobsStorage__accountName: appStorageAccountName
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  // Local authentication is off in Application Insights: ingest as the managed identity.
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  // DefaultAzureCredential (SQL, Blob, Key Vault) picks the user-assigned identity by this client id.
  AZURE_CLIENT_ID: identityClientId
  // The host refuses larger request bodies before the app sees them (default 100 MiB).
  FUNCTIONS_REQUEST_BODY_SIZE_LIMIT: string(max(maxItemBytes, maxJsonBodyBytes, 104857600))
}

// Connectid's own settings, named exactly as lib/config.ts reads them. An empty value means "use the default
// lib/config.ts documents". Secrets are Key Vault references, never values.
var connectidSettings = {
  PUBLIC_BASE_URL: empty(publicBaseUrl) ? defaultUrl : publicBaseUrl
  AZURE_SQL_SERVER: sqlServerFqdn
  AZURE_SQL_DATABASE: sqlDatabaseName
  BLOB_ACCOUNT_URL: dataBlobEndpoint
  KEY_VAULT_URL: keyVaultUrl
  MASTER_KEY_NAME: masterKeyName
  SENDGRID_API_KEY: '@Microsoft.KeyVault(SecretUri=${keyVaultUrl}/secrets/${sendgridApiKeySecretName}/)'
  MAIL_FROM: mailFrom
  KEK_CACHE_TTL_SECONDS: string(kekCacheTtlSeconds)
  MAX_JSON_BODY_BYTES: string(maxJsonBodyBytes)
  MAX_ITEM_BYTES: string(maxItemBytes)
  ACS_SMS_ENDPOINT: acsSmsEndpoint
  ACS_SMS_FROM: acsSmsFrom
  WEBAUTHN_RP_ID: webauthnRpId
  WEBAUTHN_RP_NAME: webauthnRpName
  WEBAUTHN_ORIGIN: webauthnOrigin
  EID_PROVIDERS: eidProviders
  // Until the secret exists in the vault the platform passes the reference text through; lib/config.ts accepts that
  // only while EID_PROVIDERS is empty.
  EID_CLIENT_SECRETS: '@Microsoft.KeyVault(SecretUri=${keyVaultUrl}/secrets/${eidClientSecretsSecretName}/)'
}

resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'appsettings'
  properties: union(platformSettings, connectidSettings)
}

resource siteDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: site
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [{ category: 'FunctionAppLogs', enabled: true }]
    metrics: [{ category: 'AllMetrics', enabled: true }]
  }
}

output name string = site.name
output defaultUrl string = defaultUrl
output publicBaseUrl string = connectidSettings.PUBLIC_BASE_URL
