// The exports account (EXPORT_STORAGE): snapshots, run records and erasure records in the exports
// container, and the fan-out queue with its poison queue. It holds personal data and nothing else:
// the Functions host and its code package live in their own account (hostStorage.bicep). Every
// data-plane read, write and delete is logged to Log Analytics (audit trail), shared-key access is
// off and every caller authenticates with Entra ID (see rbac.bicep).

@description('Name of the storage account (3-24 lowercase letters and digits, globally unique).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region.')
param location string

@description('Tags applied to the account.')
param tags { *: string }

@description('Redundancy of the account. The Archive tier is not available on zone-redundant SKUs (ZRS, GZRS, RA-GZRS).')
@allowed([
  'Standard_LRS'
  'Standard_GRS'
  'Standard_RAGRS'
  'Standard_ZRS'
  'Standard_GZRS'
  'Standard_RAGZRS'
])
param skuName string

@description('Container holding snapshots, run records and erasure records (EXPORT_CONTAINER).')
@minLength(3)
@maxLength(63)
param exportContainerName string

@description('Queue carrying one message per author per run (EXPORT_QUEUE). Its poison queue "<name>-poison" is created too.')
@minLength(3)
@maxLength(56)
param exportQueueName string

@description('Days a deleted or overwritten blob (and a deleted blob version) stays recoverable.')
@minValue(1)
@maxValue(365)
param blobSoftDeleteDays int

@description('Days a deleted container stays recoverable.')
@minValue(1)
@maxValue(365)
param containerSoftDeleteDays int

@description('Snapshot files move to the Cool tier this many days after they were written.')
@minValue(1)
param snapshotCoolAfterDays int

@description('Tier snapshots move to after snapshotColdAfterDays: "Cold" (online, read at once) or "Archive" (offline: reading needs hours of rehydration first, so `verify` and `get` fail on archived snapshots).')
@allowed([
  'Cold'
  'Archive'
])
param snapshotColdTier string

@description('Snapshot files move to snapshotColdTier this many days after they were written. Must be greater than snapshotCoolAfterDays.')
@minValue(2)
param snapshotColdAfterDays int

@description('Snapshot files are deleted this many days after they were written. Must be greater than snapshotColdAfterDays.')
@minValue(3)
param snapshotRetentionDays int

@description('Run records (runs/...) are deleted this many days after their last update; at least snapshotRetentionDays.')
@minValue(3)
param runRecordRetentionDays int

@description('Previous versions of snapshot files and run records (made by every overwrite or delete) are deleted this many days after they became previous versions.')
@minValue(1)
param previousVersionRetentionDays int

@description('Days of version-level WORM retention on the exports container; 0 turns it off. See docs/deploy.md before turning it on: it blocks erasure.')
@minValue(0)
@maxValue(146000)
param immutabilityPeriodDays int

@description('The exports container\'s immutability policy has been locked (an irreversible operator action): the template then leaves it alone, since a locked policy rejects the PUT a deployment would send.')
param immutabilityPolicyLocked bool

@description('Private networking: public network access off, reachable through private endpoints only.')
param privateNetworking bool

@description('Resource ID of the Log Analytics workspace receiving the data-plane audit log.')
param logAnalyticsWorkspaceId string

// Lifecycle ordering cool < cold/archive < delete. Bicep parameter decorators cannot compare two
// parameters, and assertions are still an experimental feature, so the check is done by the
// deployment itself: fail() is evaluated only on the branch taken, and stops the deployment
// (before any resource changes) with this message.
var snapshotTiersOrdered = snapshotCoolAfterDays < snapshotColdAfterDays && snapshotColdAfterDays < snapshotRetentionDays
var archiveAvailable = !(snapshotColdTier == 'Archive' && contains(skuName, 'ZRS'))
var immutabilityEnabled = immutabilityPeriodDays > 0
// A run record explains the snapshots of its run (and the chain links retention breaks): it must
// outlive them. The deployment stops rather than silently keeping them longer than asked.
var runRecordsOutliveSnapshots = runRecordRetentionDays >= snapshotRetentionDays

resource account 'Microsoft.Storage/storageAccounts@2025-01-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    dnsEndpointType: 'Standard'
    // Without private networking, Flex Consumption reaches storage over its public endpoint.
    publicNetworkAccess: privateNetworking ? 'Disabled' : 'Enabled'
    networkAcls: privateNetworking
      ? {
          defaultAction: 'Deny'
          bypass: 'None'
        }
      : {
          defaultAction: 'Allow'
          bypass: 'AzureServices'
        }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2025-01-01' = {
  parent: account
  name: 'default'
  properties: {
    isVersioningEnabled: true
    deleteRetentionPolicy: {
      enabled: true
      days: blobSoftDeleteDays
      allowPermanentDelete: false
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: containerSoftDeleteDays
    }
  }
}

// Version-level WORM (not container-level): the app updates run records in place (If-Match),
// which a container-level time-based policy forbids for every blob in the container. With
// version-level immutability an overwrite creates a new version and the previous one stays
// immutable, so the app keeps working while every version written is retained.
// immutableStorageWithVersioning can only be set when the container is created; turning WORM
// on for an existing deployment needs a container migration first (docs/deploy.md).
resource exportContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-01-01' = {
  parent: blobService
  name: exportContainerName
  properties: {
    publicAccess: 'None'
    immutableStorageWithVersioning: immutabilityEnabled
      ? {
          enabled: true
        }
      : null
  }
}

// The container's default version-level policy: each new blob version inherits it. It is
// created unlocked (an ARM PUT cannot lock it); locking is a separate, irreversible operator
// action (`az storage container immutability-policy lock`). Once locked, a PUT is refused, so
// a redeployment must skip it: immutabilityPolicyLocked says so (docs/deploy.md).
resource exportImmutability 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies@2025-01-01' = if (immutabilityEnabled && !immutabilityPolicyLocked) {
  parent: exportContainer
  name: 'default'
  properties: {
    immutabilityPeriodSinceCreationInDays: immutabilityPeriodDays
    allowProtectedAppendWrites: false
  }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2025-01-01' = {
  parent: account
  name: 'default'
}

resource exportQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2025-01-01' = {
  parent: queueService
  name: exportQueueName
}

// The Functions host moves a message here after 5 failed dequeues. Created up front so that
// alerts and operators can rely on it existing.
resource exportPoisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2025-01-01' = {
  parent: queueService
  name: '${exportQueueName}-poison'
}

// Two rules, each limited to its prefix. Nothing matches erasures/: erasure records and their
// signatures are the proof that an erasure happened, they hold no personal data, and no rule may
// ever delete them (nor their previous versions, which only a manual overwrite could make).
resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2025-01-01' = {
  parent: account
  name: 'default'
  // The policy's prefixes name the container; create it first.
  dependsOn: [
    exportContainer
  ]
  properties: {
    policy: {
      rules: [
        {
          // Snapshot files are written once (If-None-Match: *) and never modified, so "days
          // after modification" is their age.
          name: 'snapshots-tiering-and-retention'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                '${exportContainerName}/snapshots/'
              ]
            }
            actions: {
              baseBlob: {
                tierToCool: {
                  daysAfterModificationGreaterThan: snapshotTiersOrdered
                    ? snapshotCoolAfterDays
                    : fail('Lifecycle days must satisfy snapshotCoolAfterDays < snapshotColdAfterDays < snapshotRetentionDays.')
                }
                tierToCold: snapshotColdTier == 'Cold'
                  ? {
                      daysAfterModificationGreaterThan: snapshotColdAfterDays
                    }
                  : null
                tierToArchive: snapshotColdTier == 'Archive'
                  ? {
                      daysAfterModificationGreaterThan: archiveAvailable
                        ? snapshotColdAfterDays
                        : fail('snapshotColdTier "Archive" is not available on zone-redundant storage SKUs; use "Cold" or an LRS/GRS SKU.')
                    }
                  : null
                delete: {
                  daysAfterModificationGreaterThan: snapshotRetentionDays
                }
              }
              version: {
                delete: {
                  daysAfterCreationGreaterThan: previousVersionRetentionDays
                }
              }
            }
          }
        }
        {
          name: 'run-records-retention'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                '${exportContainerName}/runs/'
              ]
            }
            actions: {
              baseBlob: {
                delete: {
                  daysAfterModificationGreaterThan: runRecordsOutliveSnapshots
                    ? runRecordRetentionDays
                    : fail('runRecordRetentionDays must be at least snapshotRetentionDays: a run record explains its snapshots for as long as they exist.')
                }
              }
              version: {
                delete: {
                  daysAfterCreationGreaterThan: previousVersionRetentionDays
                }
              }
            }
          }
        }
      ]
    }
  }
}

// The audit trail of the personal data: who read, wrote or deleted which blob or message, with
// which identity, from where. Resource-specific tables StorageBlobLogs and StorageQueueLogs.
var auditLogs = [
  {
    category: 'StorageRead'
    enabled: true
  }
  {
    category: 'StorageWrite'
    enabled: true
  }
  {
    category: 'StorageDelete'
    enabled: true
  }
]

resource blobAudit 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'audit-to-log-analytics'
  scope: blobService
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: auditLogs
  }
}

resource queueAudit 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'audit-to-log-analytics'
  scope: queueService
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: auditLogs
  }
}

output id string = account.id
output name string = account.name
output blobEndpoint string = account.properties.primaryEndpoints.blob
output queueEndpoint string = account.properties.primaryEndpoints.queue
output exportContainerName string = exportContainer.name
output exportQueueName string = exportQueue.name
output exportPoisonQueueName string = exportPoisonQueue.name
