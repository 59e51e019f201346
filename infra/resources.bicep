// Everything gallery-export needs, in one resource group. Entry point for a plain
// `az deployment group create` (see docs/deploy.md); `azd up` reaches it through main.bicep,
// which creates the resource group first. Keep the parameters of both files identical
// (test/infra/bicep.test.ts checks it).
targetScope = 'resourceGroup'

import { flexConsumptionRegions } from 'modules/regions.bicep'

// --- Environment ---------------------------------------------------------------------------

@minLength(1)
@maxLength(64)
@description('Name of the environment (for example "prod"); part of the hash that makes resource names unique, and the azd-env-name tag.')
param environmentName string

@description('Region of every resource: one that offers Flex Consumption (flexConsumptionRegions in modules/regions.bicep; a test keeps main.bicep\'s allowed list equal to it).')
param location string = resourceGroup().location

@description('Object ID of the person or pipeline deploying; it gets Key Vault Secrets Officer, Key Vault Crypto Officer (to create the signing key after provisioning) and a blob data role (deployerStorageRole). Empty: no role for anyone but the app.')
param principalId string = ''

@description('Kind of principal principalId is.')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param principalType string = 'User'

@description('Blob data role for principalId on the exports storage account: Reader (list, verify, get), Contributor (also purge and run), Owner (also blob index tags, which `run` writes), or None.')
@allowed([
  'None'
  'Reader'
  'Contributor'
  'Owner'
])
param deployerStorageRole string = 'Reader'

@description('Tags added to every resource.')
param tags { *: string } = {}

// --- App settings of the contract (defaults are the contract's) ---------------------------

@description('CATALOG_BASE_URL: the Catalog API root.')
param catalogBaseUrl string = 'https://catalog.cortanaanalytics.com'

@description('AUTHOR_SECRET_PREFIX: Key Vault secrets whose name starts with it are authors.')
@minLength(1)
// A name prefix, not a secret: the rule only goes by the word "Secret" in the name, and the
// name is the contract's (AUTHOR_SECRET_PREFIX).
#disable-next-line secure-secrets-in-params
param authorSecretPrefix string = 'gallery-author-'

@description('EXPORT_CONTAINER: container for snapshots, run records and erasure records.')
@minLength(3)
@maxLength(63)
param exportContainer string = 'gallery-exports'

@description('EXPORT_QUEUE: one message per author per run; "<name>-poison" is created too.')
@minLength(3)
@maxLength(56)
param exportQueue string = 'gallery-export-authors'

@description('EXPORT_SCHEDULE: 6-field NCRONTAB (UTC) of the nightly run.')
param exportSchedule string = '0 0 2 * * *'

@description('CATALOG_PAGE_SIZE: $top of catalog list requests (at least 2: consecutive pages overlap by one item).')
@minValue(2)
@maxValue(1000)
param catalogPageSize int = 100

@description('CATALOG_CONCURRENCY: most catalog requests in flight per worker process, shared by every author that process exports. Each instance of the queue trigger runs one process; docs/deploy.md ("Scale and the catalog") gives the bound across instances.')
@minValue(1)
@maxValue(64)
param catalogConcurrency int = 8

@description('CATALOG_MAX_RETRIES: retries for 429, 5xx, resets and timeouts.')
@minValue(0)
@maxValue(20)
param catalogMaxRetries int = 5

@description('CATALOG_TIMEOUT_MS: timeout of one catalog request, in milliseconds.')
@minValue(1000)
@maxValue(600000)
param catalogTimeoutMs int = 30000

// --- Function App (Flex Consumption) -------------------------------------------------------

@description('Most on-demand Flex instances per function group: the queue trigger, the timer, the HTTP functions and the poison trigger each scale on their own. 40 is the lowest maximum Flex accepts outside a few preview regions. Only the queue trigger\'s instances call the catalog, each with up to catalogConcurrency requests: see docs/deploy.md ("Scale and the catalog").')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Memory of each Flex instance, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Client ID of an Entra ID app registration: App Service authentication then requires a valid access token for it on every HTTP request, in addition to the function key. Empty: off (function keys only).')
param entraAuthClientId string = ''

// --- Private networking --------------------------------------------------------------------

@description('Private networking: a virtual network the app integrates into, private endpoints for storage (blob, queue, table) and Key Vault, and public network access off on both storage accounts and the vault.')
param vnetEnabled bool = false

@description('Address space of the virtual network when vnetEnabled (at least a /23; two /24 subnets are used).')
param vnetAddressPrefix string = '10.20.0.0/16'

// --- Storage -------------------------------------------------------------------------------

@description('Redundancy of the exports storage account. Archive is not available on the zone-redundant SKUs.')
@allowed([
  'Standard_LRS'
  'Standard_GRS'
  'Standard_RAGRS'
  'Standard_ZRS'
  'Standard_GZRS'
  'Standard_RAGZRS'
])
param storageSkuName string = 'Standard_LRS'

@description('Days a deleted or overwritten blob stays recoverable (blob soft delete).')
@minValue(1)
@maxValue(365)
param blobSoftDeleteDays int = 14

@description('Days a deleted container stays recoverable (container soft delete).')
@minValue(1)
@maxValue(365)
param containerSoftDeleteDays int = 14

@description('Snapshots move to Cool this many days after they were written (N). N < M < R.')
@minValue(1)
param snapshotCoolAfterDays int = 30

@description('Tier after snapshotColdAfterDays: Cold (online) or Archive (offline, hours to rehydrate; `verify`/`get` fail on archived snapshots).')
@allowed([
  'Cold'
  'Archive'
])
param snapshotColdTier string = 'Cold'

@description('Snapshots move to snapshotColdTier this many days after they were written (M). N < M < R.')
@minValue(2)
param snapshotColdAfterDays int = 90

@description('Snapshots are deleted this many days after they were written (R, the retention period). N < M < R.')
@minValue(3)
param snapshotRetentionDays int = 730

@description('Run records (runs/...) are deleted this many days after their last update. At least snapshotRetentionDays (the default): a smaller value stops the deployment.')
@minValue(3)
param runRecordRetentionDays int = snapshotRetentionDays

@description('Previous blob versions are deleted this many days after they became previous versions. Bounds how long an erased snapshot survives as a version.')
@minValue(1)
param previousVersionRetentionDays int = 7

@description('Version-level WORM retention on the exports container, in days; 0 = off. Blocks erasure (`gallery-export purge`) until it has passed: see docs/deploy.md.')
@minValue(0)
@maxValue(146000)
param immutabilityPeriodDays int = 0

@description('Set to true once the exports container\'s immutability policy has been locked: a locked policy refuses the PUT a redeployment would send, so the template leaves it alone.')
param immutabilityPolicyLocked bool = false

// --- Key Vault -----------------------------------------------------------------------------

@description('Pricing tier of the vault: premium keeps the signing key in an HSM (RSA-HSM).')
@allowed([
  'standard'
  'premium'
])
param keyVaultSku string = 'standard'

@description('Days a deleted vault, secret or key stays recoverable (7-90); fixed once the vault exists.')
@minValue(7)
@maxValue(90)
param keyVaultSoftDeleteRetentionDays int = 90

@description('Purge protection of the vault (irreversible once on). Off only for test environments torn down and recreated under the same name (`azd down --purge`).')
param keyVaultPurgeProtection bool = true

@description('Public network access of the Key Vault without private networking: only Enabled works there (Disabled stops the deployment). With vnetEnabled the vault is always private.')
@allowed([
  'Enabled'
  'Disabled'
])
param keyVaultPublicNetworkAccess string = 'Enabled'

@description('SIGNING_KEY_NAME: the RSA 3072 key in the vault that signs every manifest and erasure record; created after provisioning by scripts/create-signing-key.js (azd\'s postprovision hook).')
@minLength(1)
@maxLength(127)
param signingKeyName string = 'gallery-export-signing'

@description('Key Vault rotates the signing key (creates a new version) this many days after the current version was created.')
@minValue(30)
@maxValue(1095)
param signingKeyRotationDays int = 365

// --- Monitoring and alerts -----------------------------------------------------------------

@description('Days Log Analytics keeps everything it receives: the storage and Key Vault audit logs, the app\'s logs and its Application Insights telemetry. Long enough for audits by default.')
@minValue(30)
@maxValue(730)
param logAnalyticsRetentionDays int = 365

@description('E-mail address the alerts are sent to; empty: no action group, alerts only show in the portal.')
param alertEmailAddress string = ''

@description('Alert when the catalog answered 429 (throttled) more often than this within an hour.')
@minValue(1)
param catalogThrottledAlertThreshold int = 100

@description('Alert when no run finished complete or partial within this many hours.')
@minValue(2)
@maxValue(48)
param runHeartbeatHours int = 26


// --- Names ---------------------------------------------------------------------------------

// main.bicep restricts location with @allowed (azd then offers only these regions); a plain
// group deployment defaults to the group's region, which is checked here instead. Every module
// takes its location from this variable, so an unsupported region stops the deployment before
// any resource changes.
var checkedLocation = contains(flexConsumptionRegions, location)
  ? location
  : fail('Region "${location}" does not offer Flex Consumption (see `az functionapp list-flexconsumption-locations`); choose another location, or add it to modules/regions.bicep and main.bicep if it now does.')

var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName, location))
var allTags = union(tags, {
  'azd-env-name': environmentName
})
var names = {
  identity: 'id-${resourceToken}'
  plan: 'plan-${resourceToken}'
  functionApp: 'func-${resourceToken}'
  // The exports account keeps the name the single account of earlier versions had, so an
  // upgrade keeps the exports where they are (docs/deploy.md: upgrading).
  exportStorage: 'st${resourceToken}'
  hostStorage: 'stfunc${resourceToken}'
  keyVault: 'kv-${resourceToken}'
  logAnalytics: 'log-${resourceToken}'
  applicationInsights: 'appi-${resourceToken}'
  alerts: 'alert-${resourceToken}'
  vnet: 'vnet-${resourceToken}'
  deploymentContainer: 'app-package'
}

// --- Resources -----------------------------------------------------------------------------

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: {
    name: names.identity
    location: checkedLocation
    tags: allTags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    logAnalyticsName: names.logAnalytics
    applicationInsightsName: names.applicationInsights
    location: checkedLocation
    tags: allTags
    retentionInDays: logAnalyticsRetentionDays
  }
}

module hostStorage 'modules/hostStorage.bicep' = {
  name: 'hostStorage'
  params: {
    name: names.hostStorage
    location: checkedLocation
    tags: allTags
    deploymentContainerName: names.deploymentContainer
    privateNetworking: vnetEnabled
  }
}

module exportStorage 'modules/exportStorage.bicep' = {
  name: 'exportStorage'
  params: {
    name: names.exportStorage
    location: checkedLocation
    tags: allTags
    skuName: storageSkuName
    exportContainerName: exportContainer
    exportQueueName: exportQueue
    blobSoftDeleteDays: blobSoftDeleteDays
    containerSoftDeleteDays: containerSoftDeleteDays
    snapshotCoolAfterDays: snapshotCoolAfterDays
    snapshotColdTier: snapshotColdTier
    snapshotColdAfterDays: snapshotColdAfterDays
    snapshotRetentionDays: snapshotRetentionDays
    runRecordRetentionDays: runRecordRetentionDays
    previousVersionRetentionDays: previousVersionRetentionDays
    immutabilityPeriodDays: immutabilityPeriodDays
    immutabilityPolicyLocked: immutabilityPolicyLocked
    privateNetworking: vnetEnabled
    logAnalyticsWorkspaceId: monitoring.outputs.workspaceId
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyVault'
  params: {
    name: names.keyVault
    location: checkedLocation
    tags: allTags
    skuName: keyVaultSku
    softDeleteRetentionInDays: keyVaultSoftDeleteRetentionDays
    purgeProtection: keyVaultPurgeProtection
    publicNetworkAccess: keyVaultPublicNetworkAccess
    privateNetworking: vnetEnabled
    logAnalyticsWorkspaceId: monitoring.outputs.workspaceId
    signingKeyName: signingKeyName
    signingKeyRotationDays: signingKeyRotationDays
  }
}

// Private endpoints for every service the app and its host reach: the host's blobs (keys,
// timers, package) and tables (diagnostic events), the exports' blobs and queues, the vault.
module network 'modules/network.bicep' = if (vnetEnabled) {
  name: 'network'
  // The endpoints name their targets by name (known before the deployment starts).
  dependsOn: [
    hostStorage
    exportStorage
    keyVault
  ]
  params: {
    name: names.vnet
    location: checkedLocation
    tags: allTags
    addressPrefix: vnetAddressPrefix
    privateLinks: [
      {
        name: 'host-blob'
        resourceType: 'Microsoft.Storage/storageAccounts'
        resourceName: names.hostStorage
        groupId: 'blob'
      }
      {
        name: 'host-table'
        resourceType: 'Microsoft.Storage/storageAccounts'
        resourceName: names.hostStorage
        groupId: 'table'
      }
      {
        name: 'exports-blob'
        resourceType: 'Microsoft.Storage/storageAccounts'
        resourceName: names.exportStorage
        groupId: 'blob'
      }
      {
        name: 'exports-queue'
        resourceType: 'Microsoft.Storage/storageAccounts'
        resourceName: names.exportStorage
        groupId: 'queue'
      }
      {
        name: 'vault'
        resourceType: 'Microsoft.KeyVault/vaults'
        resourceName: names.keyVault
        groupId: 'vault'
      }
    ]
  }
}

// Names are passed from `names` and the parameters (known before the deployment starts) rather
// than from module outputs, so what-if can predict the assignments; hence the explicit dependsOn.
module rbac 'modules/rbac.bicep' = {
  name: 'rbac'
  dependsOn: [
    hostStorage
    exportStorage
    keyVault
    monitoring
  ]
  params: {
    hostStorageAccountName: names.hostStorage
    exportStorageAccountName: names.exportStorage
    exportContainerName: exportContainer
    exportQueueName: exportQueue
    keyVaultName: names.keyVault
    applicationInsightsName: names.applicationInsights
    // The identity's principal ID exists only once the identity does, so what-if cannot
    // predict these assignment names. It stays in guid(): an identity deleted and recreated
    // under the same name gets a new principal ID, and must get new assignments rather than
    // a conflicting update of the old ones.
    #disable-next-line what-if-short-circuiting
    appPrincipalId: identity.outputs.principalId
    deployerPrincipalId: principalId
    deployerPrincipalType: principalType
    deployerStorageRole: deployerStorageRole
  }
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionApp'
  // The host connects to storage with the identity as soon as it starts: grant first.
  // (monitoring, storage and the network come in through rbac and the settings' references.)
  dependsOn: [
    rbac
  ]
  params: {
    name: names.functionApp
    planName: names.plan
    location: checkedLocation
    tags: allTags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    hostStorageAccountName: names.hostStorage
    deploymentContainerName: hostStorage.outputs.deploymentContainerName
    exportStorageAccountName: names.exportStorage
    applicationInsightsName: names.applicationInsights
    logAnalyticsWorkspaceId: monitoring.outputs.workspaceId
    virtualNetworkSubnetId: vnetEnabled ? network!.outputs.appSubnetId : ''
    entraAuthClientId: entraAuthClientId
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    contractSettings: {
      CATALOG_BASE_URL: catalogBaseUrl
      KEY_VAULT_URL: keyVault.outputs.uri
      AUTHOR_SECRET_PREFIX: authorSecretPrefix
      EXPORT_CONTAINER: exportStorage.outputs.exportContainerName
      EXPORT_QUEUE: exportStorage.outputs.exportQueueName
      EXPORT_SCHEDULE: exportSchedule
      CATALOG_PAGE_SIZE: string(catalogPageSize)
      CATALOG_CONCURRENCY: string(catalogConcurrency)
      CATALOG_MAX_RETRIES: string(catalogMaxRetries)
      CATALOG_TIMEOUT_MS: string(catalogTimeoutMs)
      SIGNING_KEY_NAME: keyVault.outputs.signingKeyName
    }
    deploymentSettings: {
      SNAPSHOT_RETENTION_DAYS: string(snapshotRetentionDays)
    }
  }
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  params: {
    location: checkedLocation
    tags: allTags
    namePrefix: names.alerts
    applicationInsightsId: monitoring.outputs.applicationInsightsId
    alertEmailAddress: alertEmailAddress
    catalogThrottledAlertThreshold: catalogThrottledAlertThreshold
    runHeartbeatHours: runHeartbeatHours
  }
}

module workbook 'modules/workbook.bicep' = {
  name: 'workbook'
  dependsOn: [
    monitoring
  ]
  params: {
    location: checkedLocation
    tags: allTags
    applicationInsightsName: names.applicationInsights
    displayName: 'Gallery export operations (${environmentName})'
  }
}

// --- Outputs (names and endpoints only; azd stores them in .azure/<env>/.env) --------------
// Named like the app's settings where the CLI reads the same value, so that
// `azd env get-values` gives `gallery-export` what it needs to work against Azure.

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = resourceGroup().name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_APP_URL string = 'https://${functionApp.outputs.defaultHostName}'
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_STORAGE_ACCOUNT_NAME string = exportStorage.outputs.name
output AZURE_STORAGE_BLOB_ENDPOINT string = exportStorage.outputs.blobEndpoint
output AZURE_STORAGE_QUEUE_ENDPOINT string = exportStorage.outputs.queueEndpoint
output AZURE_HOST_STORAGE_ACCOUNT_NAME string = hostStorage.outputs.name
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output AZURE_LOG_ANALYTICS_WORKSPACE_NAME string = monitoring.outputs.workspaceName
output AZURE_WORKBOOK_ID string = workbook.outputs.id
output AZURE_APP_STORAGE_ROLE_CREATED_ON string = rbac.outputs.appHostStorageRoleCreatedOn
output KEY_VAULT_URL string = keyVault.outputs.uri
output SIGNING_KEY_NAME string = keyVault.outputs.signingKeyName
// For the postprovision hook that creates the signing key (scripts/create-signing-key.js).
output AZURE_KEY_VAULT_ID string = keyVault.outputs.id
output SIGNING_KEY_PROPERTIES string = string(keyVault.outputs.signingKeyProperties)
output AZURE_DEPLOYER_VAULT_ROLE_CREATED_ON string = rbac.outputs.deployerVaultRoleCreatedOn
output AZURE_RESOURCE_MANAGER_ENDPOINT string = environment().resourceManager
// For the postprovision hook that removes the role assignments this deployment replaced
// (scripts/revoke-replaced-roles.js).
output AZURE_REVOKED_ROLE_ASSIGNMENTS string = string(rbac.outputs.revokedRoleAssignments)
output EXPORT_STORAGE__blobServiceUri string = exportStorage.outputs.blobEndpoint
output EXPORT_STORAGE__queueServiceUri string = exportStorage.outputs.queueEndpoint
output EXPORT_CONTAINER string = exportStorage.outputs.exportContainerName
output EXPORT_QUEUE string = exportStorage.outputs.exportQueueName
output CATALOG_BASE_URL string = catalogBaseUrl
output SNAPSHOT_RETENTION_DAYS int = snapshotRetentionDays
