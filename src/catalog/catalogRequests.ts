import type { CatalogFigures } from '../contract/formats';
import type { GalleryExportError } from '../contract/errors';
import type { AttemptOutcome, RetryTimingOptions } from './retryPolicy';
import type { RetryBudget } from './RetryBudget';

/** What the transport is made with, what one request is for, and what it is sent with. */

/**
 * Sees every attempt of every catalog request and every retry (telemetry plugs in here, wired by the
 * composition root: the catalog knows nothing of it). It is told the route and the status only, never
 * the URL (its filter names the author) or a header (the token).
 */
export interface CatalogObserver {
  attempt<T extends { status: number; error?: unknown }>(
    attempt: { route: CatalogRoute; baseUrl: string; resendCount: number },
    send: () => Promise<T>,
  ): Promise<T>;
  retry(route: CatalogRoute, outcome: AttemptOutcome): void;
}

/** Which of the two resources of the Catalog API a request is for. */
export type CatalogRoute = 'profile' | 'entities';

export interface CatalogTransportOptions {
  baseUrl: string;
  observer?: CatalogObserver | undefined;
  concurrency: number;
  maxRetries: number;
  timeoutMs: number;
  timing: RetryTimingOptions;
  requestRetryBudgetMs: number;
  maxResponseBytes: number;
  random: () => number;
  userAgent: string;
}

/** What one request is for: its path and query, and how to describe it in messages. */
export interface CatalogTarget {
  route: CatalogRoute;
  path: string;
  /** For messages: what was asked, e.g. "the profile of author CB9AEF…8BE". */
  what: string;
  notFound?: () => GalleryExportError;
}

export interface RequestOptions {
  /** Sent as DataLabAccessToken. */
  token?: string | undefined;
  signal?: AbortSignal | undefined;
  /**
   * Cancels the request while it waits for a slot or between retries, but never once it is on the wire:
   * a page of an abandoned pass is let finish (and ignored), so the service never sees more than the
   * concurrency budget, not even for the moment an aborted connection takes to close.
   */
  waitSignal?: AbortSignal | undefined;
  /** Counters to add this request's figures to. */
  figures?: CatalogFigures | undefined;
  /** The author's shared retry budget. */
  retryBudget?: RetryBudget | undefined;
  /**
   * Called right before each attempt goes out (its slot taken, every wait behind it); what it throws ends
   * the request unsent. A token that lapsed while a request waited for a Retry-After, a slot or a retry
   * must not be sent: the catalog would quietly leave the unlisted entities out.
   */
  beforeEachAttempt?: (() => void) | undefined;
}
