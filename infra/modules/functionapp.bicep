// Flex Consumption plan + the Function App. Node 22, user-assigned identity for everything:
// the host's storage account (AzureWebJobsStorage__*, the deployment package container), the
// exports account (EXPORT_STORAGE__*), Key Vault and Application Insights. No key or connection
// string with a secret in it appears anywhere. Optionally integrated into a virtual network
// (private networking), optionally behind App Service authentication (Entra ID).

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

@description('Name of the Functions host\'s storage account (AzureWebJobsStorage, deployment package).')
param hostStorageAccountName string

@description('Container of the host account holding the deployment package.')
param deploymentContainerName string

@description('Name of the exports storage account (EXPORT_STORAGE).')
param exportStorageAccountName string

@description('Resource ID of the subnet the app integrates into (private networking); empty: none.')
param virtualNetworkSubnetId string

@description('Resource ID of the Log Analytics workspace receiving the app\'s logs (FunctionAppLogs).')
param logAnalyticsWorkspaceId string

@description('Client ID of the Entra ID app registration that protects the HTTP API (App Service authentication); empty: off, function keys only.')
param entraAuthClientId string

@description('Name of the Application Insights component.')
param applicationInsightsName string

@description('Most on-demand instances Flex may scale out to, per function group (each trigger type, HTTP as one group).')
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

@description('Settings the templates add beyond the contract, all strings.')
param deploymentSettings deploymentSettingsType

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
  SIGNING_KEY_NAME: string
}

type deploymentSettingsType = {
  @description('Snapshot retention of the lifecycle policy, in days: `verify` uses it to explain chain links that retention broke.')
  SNAPSHOT_RETENTION_DAYS: string
}

resource hostStorage 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: hostStorageAccountName
}

resource exportStorage 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: exportStorageAccountName
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
    // Outbound traffic through the virtual network, where the private endpoints of storage and
    // Key Vault are; null without private networking.
    virtualNetworkSubnetId: empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${hostStorage.properties.primaryEndpoints.blob}${deploymentContainerName}'
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
    SIGNING_KEY_NAME: contractSettings.SIGNING_KEY_NAME
    SNAPSHOT_RETENTION_DAYS: deploymentSettings.SNAPSHOT_RETENTION_DAYS

    // The host's own storage account, identity-based. Blob: keys, timer status, locks. Table:
    // host diagnostic events. No queue: the host needs one only for blob triggers and Durable
    // Functions, which the app does not use (its queue is on EXPORT_STORAGE).
    AzureWebJobsStorage__blobServiceUri: hostStorage.properties.primaryEndpoints.blob
    AzureWebJobsStorage__tableServiceUri: hostStorage.properties.primaryEndpoints.table
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identityClientId

    // The exports account (contract setting EXPORT_STORAGE, identity-based form): the queue
    // trigger's connection and the SDK clients.
    EXPORT_STORAGE__blobServiceUri: exportStorage.properties.primaryEndpoints.blob
    EXPORT_STORAGE__queueServiceUri: exportStorage.properties.primaryEndpoints.queue
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

// The app's own log stream (FunctionAppLogs: every function start, end, failure and log line)
// in Log Analytics, kept as long as the audit logs.
resource appLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'logs-to-log-analytics'
  scope: functionApp
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        category: 'FunctionAppLogs'
        enabled: true
      }
    ]
  }
}

// App Service authentication in front of the HTTP API: a request without a valid Entra ID access
// token for this app registration gets 401 before it reaches a function; a function key is still
// required after it. Timer and queue triggers are not HTTP requests and are not affected. Only
// bearer tokens are validated (no login flow, no token store, no client secret).
resource entraAuth 'Microsoft.Web/sites/config@2024-11-01' = if (!empty(entraAuthClientId)) {
  parent: functionApp
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'Return401'
    }
    httpSettings: {
      requireHttps: true
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: entraAuthClientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
        }
        validation: {
          allowedAudiences: [
            'api://${entraAuthClientId}'
            entraAuthClientId
          ]
        }
      }
    }
    login: {
      tokenStore: {
        enabled: false
      }
    }
  }
}

output id string = functionApp.id
output name string = functionApp.name
output defaultHostName string = functionApp.properties.defaultHostName
