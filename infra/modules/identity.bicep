// The app's one identity: a user-assigned managed identity. Every Azure call the app makes (SQL, Blob, Key Vault,
// host storage, deployment package, Application Insights ingestion, Key Vault references) authenticates as it;
// there is no key, password or connection string anywhere. Its roles are granted in roles.bicep, nowhere else.

@description('Name of the user-assigned managed identity')
param name string

param location string
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output principalId string = identity.properties.principalId
output clientId string = identity.properties.clientId
