import type { ListingProgress } from '../contract/catalogApi';
import type { CatalogFigures } from '../contract/formats';
import type { CatalogObserver } from './CatalogTransport';
import type { RetryBudget } from './RetryBudget';
import type { RetryTimingOptions } from './retryPolicy';

/** What a CatalogClient is made with, and what each of its calls for one author takes. */

export interface CatalogClientOptions {
  /** Catalog API root, e.g. https://catalog.cortanaanalytics.com */
  baseUrl: string;
  /** `$top` asked for. @default 100 */
  pageSize?: number;
  /** Most requests in flight across every author of the process. @default 8 */
  concurrency?: number;
  /** Retries per request after the first attempt. @default 5 */
  maxRetries?: number;
  /** Whole-attempt timeout (connect, headers and body). @default 30000 */
  timeoutMs?: number;
  /** Backoff shape and the Retry-After cap. */
  retryTiming?: Partial<RetryTimingOptions>;
  /** Time one request may spend waiting between its retries. @default 180000 */
  requestRetryBudgetMs?: number;
  /** Passes of an author's list before CATALOG_INCONSISTENT (twice as many for an unordered list, which two passes must confirm). @default 6 */
  maxPasses?: number;
  /** Pause before re-reading an inconsistent list (times the pass number). @default 100 */
  passRetryDelayMs?: number;
  /** Largest response body accepted. @default 67108864 (64 MiB) */
  maxResponseBytes?: number;
  /** Source of jitter, injectable for tests. @default Math.random */
  random?: () => number;
  /** Wall clock (ms) a token's expiry is compared with, injectable for tests. @default Date.now */
  now?: () => number;
  /** Told of every attempt and retry (telemetry). @default none */
  observer?: CatalogObserver | undefined;
  userAgent?: string;
}

/** Options of one call for one author (the profile or one listing). */
export interface AuthorCallOptions {
  /** Sent as DataLabAccessToken. Pass it only when the token is usable (see assessToken). */
  token?: string | undefined;
  signal?: AbortSignal | undefined;
  /** See RequestOptions.waitSignal: stops waiting requests, never one on the wire. */
  stopWaiting?: AbortSignal | undefined;
  /** Counters to add this call's figures to. */
  stats?: CatalogFigures;
  /** The author's shared retry budget; give every call of one author the same one. */
  retryBudget?: RetryBudget;
}

export interface ListEntitiesOptions extends AuthorCallOptions {
  onProgress?: (progress: ListingProgress) => void;
  /**
   * Asked before each page request that would carry the token: false once it has expired (the catalog
   * would quietly leave the unlisted entities out), which ends this listing with TokenLapsed.
   */
  tokenUsable?: (() => boolean) | undefined;
}
