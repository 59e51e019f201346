// Parameters for a resource-group deployment of resources.bicep with private networking:
//   az deployment group create -g <group> -f infra/resources.bicep -p infra/resources.vnet.bicepparam
// The same as resources.bicepparam, plus a virtual network, private endpoints for storage and
// Key Vault, and public network access off on both storage accounts and the vault. Operators then
// reach the vault and the exports from inside the network (VPN, Bastion, a jump host): see
// docs/deploy.md, "Private networking". With azd: `azd env set GALLERY_EXPORT_VNET_ENABLED true`.
using 'resources.bicep'

param environmentName = readEnvironmentVariable('GALLERY_EXPORT_ENV_NAME', 'prod')
param principalId = readEnvironmentVariable('GALLERY_EXPORT_PRINCIPAL_ID', '')
param principalType = 'User'
param deployerStorageRole = 'Reader'
param alertEmailAddress = readEnvironmentVariable('GALLERY_EXPORT_ALERT_EMAIL', '')
param vnetEnabled = true
param vnetAddressPrefix = readEnvironmentVariable('GALLERY_EXPORT_VNET_ADDRESS_PREFIX', '10.20.0.0/16')
param keyVaultPublicNetworkAccess = 'Disabled'
