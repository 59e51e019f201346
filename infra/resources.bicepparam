// Parameters for a plain resource-group deployment of resources.bicep:
//   az deployment group create -g <group> -f infra/resources.bicep -p infra/resources.bicepparam
// (see docs/deploy.md). Values come from the environment where it makes sense; every other
// parameter keeps the default documented in resources.bicep. `azd` does not use this file: it
// reads main.parameters.json.
using 'resources.bicep'

param environmentName = readEnvironmentVariable('GALLERY_EXPORT_ENV_NAME', 'prod')
param principalId = readEnvironmentVariable('GALLERY_EXPORT_PRINCIPAL_ID', '')
param principalType = 'User'
param deployerStorageRole = 'Reader'
param alertEmailAddress = readEnvironmentVariable('GALLERY_EXPORT_ALERT_EMAIL', '')
