// Log alerts on the app's own trace lines (one line each, message text exactly):
//   GalleryExport.RunFinished runId=<runId> status=<complete|partial|failed> complete=<n> failed=<n> skipped=<n>
//   GalleryExport.TokenHealth secret=<name> authorId=<64 hex> status=<valid|expired|absent|mismatch|unreadable> expiresAt=<ISO 8601|-> hoursLeft=<number|->
//
// The rules are scoped to the Application Insights component, so their queries run in the
// component's (classic) schema: the table is `traces` and the text is in `message`. The same
// rows are stored in the Log Analytics workspace as `AppTraces` / `Message`; a rule scoped to
// the workspace would have to use those names instead.
//
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

@description('Warn when a token expires within this many days (hoursLeft <= days * 24).')
@minValue(1)
@maxValue(60)
param tokenExpiryWarningDays int

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

// 2. A token about to expire (or expired, or unusable). One alert per secret.
resource tokenHealthAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${namePrefix}-token-expiry'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Gallery export: author token expiring or unusable'
    description: 'A GalleryExport.TokenHealth line reported an expired token, one expiring within ${tokenExpiryWarningDays} days, or one that is not this author\'s (mismatch) or not a JWT (unreadable). Without a valid token, unlisted entities are not exported. Renew it with `gallery-export register-author --token-stdin`.'
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
              '| extend hoursLeft = todouble(trim(@"\\s", hoursLeftText))' // "-" gives null
              '| where status in ("expired", "mismatch", "unreadable") or (isnotnull(hoursLeft) and hoursLeft <= ${tokenExpiryWarningDays * 24})'
              '| project timestamp, secret, authorId, status, expiresAt, hoursLeft'
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

output actionGroupId string = hasEmail ? actionGroup.id : ''
output alertRuleNames string[] = [
  runFailedAlert.name
  tokenHealthAlert.name
  noRecentRunAlert.name
]
