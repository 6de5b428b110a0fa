// Azure SQL: the store (lib/adapters/mssql). The schema is applied by `npx connectid init` with the same migrations
// the embedded SQLite store uses (docs/deploy.md); the app itself only reads and writes.
//
// Security properties, checked by test/unit/infra/bicepSecurity.test.ts:
//   azureADOnlyAuthentication: true  Microsoft Entra only: the server has no SQL login and no password at all
//   minimalTlsVersion: '1.2'
// Columns holding personal data are encrypted by the app before they reach the database (DESIGN §4); SQL Server's
// own Always Encrypted is not used. Transparent data encryption (service-managed key) is on by default.
//
// publicNetworkAccess 'Enabled' with the "Azure services" firewall rule is a documented choice (docs/deploy.md,
// "Network"): Flex Consumption without a virtual network has no fixed outbound addresses. Every connection still
// needs an Entra token for a user that exists in the database.

param serverName string
param databaseName string
param location string
param tags object = {}

@description('Display name of the Microsoft Entra admin (a user principal name or a group name)')
param adminLogin string

@description('Object id of the Microsoft Entra admin: the operator (or, better, a group of operators)')
param adminObjectId string

@description('User, Group or Application')
param adminPrincipalType string

@description('Database SKU name, e.g. S0 (Standard, 10 DTU), GP_S_Gen5_1 (General Purpose serverless)')
param skuName string

@description('Database SKU tier, e.g. Standard, GeneralPurpose')
param skuTier string

@description('Serverless only: minutes of inactivity before the database pauses (-1 = never). A paused database answers the first request after a pause with an error while it resumes (about a minute).')
param autoPauseDelayInMinutes int = -1

@description('An IPv4 address allowed through the firewall, e.g. the operator workstation that runs npx connectid (empty = none)')
param operatorIpAddress string = ''

param logAnalyticsWorkspaceId string

var serverless = contains(skuName, '_S_')
var provisionedProperties = {
  collation: 'SQL_Latin1_General_CP1_CI_AS'
}
var serverlessProperties = union(provisionedProperties, {
  autoPauseDelay: autoPauseDelayInMinutes
  minCapacity: json('0.5')
})

resource server 'Microsoft.Sql/servers@2021-11-01' = {
  name: serverName
  location: location
  tags: tags
  properties: {
    version: '12.0'
    minimalTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
    administrators: {
      administratorType: 'ActiveDirectory'
      azureADOnlyAuthentication: true
      login: adminLogin
      sid: adminObjectId
      principalType: adminPrincipalType
      tenantId: subscription().tenantId
    }
  }
}

// Stated again as its own resource so a later deployment resets it if someone turned SQL logins back on.
resource entraOnly 'Microsoft.Sql/servers/azureADOnlyAuthentications@2021-11-01' = {
  parent: server
  name: 'Default'
  properties: {
    azureADOnlyAuthentication: true
  }
}

resource database 'Microsoft.Sql/servers/databases@2021-11-01' = {
  parent: server
  name: databaseName
  location: location
  tags: tags
  sku: {
    name: skuName
    tier: skuTier
  }
  properties: serverless ? serverlessProperties : provisionedProperties
}

// Flex Consumption has no fixed outbound addresses without a virtual network: 0.0.0.0 admits Azure services
// (any tenant's) to the login step, which then needs an Entra token for a database user.
resource allowAzureServices 'Microsoft.Sql/servers/firewallRules@2021-11-01' = {
  parent: server
  name: 'AllowAllWindowsAzureIps'
  properties: {
    startIpAddress: '0.0.0.0'
    endIpAddress: '0.0.0.0'
  }
}

resource allowOperator 'Microsoft.Sql/servers/firewallRules@2021-11-01' = if (!empty(operatorIpAddress)) {
  parent: server
  name: 'operator-workstation'
  properties: {
    startIpAddress: operatorIpAddress
    endIpAddress: operatorIpAddress
  }
}

// Security audit (logins, permission and schema changes) to Log Analytics. Query text is deliberately not
// audited (no BATCH_COMPLETED_GROUP): it would copy parameter values into the logs.
resource masterDatabase 'Microsoft.Sql/servers/databases@2021-11-01' existing = {
  parent: server
  name: 'master'
}

resource auditDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'audit-to-log-analytics'
  scope: masterDatabase
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [{ category: 'SQLSecurityAuditEvents', enabled: true }]
  }
}

resource auditing 'Microsoft.Sql/servers/auditingSettings@2021-11-01' = {
  parent: server
  name: 'default'
  properties: {
    state: 'Enabled'
    isAzureMonitorTargetEnabled: true
    auditActionsAndGroups: [
      'SUCCESSFUL_DATABASE_AUTHENTICATION_GROUP'
      'FAILED_DATABASE_AUTHENTICATION_GROUP'
      'DATABASE_PRINCIPAL_CHANGE_GROUP'
      'DATABASE_ROLE_MEMBER_CHANGE_GROUP'
      'DATABASE_PERMISSION_CHANGE_GROUP'
      'SCHEMA_OBJECT_CHANGE_GROUP'
    ]
  }
  dependsOn: [auditDiagnostics]
}

resource databaseDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: database
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      { category: 'Errors', enabled: true }
      { category: 'Timeouts', enabled: true }
      { category: 'Blocks', enabled: true }
      { category: 'Deadlocks', enabled: true }
    ]
    metrics: [{ category: 'Basic', enabled: true }]
  }
}

output serverName string = server.name
output fullyQualifiedDomainName string = server.properties.fullyQualifiedDomainName
output databaseName string = database.name
