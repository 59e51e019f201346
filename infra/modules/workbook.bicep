// The operations workbook: the charts an operator opens first, on the app's own Application
// Insights component (its OpenTelemetry metrics in customMetrics, its log lines in traces).
// docs/operations.md shows the same queries and says what to do with each chart; a test checks
// that every query here is there verbatim.

@description('Azure region.')
param location string

@description('Tags applied to the workbook.')
param tags { *: string }

@description('Name of the Application Insights component the workbook reads.')
param applicationInsightsName string

@description('Name shown in the portal.')
param displayName string

var runsByOutcome = '''
customMetrics
| where name == "gallery_export.runs"
| extend status = tostring(customDimensions["status"])
| summarize runs = sum(valueSum) by bin(timestamp, 1d), status
| order by timestamp asc'''

var recentRuns = '''
traces
| where message contains_cs "GalleryExport.RunFinished "
| parse kind=simple message with * "GalleryExport.RunFinished runId=" runId:string " status=" status:string " complete=" complete:long " failed=" failed:long " skipped=" skipped:long *
| project timestamp, runId, status, complete, failed, skipped
| order by timestamp desc
| take 50'''

var runDuration = '''
customMetrics
| where name == "gallery_export.run.duration"
| extend trigger = tostring(customDimensions["trigger"])
| summarize runs = sum(valueCount), averageSeconds = round(sum(valueSum) / sum(valueCount), 1), longestSeconds = max(valueMax) by bin(timestamp, 1d), trigger
| order by timestamp asc'''

var authorsByOutcome = '''
customMetrics
| where name == "gallery_export.authors"
| extend status = tostring(customDimensions["status"])
| summarize authors = sum(valueSum) by bin(timestamp, 1d), status
| order by timestamp asc'''

var failedAuthorsByCode = '''
customMetrics
| where name == "gallery_export.authors"
| where tostring(customDimensions["status"]) == "failed"
| extend errorCode = tostring(customDimensions["error_code"])
| summarize authors = sum(valueSum) by errorCode
| order by authors desc'''

var entitiesExported = '''
customMetrics
| where name == "gallery_export.entities.exported"
| summarize entities = sum(valueSum) by bin(timestamp, 1d)
| order by timestamp asc'''

var throttledRate = '''
customMetrics
| where name in ("gallery_export.catalog.requests", "gallery_export.catalog.throttled")
| summarize requests = sumif(valueSum, name == "gallery_export.catalog.requests"), throttled = sumif(valueSum, name == "gallery_export.catalog.throttled") by bin(timestamp, 1h)
| extend throttledPercent = iff(requests > 0, round(100.0 * throttled / requests, 2), 0.0)
| project timestamp, throttledPercent, requests, throttled
| order by timestamp asc'''

var retriesByReason = '''
customMetrics
| where name == "gallery_export.catalog.retries"
| extend reason = tostring(customDimensions["reason"])
| summarize retries = sum(valueSum) by bin(timestamp, 1h), reason
| order by timestamp asc'''

var catalogLatency = '''
customMetrics
| where name == "gallery_export.catalog.duration"
| extend route = tostring(customDimensions["route"])
| summarize averageMs = round(sum(valueSum) / sum(valueCount), 0), slowestMs = max(valueMax) by bin(timestamp, 1h), route
| order by timestamp asc'''

var tokensExpiring = '''
customMetrics
| where name == "gallery_export.tokens.expiring"
| extend expiryWindow = tostring(customDimensions["window"])
| summarize arg_max(timestamp, value) by expiryWindow
| project expiryWindow, tokens = value, recordedAt = timestamp'''

var tokensBySecret = '''
traces
| where message contains_cs "GalleryExport.TokenHealth "
| parse kind=simple message with * "GalleryExport.TokenHealth secret=" secret:string " authorId=" authorId:string " status=" status:string " expiresAt=" expiresAt:string " hoursLeft=" hoursLeftText:string
| summarize arg_max(timestamp, status, expiresAt, hoursLeftText) by secret
| extend daysLeft = round(todouble(trim(@"\s", hoursLeftText)) / 24, 1)
| where status != "valid" or daysLeft <= 30
| project secret, status, expiresAt, daysLeft, lastSeen = timestamp
| order by daysLeft asc'''

// What every chart shares: a KQL query over the component, in the time range picked at the top.
var chartDefaults = {
  version: 'KqlItem/1.0'
  size: 0
  queryType: 0
  resourceType: 'microsoft.insights/components'
  timeContextFromParameter: 'TimeRange'
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

var day = 86400000

var workbookContent = {
  version: 'Notebook/1.0'
  items: [
    {
      type: 1
      name: 'intro'
      content: {
        json: '## Gallery export\nRuns, authors and entities exported, the catalog\'s throttling, and the author tokens about to expire. When a run failed, start with **Recent runs**, then follow docs/operations.md.'
      }
    }
    {
      type: 9
      name: 'parameters'
      content: {
        version: 'KqlParameterItem/1.0'
        style: 'pills'
        queryType: 0
        resourceType: 'microsoft.insights/components'
        parameters: [
          {
            id: 'time-range'
            version: 'KqlParameterItem/1.0'
            name: 'TimeRange'
            label: 'Time range'
            type: 4
            isRequired: true
            value: {
              durationMs: 14 * day
            }
            typeSettings: {
              allowCustom: true
              selectableValues: [
                {
                  durationMs: day
                }
                {
                  durationMs: 7 * day
                }
                {
                  durationMs: 14 * day
                }
                {
                  durationMs: 30 * day
                }
                {
                  durationMs: 90 * day
                }
              ]
            }
          }
        ]
      }
    }
    {
      type: 1
      name: 'runs-heading'
      content: {
        json: '### Runs'
      }
    }
    {
      type: 3
      name: 'runs-by-outcome'
      content: union(chartDefaults, {
        title: 'Runs by outcome (per day)'
        query: runsByOutcome
        visualization: 'barchart'
      })
    }
    {
      type: 3
      name: 'recent-runs'
      content: union(chartDefaults, {
        title: 'Recent runs (open one with GET /api/exports/<runId>)'
        query: recentRuns
        visualization: 'table'
      })
    }
    {
      type: 3
      name: 'run-duration'
      content: union(chartDefaults, {
        title: 'Run duration, seconds (per day)'
        query: runDuration
        visualization: 'table'
      })
    }
    {
      type: 1
      name: 'authors-heading'
      content: {
        json: '### Authors and entities'
      }
    }
    {
      type: 3
      name: 'authors-by-outcome'
      content: union(chartDefaults, {
        title: 'Authors by outcome (per day)'
        query: authorsByOutcome
        visualization: 'barchart'
      })
    }
    {
      type: 3
      name: 'failed-authors-by-code'
      content: union(chartDefaults, {
        title: 'Failed authors by error code'
        query: failedAuthorsByCode
        visualization: 'table'
      })
    }
    {
      type: 3
      name: 'entities-exported'
      content: union(chartDefaults, {
        title: 'Entities exported in complete snapshots (per day)'
        query: entitiesExported
        visualization: 'barchart'
      })
    }
    {
      type: 1
      name: 'catalog-heading'
      content: {
        json: '### Catalog'
      }
    }
    {
      type: 3
      name: 'throttled-rate'
      content: union(chartDefaults, {
        title: '429 rate: throttled answers, % of catalog requests (per hour)'
        query: throttledRate
        visualization: 'linechart'
      })
    }
    {
      type: 3
      name: 'retries-by-reason'
      content: union(chartDefaults, {
        title: 'Retries by reason (per hour)'
        query: retriesByReason
        visualization: 'barchart'
      })
    }
    {
      type: 3
      name: 'catalog-latency'
      content: union(chartDefaults, {
        title: 'Catalog request duration, ms (per hour)'
        query: catalogLatency
        visualization: 'linechart'
      })
    }
    {
      type: 1
      name: 'tokens-heading'
      content: {
        json: '### Author tokens'
      }
    }
    {
      type: 3
      name: 'tokens-expiring'
      content: union(chartDefaults, {
        title: 'Token expiries ahead: tokens expired or expiring within 7 days, at the last run'
        query: tokensExpiring
        visualization: 'tiles'
      })
    }
    {
      type: 3
      name: 'tokens-by-secret'
      content: union(chartDefaults, {
        title: 'Tokens not valid, or expiring within 30 days, by secret'
        query: tokensBySecret
        visualization: 'table'
      })
    }
  ]
  fallbackResourceIds: [
    appInsights.id
  ]
}

// The name must be a GUID; derived from the component so each deployment has its own workbook
// and a redeployment updates it in place.
resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(appInsights.id, 'gallery-export-operations')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: displayName
    category: 'workbook'
    version: 'Notebook/1.0'
    sourceId: appInsights.id
    serializedData: string(workbookContent)
  }
}

output id string = workbook.id
output name string = workbook.name
