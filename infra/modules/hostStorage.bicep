// The Functions host's own storage account (AzureWebJobsStorage): host keys, timer schedule
// status and singleton locks, the host's diagnostic events (tables), and the Flex Consumption
// deployment package. Nothing of the product lives here: the exports have an account of their own
// (exportStorage.bicep), so the role that lets the host rewrite its code package never reaches
// personal data, and the role that writes personal data never reaches the code package.
// Shared-key access is off: every caller authenticates with Entra ID (see rbac.bicep).

@description('Name of the storage account (3-24 lowercase letters and digits, globally unique).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region.')
param location string

@description('Tags applied to the account.')
param tags { *: string }

@description('Container holding the Flex Consumption deployment package.')
param deploymentContainerName string

@description('Private networking: public network access off, reachable through private endpoints only.')
param privateNetworking bool

resource account 'Microsoft.Storage/storageAccounts@2025-01-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  // The host's state is rebuilt by the host and the package by a redeployment: no need for
  // zone or geo redundancy here, whatever the exports account uses.
  sku: {
    name: 'Standard_LRS'
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
    // A deleted package or host blob can be brought back for a week; no versioning: the host
    // overwrites its status blobs constantly.
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-01-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

output id string = account.id
output name string = account.name
output blobEndpoint string = account.properties.primaryEndpoints.blob
output tableEndpoint string = account.properties.primaryEndpoints.table
output deploymentContainerName string = deploymentContainer.name
