// Every role assignment of the deployment, each scoped to the smallest resource the service
// lets a role be scoped to (a container, a queue; an account or a vault only where the caller
// works across it, or where the resource does not exist yet), never the resource group; named
// guid(scope, principal, role) so redeployments are idempotent.

@description('Name of the Functions host\'s storage account (AzureWebJobsStorage, deployment package).')
param hostStorageAccountName string

@description('Name of the exports storage account (EXPORT_STORAGE).')
param exportStorageAccountName string

@description('Name of the exports container (EXPORT_CONTAINER).')
param exportContainerName string

@description('Name of the fan-out queue (EXPORT_QUEUE); its poison queue is "<name>-poison".')
param exportQueueName string

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

@description('Blob data role the deployer gets on the exports account (see docs/deploy.md).')
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
  storageQueueDataReader: '19e7f393-937e-4f77-808e-94535e297925'
  storageQueueDataMessageProcessor: '8a0f0c08-91a1-4084-bc3d-661d67233fed'
  storageQueueDataMessageSender: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  keyVaultSecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
  keyVaultCryptoUser: '12338af0-0e69-4776-bea7-57ae8d297424'
  keyVaultCryptoOfficer: '14b46e9e-c2b7-41b4-b07b-48a6ebf60603'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

var deployerBlobRoles = {
  Reader: roles.storageBlobDataReader
  Contributor: roles.storageBlobDataContributor
  Owner: roles.storageBlobDataOwner
}

var hasDeployer = !empty(deployerPrincipalId)

// Role assignments a redeployment replaced, for the postprovision hook to remove
// (scripts/revoke-replaced-roles.js): ARM creates what a template declares and deletes nothing.
type replacedRoleAssignments = {
  @description('Scope (resource ID) the assignments were made at.')
  scope: string

  @description('Principal (object) ID they were made to.')
  principalId: string

  @description('Each by the name every version of this template gives it, guid(scope, principal, role), and its role.')
  assignments: {
    name: string
    roleDefinitionId: string
  }[]

  @description('When the assignments replacing them were created: the hook waits for them to propagate first.')
  replacedAt: string[]
}

resource hostStorage 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: hostStorageAccountName
}

resource exportStorage 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: exportStorageAccountName

  resource blobService 'blobServices' existing = {
    name: 'default'

    resource exportContainer 'containers' existing = {
      name: exportContainerName
    }
  }

  resource queueService 'queueServices' existing = {
    name: 'default'

    resource exportQueue 'queues' existing = {
      name: exportQueueName
    }

    resource exportPoisonQueue 'queues' existing = {
      name: '${exportQueueName}-poison'
    }
  }
}

// The deployer's blob data role assignments on the exports account, one per role, by the name the
// template gives each (deployerBlobRole), and those a given deployerStorageRole replaces: the others.
var deployerBlobAssignments = {
  Reader: {
    name: guid(exportStorage.id, deployerPrincipalId, roles.storageBlobDataReader)
    roleDefinitionId: roles.storageBlobDataReader
  }
  Contributor: {
    name: guid(exportStorage.id, deployerPrincipalId, roles.storageBlobDataContributor)
    roleDefinitionId: roles.storageBlobDataContributor
  }
  Owner: {
    name: guid(exportStorage.id, deployerPrincipalId, roles.storageBlobDataOwner)
    roleDefinitionId: roles.storageBlobDataOwner
  }
}

var deployerReplacedBlobAssignments = {
  None: [
    deployerBlobAssignments.Reader
    deployerBlobAssignments.Contributor
    deployerBlobAssignments.Owner
  ]
  Reader: [
    deployerBlobAssignments.Contributor
    deployerBlobAssignments.Owner
  ]
  Contributor: [
    deployerBlobAssignments.Reader
    deployerBlobAssignments.Owner
  ]
  Owner: [
    deployerBlobAssignments.Reader
    deployerBlobAssignments.Contributor
  ]
}

resource vault 'Microsoft.KeyVault/vaults@2024-11-01' existing = {
  name: keyVaultName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// --- The Function App's identity on the host's account -----------------------------------

// Account scope: the host creates and manages its own containers there (azure-webjobs-hosts,
// azure-webjobs-secrets) at run time, and Flex reads the deployment package with this identity.
// Owner rather than Contributor: the Functions documentation names Storage Blob Data Owner for an
// identity-based AzureWebJobsStorage, and the Flex quickstart grants it. This account holds no
// personal data (exportStorage.bicep).
resource appHostBlobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(hostStorage.id, appPrincipalId, roles.storageBlobDataOwner)
  scope: hostStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// The host writes its diagnostic events to tables in AzureWebJobsStorage
// (AzureWebJobsStorage__tableServiceUri) and reports AZFD0003 errors when it cannot.
resource appHostTableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(hostStorage.id, appPrincipalId, roles.storageTableDataContributor)
  scope: hostStorage
  properties: {
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      roles.storageTableDataContributor
    )
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// --- The Function App's identity on the exports account ----------------------------------

// Container scope: the app touches one container. Owner rather than Contributor: only Owner
// carries the blob index tag permission (tags/write) that every upload needs (the app tags
// each blob with runId, kind, authorId); Owner on a container also covers the container lease
// that is the run lock, and creating the container if it is missing.
resource appExportBlobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(exportStorage::blobService::exportContainer.id, appPrincipalId, roles.storageBlobDataOwner)
  scope: exportStorage::blobService::exportContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Queue scope, per queue, the three narrow queue data roles, never Contributor (which may also create,
// delete and reconfigure a queue). The queue trigger (connection EXPORT_STORAGE) needs Reader and
// Message Processor: it reads messages, hides them while it works, deletes them when done. Message
// Sender is for what is put on each queue: on the main one the app enqueues one message per author;
// on the poison one the Functions host moves a message that failed every delivery. The host's move
// sends first and creates the queue only if the send finds none (the queue extension's
// AddMessageAndCreateIfNotExistsAsync); the template creates both queues, so it never has to, and a
// poison queue gets no poison queue of its own.
resource appExportQueueReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(exportStorage::queueService::exportQueue.id, appPrincipalId, roles.storageQueueDataReader)
  scope: exportStorage::queueService::exportQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataReader)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource appExportQueueProcessor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(exportStorage::queueService::exportQueue.id, appPrincipalId, roles.storageQueueDataMessageProcessor)
  scope: exportStorage::queueService::exportQueue
  properties: {
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      roles.storageQueueDataMessageProcessor
    )
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource appExportQueueSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(exportStorage::queueService::exportQueue.id, appPrincipalId, roles.storageQueueDataMessageSender)
  scope: exportStorage::queueService::exportQueue
  properties: {
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      roles.storageQueueDataMessageSender
    )
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource appExportPoisonQueueReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(exportStorage::queueService::exportPoisonQueue.id, appPrincipalId, roles.storageQueueDataReader)
  scope: exportStorage::queueService::exportPoisonQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataReader)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource appExportPoisonQueueProcessor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(
    exportStorage::queueService::exportPoisonQueue.id,
    appPrincipalId,
    roles.storageQueueDataMessageProcessor
  )
  scope: exportStorage::queueService::exportPoisonQueue
  properties: {
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      roles.storageQueueDataMessageProcessor
    )
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource appExportPoisonQueueSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(exportStorage::queueService::exportPoisonQueue.id, appPrincipalId, roles.storageQueueDataMessageSender)
  scope: exportStorage::queueService::exportPoisonQueue
  properties: {
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      roles.storageQueueDataMessageSender
    )
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// --- The Function App's identity on Key Vault and Application Insights -------------------

// Vault scope: the app lists the secrets by prefix (a listing is a vault-wide operation) and
// reads their values; no write.
resource appSecretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, appPrincipalId, roles.keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Vault scope: sign with (and read the public part of) the signing key, every version of it.
// Crypto User is the least built-in role that can sign; it cannot create, change or delete a key.
// Not the key's own scope: the key does not exist yet when this is assigned (the postprovision
// hook creates it), and the vault holds no other key (Microsoft recommends vault-scoped roles in
// a vault per application and environment).
resource appCryptoUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, appPrincipalId, roles.keyVaultCryptoUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultCryptoUser)
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

// `gallery-export register-author` writes secrets; `gallery-export purge` deletes the erased
// author's secrets.
resource deployerSecretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (hasDeployer) {
  name: guid(vault.id, deployerPrincipalId, roles.keyVaultSecretsOfficer)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsOfficer)
    principalId: deployerPrincipalId
    principalType: deployerPrincipalType
  }
}

// The postprovision hook (scripts/create-signing-key.js) creates the signing key as the deployer:
// Key Vault checks the caller's own data-plane rights when ARM creates a key, and Crypto Officer is
// the least built-in role that may create one. The same role rotates the key or changes its
// rotation policy by hand (docs/deploy.md) and reads its public part (`gallery-export public-key`).
// It could also sign: the deployer is the key's custodian (and, as the one who assigns roles
// here, could grant itself that anyway).
resource deployerCryptoOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (hasDeployer) {
  name: guid(vault.id, deployerPrincipalId, roles.keyVaultCryptoOfficer)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultCryptoOfficer)
    principalId: deployerPrincipalId
    principalType: deployerPrincipalType
  }
}

// Reader: list / verify / get. Contributor: also purge and run. Owner: also blob index tags
// (writing tagged snapshots with `run`, tag queries). On the exports account: a person may
// look at any container there, and none of them holds code. One assignment per role, named with
// it: ARM cannot change the role of an existing assignment (only its description and condition),
// so a changed deployerStorageRole makes a new one, and the postprovision hook removes the one it
// replaced (revokedRoleAssignments below).
resource deployerBlobRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (hasDeployer && deployerStorageRole != 'None') {
  name: guid(
    exportStorage.id,
    deployerPrincipalId,
    deployerBlobRoles[?deployerStorageRole] ?? roles.storageBlobDataReader
  )
  scope: exportStorage
  properties: {
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      deployerBlobRoles[?deployerStorageRole] ?? roles.storageBlobDataReader
    )
    principalId: deployerPrincipalId
    principalType: deployerPrincipalType
  }
}

// When the identity's access to the deployment package was granted. A fresh assignment takes a
// few minutes to reach the storage service; the postprovision hook
// (scripts/wait-for-role-propagation.js) waits until this is old enough before azd deploys.
output appHostStorageRoleCreatedOn string = appHostBlobOwner.properties.createdOn

// When the deployer was granted Key Vault Crypto Officer (empty without a deployer): the hook that
// creates the signing key keeps trying while Key Vault does not see the role yet, for a while after
// this time.
output deployerVaultRoleCreatedOn string = hasDeployer ? deployerCryptoOfficer!.properties.createdOn : ''

// Role assignments earlier deployments made that this one replaced, for
// scripts/revoke-replaced-roles.js, each by the name the template gave it (so nothing granted by
// hand is touched): the app's Queue Data Contributor on each queue (now Reader + Message Processor +
// Message Sender), its account-wide roles on the exports account from the single-account layout (now
// container- and queue-scoped, and the host's on its own account), and the deployer's blob data
// roles other than deployerStorageRole. Never one this template makes.
output revokedRoleAssignments replacedRoleAssignments[] = concat(
  [
    {
      scope: exportStorage::queueService::exportQueue.id
      principalId: appPrincipalId
      assignments: [
        {
          name: guid(exportStorage::queueService::exportQueue.id, appPrincipalId, roles.storageQueueDataContributor)
          roleDefinitionId: roles.storageQueueDataContributor
        }
      ]
      replacedAt: [
        appExportQueueReader.properties.createdOn
        appExportQueueProcessor.properties.createdOn
        appExportQueueSender.properties.createdOn
      ]
    }
    {
      scope: exportStorage::queueService::exportPoisonQueue.id
      principalId: appPrincipalId
      assignments: [
        {
          name: guid(
            exportStorage::queueService::exportPoisonQueue.id,
            appPrincipalId,
            roles.storageQueueDataContributor
          )
          roleDefinitionId: roles.storageQueueDataContributor
        }
      ]
      replacedAt: [
        appExportPoisonQueueReader.properties.createdOn
        appExportPoisonQueueProcessor.properties.createdOn
        appExportPoisonQueueSender.properties.createdOn
      ]
    }
    {
      scope: exportStorage.id
      principalId: appPrincipalId
      assignments: [
        {
          name: guid(exportStorage.id, appPrincipalId, roles.storageBlobDataOwner)
          roleDefinitionId: roles.storageBlobDataOwner
        }
        {
          name: guid(exportStorage.id, appPrincipalId, roles.storageQueueDataContributor)
          roleDefinitionId: roles.storageQueueDataContributor
        }
        {
          name: guid(exportStorage.id, appPrincipalId, roles.storageTableDataContributor)
          roleDefinitionId: roles.storageTableDataContributor
        }
      ]
      replacedAt: [
        appExportBlobOwner.properties.createdOn
        appExportQueueProcessor.properties.createdOn
        appExportPoisonQueueSender.properties.createdOn
      ]
    }
  ],
  hasDeployer
    ? [
        {
          scope: exportStorage.id
          principalId: deployerPrincipalId
          assignments: deployerReplacedBlobAssignments[deployerStorageRole]
          replacedAt: deployerStorageRole == 'None' ? [] : [deployerBlobRole!.properties.createdOn]
        }
      ]
    : []
)
