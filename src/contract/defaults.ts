/**
 * Every default of gallery-export in one block. `loadConfig` fills unset settings from
 * `DEFAULT_SETTINGS`; the catalog client, the listing and the spool take their numeric defaults from
 * here too, and the tests compare local.settings.sample.json, the README and the templates with it.
 */
export const DEFAULT_SETTINGS = {
  CATALOG_BASE_URL: 'https://catalog.cortanaanalytics.com',
  AUTHOR_SECRET_PREFIX: 'gallery-author-',
  EXPORT_CONTAINER: 'gallery-exports',
  EXPORT_QUEUE: 'gallery-export-authors',
  EXPORT_SCHEDULE: '0 0 2 * * *',
  CATALOG_PAGE_SIZE: '100',
  CATALOG_CONCURRENCY: '8',
  CATALOG_MAX_RETRIES: '5',
  CATALOG_TIMEOUT_MS: '30000',
  /** Empty: derived from CATALOG_CONCURRENCY (see `defaultAuthorConcurrency`). */
  AUTHOR_CONCURRENCY: '',
  AUTHOR_TIMEOUT_MS: '1200000',
  RUN_LOCK_SECONDS: '60',
  EXPORT_SPOOL_DIR: '',
  EXPORT_MODE: 'queue',
  SIGNING_KEY_NAME: '',
  SNAPSHOT_RETENTION_DAYS: '730',
} as const;

export type SettingName = keyof typeof DEFAULT_SETTINGS;

/**
 * Authors exported at once by one process when AUTHOR_CONCURRENCY is not set: enough that
 * CATALOG_CONCURRENCY requests are ready whenever that many are allowed. A small author has only one or
 * two requests ready at a time (its profile and its first page, then its remaining pages), so twice the
 * catalog budget keeps it full; beyond 64 authors only memory grows.
 */
export function defaultAuthorConcurrency(catalogConcurrency: number): number {
  return Math.min(64, Math.max(4, 2 * catalogConcurrency));
}

/** The catalog client's defaults that are not settings. */
export const DEFAULT_CATALOG_CLIENT = {
  pageSize: Number(DEFAULT_SETTINGS.CATALOG_PAGE_SIZE),
  concurrency: Number(DEFAULT_SETTINGS.CATALOG_CONCURRENCY),
  maxRetries: Number(DEFAULT_SETTINGS.CATALOG_MAX_RETRIES),
  timeoutMs: Number(DEFAULT_SETTINGS.CATALOG_TIMEOUT_MS),
  /** Time one request may spend waiting between its retries. */
  requestRetryBudgetMs: 180_000,
  /** Largest response body accepted. */
  maxResponseBytes: 64 * 1024 * 1024,
  keepAliveTimeoutMs: 30_000,
  /** Passes of an author's list before CATALOG_INCONSISTENT. */
  maxPasses: 6,
  /** Pause before re-reading an inconsistent list, times the pass number. */
  passRetryDelayMs: 100,
  /** First backoff step of a retry without Retry-After. */
  baseDelayMs: 200,
  /** Largest backoff without Retry-After. */
  maxDelayMs: 10_000,
  /** Largest Retry-After the client waits; a longer one fails the request. */
  maxRetryAfterMs: 60_000,
  /** Retries one author may spend before any success, and per success. */
  authorRetries: 30,
  authorRetriesPerSuccess: 0.5,
} as const;

/** Entity bytes an author's spool keeps in memory before it moves to a temporary file. */
export const DEFAULT_SPOOL_MEMORY_BYTES = 4 * 1024 * 1024;

/** Most runs and storage operations are bounded by these, whatever the fleet. */
export const DEFAULT_STORAGE = {
  /** Size of each staged block of a large blob. */
  blockBytes: 4 * 1024 * 1024,
  /** Blocks staged at once. */
  blockConcurrency: 2,
} as const;
