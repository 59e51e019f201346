// The Function App's user-assigned managed identity. User-assigned (not system-assigned) so
// that role assignments can be created before the app exists: the Flex host reaches its
// storage with this identity on first start, and the roles must already be in place.

@description('Name of the user-assigned managed identity.')
param name string

@description('Azure region.')
param location string

@description('Tags applied to the identity.')
param tags { *: string }

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
