// Alerts on the app's own telemetry in its Application Insights component. Each signal is read
// where it is most reliable (docs/operations.md explains each choice):
//
// Log alerts, on trace lines (one line each, message text exactly):
//   GalleryExport.RunFinished runId=<runId> status=<complete|partial|failed> complete=<n> failed=<n> skipped=<n>
//   GalleryExport.TokenHealth secret=<name> authorId=<64 hex> status=<valid|expired|absent|mismatch|unreadable> expiresAt=<ISO 8601|-> hoursLeft=<number|->
// where an alert needs what only a line carries (the run ID, the secret's name) or must notice
// that something did not happen (no successful run).
//
// Metric alerts, on the app's OpenTelemetry metrics (App Insights custom metrics, namespace
// azure.applicationinsights), where the signal is a count or a level over time:
//   gallery_export.tokens.expiring (gauge), gallery_export.catalog.throttled (counter).
// Neither filters on a dimension: alerting on custom metric dimensions needs an opt-in on the
// component that templates cannot set, and both signals are meaningful as totals.
//
// The log rules are scoped to the component, so their queries run in its (classic) schema: the
// table is `traces` and the text is in `message` (in the workspace: `AppTraces` / `Message`).
// Traces must not be sampled away (host.json: samplingSettings.excludedTypes includes
// "Trace"), or a missing RunFinished line raises a false "no successful run" alert.

@description('Azure region of the Application Insights component.')
param location string

@description('Tags applied to the rules and the action group.')
param tags { *: string }

@description('Prefix of the rule names.')
param namePrefix string

@description('Resource ID of the Application Insights component the rules query.')
param applicationInsightsId string

@description('E-mail address notified when an alert fires; empty creates no action group (alerts still show in the portal).')
param alertEmailAddress string

@description('Alert when the catalog answered 429 more often than this within an hour.')
@minValue(1)
param catalogThrottledAlertThreshold int

@description('Alert when no run finished "complete" or "partial" within this many hours.')
@minValue(2)
@maxValue(48)
param runHeartbeatHours int

var hasEmail = !empty(alertEmailAddress)

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (hasEmail) {
  name: '${namePrefix}-ag'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'galleryexp'
    enabled: true
    emailReceivers: [
      {
        name: 'operator'
        emailAddress: alertEmailAddress
        useCommonAlertSchema: true
      }
    ]
  }
}

var actions = {
  actionGroups: hasEmail ? [actionGroup.id] : []
}

var metricActions = hasEmail
  ? [
      {
        actionGroupId: actionGroup.id
      }
    ]
  : []

var runFinishedParse = 'parse kind=simple message with * "GalleryExport.RunFinished runId=" runId:string " status=" status:string " complete=" complete:long " failed=" failed:long " skipped=" skipped:long *'

// 1. A run finished with failed authors, or failed as a whole. One alert per run.
resource runFailedAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${namePrefix}-run-failed'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Gallery export: run finished with failures'
    description: 'A GalleryExport.RunFinished line reported status=failed or failed>0. The run record (runs/<date>/<runId>.json) names each failed author and why.'
    severity: 2
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: join(
            [
              'traces'
              '| where message contains_cs "GalleryExport.RunFinished "'
              '| ${runFinishedParse}'
              '| where status == "failed" or failed > 0'
              '| project timestamp, runId, status, complete, failed, skipped'
            ],
            '\n'
          )
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          dimensions: [
            {
              name: 'runId'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    // Each failed run is its own event: fire for it, never "resolve" it.
    autoMitigate: false
    actions: actions
  }
}

// 2. A token that can never work until it is registered again: not this author's (mismatch) or
// not a JWT (unreadable). A log alert, one per secret: the gauge of alert 4 counts only expiry.
resource tokenUnusableAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${namePrefix}-token-unusable'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Gallery export: author token unusable'
    description: 'A GalleryExport.TokenHealth line reported a token that is not this author\'s (mismatch) or not a JWT (unreadable): unlisted entities of that author are not exported. Register the right token with `gallery-export register-author --token-stdin`.'
    severity: 3
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT1H'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: join(
            [
              'traces'
              '| where message contains_cs "GalleryExport.TokenHealth "'
              '| parse kind=simple message with * "GalleryExport.TokenHealth secret=" secret:string " authorId=" authorId:string " status=" status:string " expiresAt=" expiresAt:string " hoursLeft=" hoursLeftText:string'
              '| where status in ("mismatch", "unreadable")'
              '| project timestamp, secret, authorId, status'
            ],
            '\n'
          )
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          dimensions: [
            {
              name: 'secret'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: false
    actions: actions
  }
}

// 3. Heartbeat: no successful run lately. The look-back is longer than the window, so the
// query range is overridden (at most 2 days) and the exact cut-off is in the query.
resource noRecentRunAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${namePrefix}-no-recent-run'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Gallery export: no successful run in ${runHeartbeatHours} hours'
    description: 'No GalleryExport.RunFinished line with status complete or partial in the last ${runHeartbeatHours} hours: the timer did not fire, the app is down, or every run failed. Also fires on a new deployment until the first run completes.'
    severity: 1
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT1H'
    windowSize: 'PT1H'
    overrideQueryTimeRange: 'P2D'
    criteria: {
      allOf: [
        {
          query: join(
            [
              'traces'
              '| where timestamp > ago(${runHeartbeatHours}h)'
              '| where message contains_cs "GalleryExport.RunFinished "'
              '| ${runFinishedParse}'
              '| where status in ("complete", "partial")'
              '| project timestamp, runId, status'
            ],
            '\n'
          )
          timeAggregation: 'Count'
          operator: 'LessThan'
          threshold: 1
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    // Resolves by itself once a run completes.
    autoMitigate: true
    actions: actions
  }
}

// 4. Tokens expiring within 7 days, or expired: the level the app records when a run finishes
// (gallery_export.tokens.expiring, dimension window = expired | 7d). A metric alert: it stays
// fired while the level is above zero and resolves itself once the tokens are renewed and the
// next run records 0. The 24-hour window always holds the last nightly run's value.
resource tokensExpiringAlert 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: '${namePrefix}-tokens-expiring'
  location: 'global'
  tags: tags
  properties: {
    description: 'At the end of the last run, at least one registered author token had expired or expires within 7 days. Without a valid token, unlisted entities are not exported. The workbook (Token expiries ahead) names the secrets; renew each with `gallery-export register-author --token-stdin`.'
    severity: 3
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT1H'
    windowSize: 'PT24H'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'tokens-expiring'
          metricNamespace: 'azure.applicationinsights'
          metricName: 'gallery_export.tokens.expiring'
          timeAggregation: 'Maximum'
          operator: 'GreaterThan'
          threshold: 0
          // The metric exists only once the app has emitted it: without this, a first
          // deployment would be rejected.
          skipMetricValidation: true
        }
      ]
    }
    autoMitigate: true
    actions: metricActions
  }
}

// 5. The catalog throttles the export: more 429 answers within an hour than the threshold. A
// metric alert: a rate over time of a counter, which no log line carries (one line per 429
// would be noise). Lower CATALOG_CONCURRENCY or maximumInstanceCount when it fires repeatedly.
resource catalogThrottledAlert 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: '${namePrefix}-catalog-throttled'
  location: 'global'
  tags: tags
  properties: {
    description: 'The catalog answered 429 (throttled) more than ${catalogThrottledAlertThreshold} times within an hour (gallery_export.catalog.throttled). Requests are retried, but a run slows down and may fail authors once retries run out. If it persists, lower CATALOG_CONCURRENCY or maximumInstanceCount.'
    severity: 3
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'catalog-throttled'
          metricNamespace: 'azure.applicationinsights'
          metricName: 'gallery_export.catalog.throttled'
          timeAggregation: 'Total'
          operator: 'GreaterThan'
          threshold: catalogThrottledAlertThreshold
          skipMetricValidation: true
        }
      ]
    }
    autoMitigate: true
    actions: metricActions
  }
}

output actionGroupId string = hasEmail ? actionGroup.id : ''
output alertRuleNames string[] = [
  runFailedAlert.name
  tokenUnusableAlert.name
  noRecentRunAlert.name
  tokensExpiringAlert.name
  catalogThrottledAlert.name
]
