// Key Vault holding one secret per author (see docs/deploy.md). Authorization is Azure RBAC
// only (no access policies), soft delete and purge protection are on, and every data-plane
// access is logged to Log Analytics (category group "audit").

@description('Name of the vault (3-24 characters, globally unique).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region.')
param location string

@description('Tags applied to the vault.')
param tags { *: string }

@description('Days a deleted vault or secret stays recoverable (7-90). Cannot be changed after the vault is created.')
@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int

@description('Whether the vault answers on its public endpoint. "Disabled" requires a private endpoint (not part of this template) for both the Function App and operators.')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string

@description('Resource ID of the Log Analytics workspace receiving the vault audit log.')
param logAnalyticsWorkspaceId string

resource vault 'Microsoft.KeyVault/vaults@2024-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    accessPolicies: []
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    // Once on, purge protection can never be turned off: a deleted vault (or secret) stays
    // recoverable for the whole retention period and its name stays taken.
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    publicNetworkAccess: publicNetworkAccess
    networkAcls: {
      defaultAction: publicNetworkAccess == 'Enabled' ? 'Allow' : 'Deny'
      bypass: 'AzureServices'
    }
  }
}

resource vaultAudit 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'audit-to-log-analytics'
  scope: vault
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        categoryGroup: 'audit'
        enabled: true
      }
    ]
  }
}

output id string = vault.id
output name string = vault.name
output uri string = vault.properties.vaultUri
