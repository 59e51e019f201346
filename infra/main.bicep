// Entry point of `azd up` / `azd provision` (and `az deployment sub create`): creates the
// resource group, then deploys resources.bicep into it. azd handles a subscription-scoped
// template best: it creates and names the group itself (rg-<environment>), tags it, and
// `azd down` removes it whole. Resource-group-scoped templates are a beta feature of azd.
// Every parameter below is passed through unchanged; resources.bicep documents them and is
// the entry point for `az deployment group create`.
targetScope = 'subscription'

@description('Name of the resource group to create or update; empty: rg-<environmentName>.')
param resourceGroupName string = ''

// --- Environment ---------------------------------------------------------------------------

@minLength(1)
@maxLength(64)
@description('Name of the environment (for example "prod"); part of the hash that makes resource names unique, and the azd-env-name tag.')
param environmentName string

@minLength(1)
@description('Region of the resource group and of every resource: one that offers Flex Consumption (the same list as modules/regions.bicep).')
@allowed([
  'australiaeast'
  'australiasoutheast'
  'brazilsouth'
  'canadacentral'
  'centralindia'
  'centralus'
  'eastasia'
  'eastus'
  'eastus2'
  'francecentral'
  'germanywestcentral'
  'italynorth'
  'japaneast'
  'koreacentral'
  'northcentralus'
  'northeurope'
  'norwayeast'
  'southafricanorth'
  'southcentralus'
  'southeastasia'
  'southindia'
  'spaincentral'
  'swedencentral'
  'uaenorth'
  'uksouth'
  'ukwest'
  'westcentralus'
  'westeurope'
  'westus'
  'westus2'
  'westus3'
])
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

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

var allTags = union(tags, {
  'azd-env-name': environmentName
})

resource rg 'Microsoft.Resources/resourceGroups@2024-11-01' = {
  name: empty(resourceGroupName) ? 'rg-${environmentName}' : resourceGroupName
  location: location
  tags: allTags
}

module resources 'resources.bicep' = {
  name: 'gallery-export-resources'
  scope: rg
  params: {
    environmentName: environmentName
    location: location
    principalId: principalId
    principalType: principalType
    deployerStorageRole: deployerStorageRole
    tags: tags
    catalogBaseUrl: catalogBaseUrl
    authorSecretPrefix: authorSecretPrefix
    exportContainer: exportContainer
    exportQueue: exportQueue
    exportSchedule: exportSchedule
    catalogPageSize: catalogPageSize
    catalogConcurrency: catalogConcurrency
    catalogMaxRetries: catalogMaxRetries
    catalogTimeoutMs: catalogTimeoutMs
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    entraAuthClientId: entraAuthClientId
    vnetEnabled: vnetEnabled
    vnetAddressPrefix: vnetAddressPrefix
    storageSkuName: storageSkuName
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
    keyVaultSku: keyVaultSku
    keyVaultSoftDeleteRetentionDays: keyVaultSoftDeleteRetentionDays
    keyVaultPurgeProtection: keyVaultPurgeProtection
    keyVaultPublicNetworkAccess: keyVaultPublicNetworkAccess
    signingKeyName: signingKeyName
    signingKeyRotationDays: signingKeyRotationDays
    logAnalyticsRetentionDays: logAnalyticsRetentionDays
    alertEmailAddress: alertEmailAddress
    catalogThrottledAlertThreshold: catalogThrottledAlertThreshold
    runHeartbeatHours: runHeartbeatHours
  }
}

output AZURE_LOCATION string = resources.outputs.AZURE_LOCATION
output AZURE_TENANT_ID string = resources.outputs.AZURE_TENANT_ID
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = resources.outputs.AZURE_FUNCTION_APP_NAME
output AZURE_FUNCTION_APP_URL string = resources.outputs.AZURE_FUNCTION_APP_URL
output AZURE_KEY_VAULT_NAME string = resources.outputs.AZURE_KEY_VAULT_NAME
output AZURE_STORAGE_ACCOUNT_NAME string = resources.outputs.AZURE_STORAGE_ACCOUNT_NAME
output AZURE_STORAGE_BLOB_ENDPOINT string = resources.outputs.AZURE_STORAGE_BLOB_ENDPOINT
output AZURE_STORAGE_QUEUE_ENDPOINT string = resources.outputs.AZURE_STORAGE_QUEUE_ENDPOINT
output AZURE_HOST_STORAGE_ACCOUNT_NAME string = resources.outputs.AZURE_HOST_STORAGE_ACCOUNT_NAME
output APPLICATIONINSIGHTS_NAME string = resources.outputs.APPLICATIONINSIGHTS_NAME
output AZURE_LOG_ANALYTICS_WORKSPACE_NAME string = resources.outputs.AZURE_LOG_ANALYTICS_WORKSPACE_NAME
output AZURE_WORKBOOK_ID string = resources.outputs.AZURE_WORKBOOK_ID
output AZURE_APP_STORAGE_ROLE_CREATED_ON string = resources.outputs.AZURE_APP_STORAGE_ROLE_CREATED_ON
output KEY_VAULT_URL string = resources.outputs.KEY_VAULT_URL
output SIGNING_KEY_NAME string = resources.outputs.SIGNING_KEY_NAME
output AZURE_KEY_VAULT_ID string = resources.outputs.AZURE_KEY_VAULT_ID
output SIGNING_KEY_PROPERTIES string = resources.outputs.SIGNING_KEY_PROPERTIES
output AZURE_DEPLOYER_VAULT_ROLE_CREATED_ON string = resources.outputs.AZURE_DEPLOYER_VAULT_ROLE_CREATED_ON
output AZURE_RESOURCE_MANAGER_ENDPOINT string = resources.outputs.AZURE_RESOURCE_MANAGER_ENDPOINT
output AZURE_REVOKED_ROLE_ASSIGNMENTS string = resources.outputs.AZURE_REVOKED_ROLE_ASSIGNMENTS
output EXPORT_STORAGE__blobServiceUri string = resources.outputs.EXPORT_STORAGE__blobServiceUri
output EXPORT_STORAGE__queueServiceUri string = resources.outputs.EXPORT_STORAGE__queueServiceUri
output EXPORT_CONTAINER string = resources.outputs.EXPORT_CONTAINER
output EXPORT_QUEUE string = resources.outputs.EXPORT_QUEUE
output CATALOG_BASE_URL string = resources.outputs.CATALOG_BASE_URL
output SNAPSHOT_RETENTION_DAYS int = resources.outputs.SNAPSHOT_RETENTION_DAYS
