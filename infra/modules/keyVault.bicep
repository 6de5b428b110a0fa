// Key Vault: the master key that roots every other key (DESIGN §4) and the secrets app settings reference.
//
// Security properties, checked by test/unit/infra/bicepSecurity.test.ts:
//   enableRbacAuthorization: true  access by Azure roles only (roles.bicep), no access policies
//   enableSoftDelete: true, enablePurgeProtection: true  a deleted key stays recoverable for
//                                  softDeleteRetentionInDays and nobody, not even an Owner, can purge it early:
//                                  losing the master key would lose every organization's data
//
// publicNetworkAccess 'Enabled' is a documented choice (docs/deploy.md, "Network"): the app reaches the vault
// without a virtual network; every call still needs an Entra token and a role on the key or vault.

@description('Key Vault name: 3-24 letters, digits and dashes, globally unique')
@minLength(3)
@maxLength(24)
param name string

param location string
param tags object = {}

@description('Name of the RSA master key (MASTER_KEY_NAME)')
param masterKeyName string

@description('Keep the master key in a hardware security module (RSA-HSM, FIPS 140 Level 3). Needs the premium vault tier.')
param useHsm bool

@description('ISO 8601 duration after which Key Vault creates a new version of the master key (e.g. P1Y, P180D)')
param masterKeyRotateAfter string

@description('Secrets to create or update, by secret name. An empty value leaves an existing secret as it is.')
@secure()
param secretValues object

param logAnalyticsWorkspaceId string

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: useHsm ? 'premium' : 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

// RSA-4096 for RSA-OAEP-256 key wrapping. The app wraps locally with the public key and asks the vault only to
// unwrap, so the key needs no other operation. The rotation policy adds a new version on schedule; older versions
// stay enabled and keep unwrapping until an operator has run `npx connectid rewrap-keys` and disables them
// (docs/deploy.md, "Rotating keys"). No expiry is set on versions: a version must stay usable for unwrapping
// until every key it wrapped has been re-wrapped, which is the operator's call, not a date's.
// ARM creates a key only once; later deployments must not change these properties (Key Vault refuses with
// KeyCreationParametersDidNotMatchExistingKey). Change the rotation policy with `az keyvault key rotation-policy update`.
resource masterKey 'Microsoft.KeyVault/vaults/keys@2023-07-01' = {
  parent: vault
  name: masterKeyName
  properties: {
    kty: useHsm ? 'RSA-HSM' : 'RSA'
    keySize: 4096
    keyOps: [
      'wrapKey'
      'unwrapKey'
    ]
    attributes: { enabled: true }
    rotationPolicy: {
      lifetimeActions: [
        {
          trigger: { timeAfterCreate: masterKeyRotateAfter }
          action: { type: 'rotate' }
        }
      ]
    }
  }
}

resource secrets 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = [
  for secret in items(secretValues): if (!empty(secret.value)) {
    parent: vault
    name: secret.key
    properties: {
      value: secret.value
      contentType: 'text/plain'
      attributes: { enabled: true }
    }
  }
]

resource vaultDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: vault
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [{ categoryGroup: 'audit', enabled: true }]
    metrics: [{ category: 'AllMetrics', enabled: true }]
  }
}

output id string = vault.id
output name string = vault.name
// Without the trailing slash, as KEY_VAULT_URL is documented.
output url string = 'https://${vault.name}${environment().suffixes.keyvaultDns}'
output masterKeyName string = masterKey.name
