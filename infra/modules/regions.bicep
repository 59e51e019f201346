// The regions that offer Flex Consumption, as listed by the Flex Consumption quickstart
// (Azure-Samples/functions-quickstart-typescript-azd) without its canary region. The list grows:
// `az functionapp list-flexconsumption-locations -o table` gives the current one. main.bicep
// repeats it in its @allowed decorator (decorators take literals only); a test keeps both equal.

@export()
@description('Regions that offer Flex Consumption.')
var flexConsumptionRegions = [
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
]
