// Private networking (vnetEnabled = true), the layout of the Flex Consumption quickstart: one
// virtual network with a subnet the Function App integrates into (delegated to
// Microsoft.App/environments, which Flex Consumption requires) and a subnet for private endpoints.
// Every storage service the app and its host use, and the Key Vault, get a private endpoint whose
// address is published in a private DNS zone linked to the network, so the usual host names
// (st....blob.core.windows.net, kv-....vault.azure.net) resolve to private addresses from inside.
// The accounts and the vault themselves refuse public traffic in this mode (see hostStorage,
// exportStorage and keyvault).

@description('Name of the virtual network.')
param name string

@description('Azure region.')
param location string

@description('Tags applied to every resource of this module.')
param tags { *: string }

@description('Address space of the virtual network (at least a /23: two /24 subnets are carved from it).')
param addressPrefix string

@description('The resources that get a private endpoint, one entry per sub-resource (group ID).')
param privateLinks privateLinkType[]

@export()
@description('One private endpoint: the resource it reaches and which of its services.')
type privateLinkType = {
  @description('Short name, part of the endpoint name (for example "exports-blob").')
  name: string
  @description('Type of the resource the endpoint reaches.')
  resourceType: 'Microsoft.Storage/storageAccounts' | 'Microsoft.KeyVault/vaults'
  @description('Name of that resource, in this resource group.')
  resourceName: string
  @description('Private link sub-resource: blob, queue, table (storage) or vault (Key Vault).')
  groupId: 'blob' | 'queue' | 'table' | 'vault'
}

var appSubnetName = 'app'
var privateEndpointSubnetName = 'private-endpoints'

// The private DNS zone of each sub-resource, derived from the cloud's own suffixes so the template
// also works outside the public cloud (vault: .vault.azure.net -> privatelink.vaultcore.azure.net).
var zoneNames = {
  blob: 'privatelink.blob.${environment().suffixes.storage}'
  queue: 'privatelink.queue.${environment().suffixes.storage}'
  table: 'privatelink.table.${environment().suffixes.storage}'
  vault: replace(environment().suffixes.keyvaultDns, '.vault.', 'privatelink.vaultcore.')
}
var groupIds = [
  'blob'
  'queue'
  'table'
  'vault'
]

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        addressPrefix
      ]
    }
    // Subnets inline (not as child resources): a redeployment then never tries to remove them.
    subnets: [
      {
        name: appSubnetName
        properties: {
          // A /24 leaves room for maximumInstanceCount (up to 1000 needs a larger one, see docs).
          addressPrefix: cidrSubnet(addressPrefix, 24, 0)
          delegations: [
            {
              name: 'flex-consumption'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
          privateEndpointNetworkPolicies: 'Disabled'
          privateLinkServiceNetworkPolicies: 'Enabled'
        }
      }
      {
        name: privateEndpointSubnetName
        properties: {
          addressPrefix: cidrSubnet(addressPrefix, 24, 1)
          privateEndpointNetworkPolicies: 'Disabled'
          privateLinkServiceNetworkPolicies: 'Enabled'
        }
      }
    ]
  }

  resource appSubnet 'subnets' existing = {
    name: appSubnetName
  }

  resource privateEndpointSubnet 'subnets' existing = {
    name: privateEndpointSubnetName
  }
}

resource zones 'Microsoft.Network/privateDnsZones@2024-06-01' = [
  for groupId in groupIds: {
    name: zoneNames[groupId]
    location: 'global'
    tags: tags
  }
]

resource zoneLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [
  for (groupId, i) in groupIds: {
    parent: zones[i]
    name: '${name}-link'
    location: 'global'
    tags: tags
    properties: {
      registrationEnabled: false
      virtualNetwork: {
        id: vnet.id
      }
    }
  }
]

resource endpoints 'Microsoft.Network/privateEndpoints@2024-05-01' = [
  for link in privateLinks: {
    name: 'pe-${link.name}'
    location: location
    tags: tags
    properties: {
      subnet: {
        id: vnet::privateEndpointSubnet.id
      }
      privateLinkServiceConnections: [
        {
          name: link.name
          properties: {
            privateLinkServiceId: resourceId(link.resourceType, link.resourceName)
            groupIds: [
              link.groupId
            ]
          }
        }
      ]
    }
  }
]

// The zone group writes the endpoint's A record into the zone of its sub-resource, and keeps it
// up to date if the endpoint's address changes.
resource endpointDns 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-05-01' = [
  for (link, i) in privateLinks: {
    parent: endpoints[i]
    name: 'default'
    properties: {
      privateDnsZoneConfigs: [
        {
          name: link.groupId
          properties: {
            privateDnsZoneId: zones[indexOf(groupIds, link.groupId)].id
          }
        }
      ]
    }
  }
]

output id string = vnet.id
output name string = vnet.name
output appSubnetId string = vnet::appSubnet.id
