import { metrics, type Counter, type Gauge, type Histogram, type MeterProvider } from '@opentelemetry/api';
import type { AuthorOutcome, RunRecord } from '../contract/formats';
import {
  INSTRUMENTATION_SCOPE,
  METRIC_DIMENSIONS as D,
  METRIC_NAMES,
  type CatalogRetryReason,
  type CatalogRoute,
  type TokenWindow,
} from './names';

/**
 * gallery-export's metrics, on the vendor-neutral API. The API has no proxy for meters (unlike
 * tracers): a meter taken before an SDK registers stays a no-op for good. So the instruments are
 * created from whichever meter provider is global at the time of recording, and created again when
 * that provider changes (start, shutdown, a test's second SDK).
 */

/** The `7d` window of `tokens.expiring`. */
export const TOKEN_EXPIRY_WINDOW_MS = 7 * 24 * 3600_000;

/**
 * Records a finished run: `runs`, `run.duration`, `tokens.expiring`, and from its authors list (so
 * the figures always agree with the run record) one `authors` per settled author and the
 * `entities.exported` of the complete ones. Call it once, where the run is finalised; a record still
 * running is ignored.
 * @param now for the token windows. @default new Date()
 */
export function recordRunFinished(record: RunRecord, now: Date = new Date()): void {
  if (record.status === 'running') return;
  const m = instruments();
  const { trigger, status } = record;
  m.runs.add(1, { [D.status]: status, [D.trigger]: trigger });
  const durationMs = Date.parse(record.completedAt ?? '') - Date.parse(record.startedAt);
  if (Number.isFinite(durationMs) && durationMs >= 0) {
    m.runDuration.record(durationMs / 1000, { [D.status]: status, [D.trigger]: trigger });
  }
  let entities = 0;
  for (const author of record.authors) {
    if (author.status === 'pending') continue;
    m.authors.add(1, {
      [D.status]: author.status,
      [D.errorCode]: author.error?.code ?? '',
      [D.trigger]: trigger,
    });
    if (author.status === 'complete') entities += author.counts?.entities ?? 0;
  }
  m.entitiesExported.add(entities, { [D.trigger]: trigger });
  const windows = countTokenWindows(record.authors, now);
  for (const window of ['expired', '7d'] as const) {
    m.tokensExpiring.record(windows[window], { [D.window]: window });
  }
}

/**
 * Authors whose token had expired (`expired`) or expires within 7 days (`7d`, not yet expired) at
 * `now`, among those whose token was read (complete authors, whose outcome records its health).
 */
export function countTokenWindows(
  authors: readonly AuthorOutcome[],
  now: Date,
  windowMs = TOKEN_EXPIRY_WINDOW_MS,
): Record<TokenWindow, number> {
  const windows: Record<TokenWindow, number> = { expired: 0, '7d': 0 };
  for (const author of authors) {
    if (author.tokenStatus !== 'valid' && author.tokenStatus !== 'expired') continue;
    const left =
      author.tokenExpiresAt === undefined ? NaN : Date.parse(author.tokenExpiresAt) - now.getTime();
    if (author.tokenStatus === 'expired' || left <= 0) windows.expired++;
    else if (left <= windowMs) windows['7d']++;
  }
  return windows;
}

/** One HTTP attempt (traceCatalogAttempt records it; exported for callers that do not trace). */
export function recordCatalogAttempt(attempt: {
  route: CatalogRoute;
  /** The HTTP status; undefined (or 0) when no response came. */
  statusCode: number | undefined;
  durationMs: number;
}): void {
  const m = instruments();
  const { route } = attempt;
  const statusCode = attempt.statusCode ? String(attempt.statusCode) : 'error';
  m.catalogRequests.add(1, { [D.route]: route, [D.statusCode]: statusCode });
  m.catalogDuration.record(attempt.durationMs, { [D.route]: route, [D.statusCode]: statusCode });
  if (attempt.statusCode === 429) m.catalogThrottled.add(1, { [D.route]: route });
}

/** The outcome of a failed attempt, as the catalog client's retry policy sees it. */
export type RetriedOutcome =
  { kind: 'status'; status: number } | { kind: 'error' } | { kind: 'invalid-body' };

/** One retry of a catalog request (call it where the client decides to send again). */
export function recordCatalogRetry(route: CatalogRoute, outcome: RetriedOutcome): void {
  instruments().catalogRetries.add(1, { [D.route]: route, [D.reason]: catalogRetryReason(outcome) });
}

export function catalogRetryReason(outcome: RetriedOutcome): CatalogRetryReason {
  switch (outcome.kind) {
    case 'status':
      return outcome.status === 429 ? 'throttled' : 'server_error';
    case 'error':
      return 'network';
    case 'invalid-body':
      return 'invalid_body';
  }
}

/** Bucket boundaries (advice to the SDK): runs take seconds to half an hour, attempts ms to a minute. */
const RUN_DURATION_BUCKETS_S = [1, 5, 10, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200];
const CATALOG_DURATION_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000];

interface Instruments {
  runs: Counter;
  runDuration: Histogram;
  authors: Counter;
  entitiesExported: Counter;
  catalogRequests: Counter;
  catalogThrottled: Counter;
  catalogRetries: Counter;
  catalogDuration: Histogram;
  tokensExpiring: Gauge;
}

let current: { provider: MeterProvider; instruments: Instruments } | undefined;

function instruments(): Instruments {
  const provider = metrics.getMeterProvider();
  if (current?.provider !== provider) current = { provider, instruments: createInstruments(provider) };
  return current.instruments;
}

function createInstruments(provider: MeterProvider): Instruments {
  const meter = provider.getMeter(INSTRUMENTATION_SCOPE);
  return {
    runs: meter.createCounter(METRIC_NAMES.runs, { description: 'Finished export runs' }),
    runDuration: meter.createHistogram(METRIC_NAMES.runDuration, {
      description: 'Duration of finished export runs',
      unit: 's',
      advice: { explicitBucketBoundaries: RUN_DURATION_BUCKETS_S },
    }),
    authors: meter.createCounter(METRIC_NAMES.authors, { description: 'Author outcomes of finished runs' }),
    entitiesExported: meter.createCounter(METRIC_NAMES.entitiesExported, {
      description: 'Entities in complete snapshots',
    }),
    catalogRequests: meter.createCounter(METRIC_NAMES.catalogRequests, {
      description: 'HTTP attempts at the Catalog API',
    }),
    catalogThrottled: meter.createCounter(METRIC_NAMES.catalogThrottled, {
      description: 'Catalog answers 429 Too Many Requests',
    }),
    catalogRetries: meter.createCounter(METRIC_NAMES.catalogRetries, {
      description: 'Catalog requests sent again',
    }),
    catalogDuration: meter.createHistogram(METRIC_NAMES.catalogDuration, {
      description: 'Duration of one HTTP attempt at the Catalog API',
      unit: 'ms',
      advice: { explicitBucketBoundaries: CATALOG_DURATION_BUCKETS_MS },
    }),
    tokensExpiring: meter.createGauge(METRIC_NAMES.tokensExpiring, {
      description: "Authors whose access token had expired or expires within 7 days, at a run's end",
    }),
  };
}
