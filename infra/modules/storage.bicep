// One storage account, used twice by main.bicep: the app account (Functions host storage and the Flex Consumption
// deployment package) and the data account (one container per organization, encrypted delivery items).
//
// Security properties, checked by test/unit/infra/bicepSecurity.test.ts:
//   allowSharedKeyAccess: false   no account keys, no key-signed SAS: Microsoft Entra (managed identity) only
//   allowBlobPublicAccess: false  no anonymous reads, whatever a container says
//   minimumTlsVersion: 'TLS1_2', supportsHttpsTrafficOnly: true
//
// publicNetworkAccess 'Enabled' is a documented choice (docs/deploy.md, "Network"): Flex Consumption without a
// virtual network reaches storage over its public endpoint, where every request still needs an Entra token with a
// data role. Item bytes are encrypted by the app before they arrive (DESIGN §4), so the storage service never
// holds plaintext either way.

@description('Storage account name: 3-24 lowercase letters and digits, globally unique')
@minLength(3)
@maxLength(24)
param name string

param location string
param tags object = {}

@description('Replication. Standard_LRS is the cheapest; Standard_ZRS survives a zone outage where the region has zones.')
@allowed(['Standard_LRS', 'Standard_ZRS', 'Standard_GRS', 'Standard_GZRS'])
param skuName string = 'Standard_LRS'

@description('Blob containers created with the account (all private)')
param containers array = []

@description('Days a deleted blob can be restored (0 = soft delete off)')
@minValue(0)
@maxValue(365)
param blobSoftDeleteDays int

@description('Days a deleted container can be restored (0 = off)')
@minValue(0)
@maxValue(365)
param containerSoftDeleteDays int

@description('Keep every overwritten or deleted blob as a version')
param versioning bool

@description('Blob log categories sent to Log Analytics (StorageRead, StorageWrite, StorageDelete)')
param blobLogCategories array = ['StorageWrite', 'StorageDelete']

param logAnalyticsWorkspaceId string

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: skuName }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    isHnsEnabled: false
    isLocalUserEnabled: false
    isSftpEnabled: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      services: {
        blob: { enabled: true }
      }
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: blobSoftDeleteDays > 0
      days: max(blobSoftDeleteDays, 1)
    }
    containerDeleteRetentionPolicy: {
      enabled: containerSoftDeleteDays > 0
      days: max(containerSoftDeleteDays, 1)
    }
    isVersioningEnabled: versioning
  }
}

resource blobContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [
  for container in containers: {
    parent: blobService
    name: container
    properties: { publicAccess: 'None' }
  }
]

resource blobDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: blobService
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [for category in blobLogCategories: { category: category, enabled: true }]
    metrics: [{ category: 'Transaction', enabled: true }]
  }
}

output id string = account.id
output name string = account.name
// Without the trailing slash, as BLOB_ACCOUNT_URL is documented.
output blobEndpoint string = 'https://${account.name}.blob.${environment().suffixes.storage}'
