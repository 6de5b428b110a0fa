// Log Analytics (every diagnostic setting sends here) and workspace-based Application Insights for the Function
// App. Local (instrumentation-key) authentication is off: the app ingests telemetry with its managed identity
// (Monitoring Metrics Publisher, roles.bicep), so the connection string alone lets nobody write telemetry.

param logAnalyticsName string
param applicationInsightsName string
param location string
param tags object = {}

@description('Days Log Analytics keeps logs (30 is included in the price; longer costs per GB per month)')
@minValue(30)
@maxValue(730)
param retentionInDays int = 30

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: retentionInDays
    features: { enableLogAccessUsingOnlyResourcePermissions: true }
  }
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    DisableLocalAuth: true
    IngestionMode: 'LogAnalytics'
  }
}

output logAnalyticsWorkspaceId string = workspace.id
output logAnalyticsWorkspaceName string = workspace.name
output applicationInsightsName string = applicationInsights.name
// Not a secret: with local authentication disabled it only says where to send telemetry, not who may.
output applicationInsightsConnectionString string = applicationInsights.properties.ConnectionString
