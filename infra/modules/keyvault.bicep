// Key Vault holding one secret per author (see docs/deploy.md) and the RSA key that signs every
// manifest and erasure record (SIGNING_KEY_NAME; the postprovision hook creates it, see below).
// Authorization is Azure RBAC only (no access policies), soft delete is on, purge protection is on
// unless a test environment turns it off, and every data-plane access is logged to Log Analytics
// (category group "audit").

@description('Name of the vault (3-24 characters, globally unique).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region.')
param location string

@description('Tags applied to the vault.')
param tags { *: string }

@description('Pricing tier: "premium" keeps the signing key in an HSM (RSA-HSM).')
@allowed([
  'standard'
  'premium'
])
param skuName string

@description('Days a deleted vault or secret stays recoverable (7-90). Cannot be changed after the vault is created.')
@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int

@description('Purge protection: a deleted vault, secret or key cannot be purged before softDeleteRetentionInDays. Irreversible once on.')
param purgeProtection bool

@description('Public network access asked for. "Disabled" is only accepted with private networking.')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string

@description('Private networking: the vault is reached through its private endpoint only.')
param privateNetworking bool

@description('Resource ID of the Log Analytics workspace receiving the vault audit log.')
param logAnalyticsWorkspaceId string

@description('Name of the RSA key that signs manifests and erasure records.')
@minLength(1)
@maxLength(127)
param signingKeyName string

@description('Key Vault creates a new version of the signing key this many days after the current one was created.')
@minValue(30)
@maxValue(1095)
param signingKeyRotationDays int

// The properties of Microsoft.KeyVault/vaults/keys this template sets for the signing key.
type signingKeyPropertiesType = {
  kty: 'RSA' | 'RSA-HSM'
  keySize: int
  keyOps: ('sign' | 'verify')[]
  attributes: {
    enabled: bool
  }
  rotationPolicy: {
    attributes: {
      expiryTime: string
    }
    lifetimeActions: {
      trigger: {
        timeAfterCreate: string?
        timeBeforeExpiry: string?
      }
      action: {
        type: 'rotate' | 'notify'
      }
    }[]
  }
}

// Without private networking the Function App reaches the vault over its public endpoint, so
// "Disabled" would leave the app unable to read a single author: refuse it here, before any
// resource changes, rather than deploy an app that cannot run.
var effectivePublicNetworkAccess = privateNetworking
  ? 'Disabled'
  : publicNetworkAccess == 'Enabled'
      ? 'Enabled'
      : fail('keyVaultPublicNetworkAccess "Disabled" needs private networking (vnetEnabled=true): without a private endpoint the Function App cannot reach the vault.')

// A version that was not rotated away expires 60 days after its rotation was due; Key Vault
// raises its near-expiry event (Event Grid, KeyNearExpiry) 30 days before that.
var signingKeyExpiryDays = signingKeyRotationDays + 60

resource vault 'Microsoft.KeyVault/vaults@2024-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: skuName
    }
    enableRbacAuthorization: true
    accessPolicies: []
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    // Once on, purge protection can never be turned off, and Key Vault rejects an explicit false
    // on a vault that has it: "off" is sent as an absent property. Off is for test environments
    // that tear down and recreate the same environment name (azd down --purge && azd up).
    enablePurgeProtection: purgeProtection ? true : null
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    publicNetworkAccess: effectivePublicNetworkAccess
    networkAcls: {
      defaultAction: effectivePublicNetworkAccess == 'Enabled' ? 'Allow' : 'Deny'
      bypass: 'AzureServices'
    }
  }
}

// The signing key is not a resource of this template. When ARM creates a key
// (Microsoft.KeyVault/vaults/keys), Key Vault checks the caller's own data-plane rights
// (ForbiddenByRbac ... 'Microsoft.KeyVault/vaults/keys/read' for a plain subscription Owner:
// Azure/bicep#6539, #7864), and the deployer's Key Vault Crypto Officer role (rbac.bicep) takes
// minutes to reach the vault, longer than a deployment can wait. The postprovision hook
// (scripts/create-signing-key.js) sends the same ARM request with these properties once it can,
// retrying while the role propagates. Key Vault creates the first version only when the key does
// not exist; for an existing key the PUT returns it unchanged (no new version, no update, the
// rotation policy included), so every later provision leaves the key alone. New versions come
// from the rotation policy (or `az keyvault key rotate`). The private key never leaves the vault:
// only sign and verify.
var signingKeyProperties signingKeyPropertiesType = {
  kty: skuName == 'premium' ? 'RSA-HSM' : 'RSA'
  keySize: 3072
  keyOps: [
    'sign'
    'verify'
  ]
  attributes: {
    enabled: true
  }
  rotationPolicy: {
    attributes: {
      expiryTime: 'P${signingKeyExpiryDays}D'
    }
    lifetimeActions: [
      {
        trigger: {
          timeAfterCreate: 'P${signingKeyRotationDays}D'
        }
        action: {
          type: 'rotate'
        }
      }
      {
        trigger: {
          timeBeforeExpiry: 'P30D'
        }
        action: {
          type: 'notify'
        }
      }
    ]
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
@description('Name of the signing key the postprovision hook creates (SIGNING_KEY_NAME).')
output signingKeyName string = signingKeyName

@description('ARM properties of the signing key (Microsoft.KeyVault/vaults/keys), for the postprovision hook.')
output signingKeyProperties signingKeyPropertiesType = signingKeyProperties
