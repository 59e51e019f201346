// Every role assignment of the deployment, each scoped to the single resource it grants
// access to (never the resource group), named guid(scope, principal, role) so redeployments
// are idempotent.

@description('Name of the storage account.')
param storageAccountName string

@description('Name of the Key Vault.')
param keyVaultName string

@description('Name of the Application Insights component.')
param applicationInsightsName string

@description('Principal (object) ID of the Function App\'s user-assigned identity.')
param appPrincipalId string

@description('Object ID of the deploying user or pipeline; empty skips its role assignments.')
param deployerPrincipalId string

@description('Kind of principal deployerPrincipalId is.')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param deployerPrincipalType string

@description('Blob data role the deployer gets on the storage account (see docs/deploy.md).')
@allowed([
  'None'
  'Reader'
  'Contributor'
  'Owner'
])
param deployerStorageRole string

// Built-in role definition IDs (the same in every tenant).
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageBlobDataReader: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  keyVaultSecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

var deployerBlobRoles = {
  Reader: roles.storageBlobDataReader
  Contributor: roles.storageBlobDataContributor
  Owner: roles.storageBlobDataOwner
}

var hasDeployer = !empty(deployerPrincipalId)

resource storageAccount 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: storageAccountName
}

resource vault 'Microsoft.KeyVault/vaults@2024-11-01' existing = {
  name: keyVaultName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// --- The Function App's identity ---------------------------------------------------------

// Owner rather than Contributor: the Functions documentation names Storage Blob Data Owner as
// the role for an identity-based AzureWebJobsStorage, and the Flex quickstart grants it. The
// host manages its own containers and blobs there (keys in azure-webjobs-secrets, timer
// schedule status and singleton leases in azure-webjobs-hosts) and Flex reads the deployment
// package with the same identity. Owner also carries the blob index tag permissions
// (tags/read, tags/write, filter/action) that Contributor lacks; the app writes `runId`,
// `kind` and `authorId` tags on every blob and finds snapshots with findBlobsByTags.
resource appBlobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storageAccount.id, appPrincipalId, roles.storageBlobDataOwner)
  scope: storageAccount
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// The queue trigger (connection EXPORT_STORAGE) reads, updates and deletes messages and moves
// poison messages; the app enqueues one message per author.
resource appQueueContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storageAccount.id, appPrincipalId, roles.storageQueueDataContributor)
  scope: storageAccount
  properties: {
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      roles.storageQueueDataContributor
    )
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// The app uses no tables. The Functions host does: it writes its diagnostic events to tables
// in AzureWebJobsStorage (AzureWebJobsStorage__tableServiceUri) and reports AZFD0003 errors
// when it cannot.
resource appTableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storageAccount.id, appPrincipalId, roles.storageTableDataContributor)
  scope: storageAccount
  properties: {
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      roles.storageTableDataContributor
    )
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// List secrets by prefix and read their values; no write.
resource appSecretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, appPrincipalId, roles.keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Application Insights has local auth disabled: ingestion needs this role.
resource appMetricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, appPrincipalId, roles.monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      roles.monitoringMetricsPublisher
    )
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// --- The deploying user (optional) -------------------------------------------------------

// `gallery-export register-author` writes secrets.
resource deployerSecretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (hasDeployer) {
  name: guid(vault.id, deployerPrincipalId, roles.keyVaultSecretsOfficer)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsOfficer)
    principalId: deployerPrincipalId
    principalType: deployerPrincipalType
  }
}

// Reader: list / verify / get. Contributor: also purge and run. Owner: also blob index tags
// (writing tagged snapshots with `run`, tag queries).
resource deployerBlobRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (hasDeployer && deployerStorageRole != 'None') {
  name: guid(
    storageAccount.id,
    deployerPrincipalId,
    deployerBlobRoles[?deployerStorageRole] ?? roles.storageBlobDataReader
  )
  scope: storageAccount
  properties: {
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      deployerBlobRoles[?deployerStorageRole] ?? roles.storageBlobDataReader
    )
    principalId: deployerPrincipalId
    principalType: deployerPrincipalType
  }
}
