// Flex Consumption plan + the Function App. Node 22, user-assigned identity for everything:
// the host's storage (AzureWebJobsStorage__*), the app's storage (EXPORT_STORAGE__*), the
// deployment package container, Key Vault and Application Insights. No key or connection
// string with a secret in it appears anywhere.

@description('Name of the Function App (globally unique: it is the host name).')
param name string

@description('Name of the Flex Consumption plan.')
param planName string

@description('Azure region (must offer Flex Consumption).')
param location string

@description('Tags applied to the plan and the app (the app also gets azd-service-name).')
param tags { *: string }

@description('Resource ID of the user-assigned identity.')
param identityId string

@description('Client ID of the user-assigned identity.')
param identityClientId string

@description('Name of the storage account.')
param storageAccountName string

@description('Container holding the deployment package.')
param deploymentContainerName string

@description('Name of the Application Insights component.')
param applicationInsightsName string

@description('Upper bound of instances Flex may scale out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int

@description('Memory of each instance, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int

@description('The settings of the product\'s contract (docs: README settings table), all strings.')
param contractSettings contractSettingsType

// Every setting of the contract, typed, so that a missing one is a compile error here rather
// than a loadConfig failure in Azure.
type contractSettingsType = {
  CATALOG_BASE_URL: string
  KEY_VAULT_URL: string
  AUTHOR_SECRET_PREFIX: string
  EXPORT_CONTAINER: string
  EXPORT_QUEUE: string
  EXPORT_SCHEDULE: string
  CATALOG_PAGE_SIZE: string
  CATALOG_CONCURRENCY: string
  CATALOG_MAX_RETRIES: string
  CATALOG_TIMEOUT_MS: string
}

resource storageAccount 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: storageAccountName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2024-11-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-11-01' = {
  name: name
  location: location
  // azd finds the app to deploy the `api` service to by this tag.
  tags: union(tags, {
    'azd-service-name': 'api'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageAccount.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }
}

// Publishing with user/password (FTP and the SCM site's basic auth) is off; azd, `func` and
// `az functionapp deployment` publish with an Entra ID token.
resource ftpBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-11-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-11-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

// Flex Consumption takes the runtime from functionAppConfig: FUNCTIONS_WORKER_RUNTIME,
// FUNCTIONS_EXTENSION_VERSION and WEBSITE_NODE_DEFAULT_VERSION must not be set.
resource appSettings 'Microsoft.Web/sites/config@2024-11-01' = {
  parent: functionApp
  name: 'appsettings'
  // Listed one by one (not union()) so that the compiled template shows every name.
  properties: {
    CATALOG_BASE_URL: contractSettings.CATALOG_BASE_URL
    KEY_VAULT_URL: contractSettings.KEY_VAULT_URL
    AUTHOR_SECRET_PREFIX: contractSettings.AUTHOR_SECRET_PREFIX
    EXPORT_CONTAINER: contractSettings.EXPORT_CONTAINER
    EXPORT_QUEUE: contractSettings.EXPORT_QUEUE
    EXPORT_SCHEDULE: contractSettings.EXPORT_SCHEDULE
    CATALOG_PAGE_SIZE: contractSettings.CATALOG_PAGE_SIZE
    CATALOG_CONCURRENCY: contractSettings.CATALOG_CONCURRENCY
    CATALOG_MAX_RETRIES: contractSettings.CATALOG_MAX_RETRIES
    CATALOG_TIMEOUT_MS: contractSettings.CATALOG_TIMEOUT_MS

    // The host's own storage, identity-based. Blob: keys, timer status, locks. Queue: used by
    // the host for blob-trigger receipts and scale. Table: host diagnostic events.
    AzureWebJobsStorage__blobServiceUri: storageAccount.properties.primaryEndpoints.blob
    AzureWebJobsStorage__queueServiceUri: storageAccount.properties.primaryEndpoints.queue
    AzureWebJobsStorage__tableServiceUri: storageAccount.properties.primaryEndpoints.table
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identityClientId

    // The app's storage (contract setting EXPORT_STORAGE, identity-based form): the queue
    // trigger's connection and the SDK clients.
    EXPORT_STORAGE__blobServiceUri: storageAccount.properties.primaryEndpoints.blob
    EXPORT_STORAGE__queueServiceUri: storageAccount.properties.primaryEndpoints.queue
    EXPORT_STORAGE__credential: 'managedidentity'
    EXPORT_STORAGE__clientId: identityClientId

    // DefaultAzureCredential picks a user-assigned identity only when told its client ID.
    AZURE_CLIENT_ID: identityClientId

    // The connection string of a workspace-based component holds no secret (the
    // instrumentation key only routes data); with local auth disabled, ingestion is accepted
    // only with the Entra ID token this authentication string asks for.
    APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  }
}

output id string = functionApp.id
output name string = functionApp.name
output defaultHostName string = functionApp.properties.defaultHostName
