// Every role assignment of the deployment, in one place (least privilege; test/unit/infra/bicepSecurity.test.ts
// holds this list fixed). Each is scoped to the one resource it is needed on, never the resource group or the
// subscription. Nobody gets Owner, Contributor or User Access Administrator.
//
//   who       role                              scope                  why
//   app       Storage Blob Data Contributor     data storage account   read, write and delete encrypted items; create
//                                                                      and delete one container per organization
//   app       Storage Blob Data Owner           app storage account    Functions host storage (timer leases, host keys)
//                                                                      and the Flex Consumption deployment package:
//                                                                      Microsoft documents this role for identity-based
//                                                                      AzureWebJobsStorage. That account holds no personal data.
//   app       Key Vault Crypto User             the master key only    read the current key version (its public half)
//                                                                      and unwrap organization, column and signing keys
//   app       Key Vault Secrets User            the vault              resolve Key Vault references in app settings
//                                                                      (SendGrid API key, eID client secrets); the vault
//                                                                      holds nothing else the app may not read
//   app       Monitoring Metrics Publisher      Application Insights   send telemetry with local authentication disabled
//   operator  Key Vault Crypto User             the master key only    `npx connectid init`, `create-operator` and
//                                                                      `rewrap-keys` from a workstation (optional)
//
// Not granted here: database access. Azure SQL users are created inside the database by its Entra admin
// (docs/deploy.md, "Database access"); SQL has no Azure role for data access.

param appPrincipalId string

@description('Object id of the operator who runs npx connectid from a workstation (empty = no operator role)')
param operatorPrincipalId string = ''

@allowed(['User', 'Group', 'ServicePrincipal'])
param operatorPrincipalType string = 'User'

param appStorageAccountName string
param dataStorageAccountName string
param keyVaultName string
param masterKeyName string
param applicationInsightsName string

// Built-in role definition ids (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles).
var roleIds = {
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  keyVaultCryptoUser: '12338af0-0e69-4776-bea7-57ae8d297424'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

resource appStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: appStorageAccountName
}

resource dataStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: dataStorageAccountName
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource masterKey 'Microsoft.KeyVault/vaults/keys@2023-07-01' existing = {
  parent: vault
  name: masterKeyName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource appDataBlobs 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(dataStorage.id, appPrincipalId, roleIds.storageBlobDataContributor)
  scope: dataStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.storageBlobDataContributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    description: 'Connectid: encrypted delivery items, one container per organization'
  }
}

resource appHostStorage 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appStorage.id, appPrincipalId, roleIds.storageBlobDataOwner)
  scope: appStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.storageBlobDataOwner)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    description: 'Connectid: Functions host storage and the Flex Consumption deployment package'
  }
}

resource appMasterKey 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(masterKey.id, appPrincipalId, roleIds.keyVaultCryptoUser)
  scope: masterKey
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.keyVaultCryptoUser)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    description: 'Connectid: unwrap keys with the master key'
  }
}

resource appSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, appPrincipalId, roleIds.keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.keyVaultSecretsUser)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    description: 'Connectid: Key Vault references in app settings'
  }
}

resource appTelemetry 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, appPrincipalId, roleIds.monitoringMetricsPublisher)
  scope: applicationInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.monitoringMetricsPublisher)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    description: 'Connectid: telemetry ingestion with Entra authentication'
  }
}

resource operatorMasterKey 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(masterKey.id, operatorPrincipalId, roleIds.keyVaultCryptoUser)
  scope: masterKey
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.keyVaultCryptoUser)
    principalId: operatorPrincipalId
    principalType: operatorPrincipalType
    description: 'Connectid operator: npx connectid init, create-operator, rewrap-keys'
  }
}
