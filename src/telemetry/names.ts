/**
 * The names of gallery-export's telemetry, in one place: the workbook, the metric alerts
 * (infra/modules/alerts.bicep) and docs/operations.md query them, so they are part of the operations
 * contract and change only together with those. Every dimension is bounded: no author ID, no run ID,
 * no URL and never a token is a metric dimension.
 */

/** The instrumentation scope of every span and instrument. */
export const INSTRUMENTATION_SCOPE = 'gallery-export';

/** OpenTelemetry instrument names, exactly as Application Insights shows them in customMetrics. */
export const METRIC_NAMES = {
  /** Counter, one per finished run; dims status, trigger. */
  runs: 'gallery_export.runs',
  /** Histogram in seconds; dims status, trigger. */
  runDuration: 'gallery_export.run.duration',
  /** Counter, one per author outcome of a finished run; dims status, error_code, trigger. */
  authors: 'gallery_export.authors',
  /** Counter of entities in complete snapshots; dims trigger. */
  entitiesExported: 'gallery_export.entities.exported',
  /** Counter, one per HTTP attempt; dims route, status_code. */
  catalogRequests: 'gallery_export.catalog.requests',
  /** Counter of 429 answers; dims route. */
  catalogThrottled: 'gallery_export.catalog.throttled',
  /** Counter of retries; dims route, reason. */
  catalogRetries: 'gallery_export.catalog.retries',
  /** Histogram in milliseconds, per attempt; dims route, status_code. */
  catalogDuration: 'gallery_export.catalog.duration',
  /** Gauge recorded when a run finishes; dims window. */
  tokensExpiring: 'gallery_export.tokens.expiring',
} as const;

export type MetricName = (typeof METRIC_NAMES)[keyof typeof METRIC_NAMES];

/** Metric dimension keys (attribute keys of data points). */
export const METRIC_DIMENSIONS = {
  status: 'status',
  trigger: 'trigger',
  errorCode: 'error_code',
  route: 'route',
  statusCode: 'status_code',
  reason: 'reason',
  window: 'window',
} as const;

/** The catalog's two routes, as a bounded dimension. */
export type CatalogRoute = 'profile' | 'entities';

/** Why a catalog request was sent again. */
export type CatalogRetryReason = 'throttled' | 'server_error' | 'network' | 'invalid_body';

/** The windows of `gallery_export.tokens.expiring`: already expired, or expiring within 7 days. */
export type TokenWindow = 'expired' | '7d';

/** What a storage write span wrote. */
export type BlobKind = 'profile' | 'entities' | 'manifest' | 'signature' | 'run_record' | 'outcome';

/** Span names. Catalog spans follow the HTTP client conventions: `{method} {url.template}`. */
export const SPAN_NAMES = {
  run: 'gallery-export run',
  author: 'gallery-export author',
  catalog: {
    profile: 'GET /users/{authorId}',
    entities: 'GET /entities',
  } satisfies Record<CatalogRoute, string>,
  blobWrite: 'blob create',
} as const;

/** The `url.template` of each route: the path without the author ID or the query. */
export const CATALOG_URL_TEMPLATES: Readonly<Record<CatalogRoute, string>> = {
  profile: '/users/{authorId}',
  entities: '/entities',
};

/** Span attribute keys: gallery-export's own, and the semantic conventions' for HTTP client spans. */
export const SPAN_ATTRIBUTES = {
  runId: 'gallery_export.run.id',
  trigger: 'gallery_export.trigger',
  runStatus: 'gallery_export.run.status',
  authorsTotal: 'gallery_export.authors.total',
  authorsComplete: 'gallery_export.authors.complete',
  authorsFailed: 'gallery_export.authors.failed',
  authorsSkipped: 'gallery_export.authors.skipped',
  authorsPending: 'gallery_export.authors.pending',
  secretName: 'gallery_export.secret.name',
  authorStatus: 'gallery_export.author.status',
  errorCode: 'gallery_export.error.code',
  entities: 'gallery_export.entities',
  blobKind: 'gallery_export.blob.kind',
  blobBytes: 'gallery_export.blob.bytes',
  httpMethod: 'http.request.method',
  urlTemplate: 'url.template',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  httpStatusCode: 'http.response.status_code',
  resendCount: 'http.request.resend_count',
  errorType: 'error.type',
} as const;
