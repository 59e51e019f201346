import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { Agent, request } from 'undici';
import { GalleryExportError, isGalleryExportError, throwIfAborted } from '../errors';
import { abortableSleep } from './abortableSleep';
import { AdaptiveLimiter } from './AdaptiveLimiter';
import { normalizeAuthorId, shortAuthorId } from './authorId';
import {
  InvalidBodyError,
  parseEntityPage,
  parseProfile,
  type EntityPage,
  type Profile,
} from './catalogResponses';
import {
  readConsistentListing,
  type EntityCollector,
  type ListingProgress,
  type ListingResult,
} from './consistentListing';
import {
  DEFAULT_RETRY_TIMING,
  decideRetry,
  errorCode,
  type AttemptOutcome,
  type RetryTimingOptions,
} from './retryPolicy';
import { RetryBudget } from './RetryBudget';

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
  /** Passes of an author's list before CATALOG_INCONSISTENT. @default 6 */
  maxPasses?: number;
  /** Pause before re-reading an inconsistent list (times the pass number). @default 100 */
  passRetryDelayMs?: number;
  /** Largest response body accepted. @default 67108864 (64 MiB) */
  maxResponseBytes?: number;
  /** Source of jitter, injectable for tests. @default Math.random */
  random?: () => number;
  userAgent?: string;
}

export const DEFAULT_CATALOG_CLIENT_OPTIONS = {
  pageSize: 100,
  concurrency: 8,
  maxRetries: 5,
  timeoutMs: 30_000,
  requestRetryBudgetMs: 180_000,
  maxResponseBytes: 64 * 1024 * 1024,
  keepAliveTimeoutMs: 30_000,
} as const;

/** Counters for one author's export, reported in the run record. */
export interface CatalogCallStats {
  requests: number;
  retries: number;
  throttled: number;
  pages: number;
  passes: number;
}

export function newCatalogCallStats(): CatalogCallStats {
  return { requests: 0, retries: 0, throttled: 0, pages: 0, passes: 0 };
}

export interface AuthorCallOptions {
  /** Sent as DataLabAccessToken. Pass it only when the token is usable (see assessToken). */
  token?: string | undefined;
  signal?: AbortSignal | undefined;
  /**
   * Cancels the request while it waits for a slot or between retries, but never once it is on the wire:
   * a page of an abandoned pass is let finish (and ignored), so the service never sees more than the
   * concurrency budget, not even for the moment an aborted connection takes to close.
   */
  queueSignal?: AbortSignal | undefined;
  /** Counters to add this call's figures to. */
  stats?: CatalogCallStats;
  /** The author's shared retry budget; give every call of one author the same one. */
  retryBudget?: RetryBudget;
}

export interface ListEntitiesOptions extends AuthorCallOptions {
  onProgress?: (progress: ListingProgress) => void;
}

interface Target {
  path: string;
  /** For messages: what was asked, e.g. "the profile of author CB9AEF…8BE". */
  what: string;
  notFound?: () => GalleryExportError;
}

/**
 * The Catalog API client: one keep-alive pool and one adaptive concurrency budget per process, shared
 * by every author; retries decided by `decideRetry`; lists read by `readConsistentListing`.
 */
export class CatalogClient {
  readonly limiter: AdaptiveLimiter;
  private readonly agent: Agent;
  readonly baseUrl: string;
  private readonly pageSize: number;
  private readonly maxRetries: number;
  private readonly timeoutMs: number;
  private readonly timing: RetryTimingOptions;
  private readonly requestRetryBudgetMs: number;
  private readonly maxResponseBytes: number;
  private readonly random: () => number;
  private readonly userAgent: string;
  private readonly concurrency: number;
  /** Cleared when the catalog answers 400 to `$orderby`. */
  private orderBySupported = true;

  constructor(private readonly options: CatalogClientOptions) {
    const defaults = DEFAULT_CATALOG_CLIENT_OPTIONS;
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.pageSize = options.pageSize ?? defaults.pageSize;
    this.maxRetries = options.maxRetries ?? defaults.maxRetries;
    this.timeoutMs = options.timeoutMs ?? defaults.timeoutMs;
    this.timing = { ...DEFAULT_RETRY_TIMING, ...options.retryTiming };
    this.requestRetryBudgetMs = options.requestRetryBudgetMs ?? defaults.requestRetryBudgetMs;
    this.maxResponseBytes = options.maxResponseBytes ?? defaults.maxResponseBytes;
    this.random = options.random ?? Math.random;
    this.userAgent = options.userAgent ?? 'gallery-export';
    const concurrency = options.concurrency ?? defaults.concurrency;
    this.concurrency = concurrency;
    this.limiter = new AdaptiveLimiter({ maxConcurrency: concurrency });
    this.agent = new Agent({
      connections: concurrency,
      pipelining: 1,
      keepAliveTimeout: defaults.keepAliveTimeoutMs,
      connect: { timeout: this.timeoutMs },
    });
  }

  /** `GET /users/{authorId}`: the profile, exactly as received. 404 is CATALOG_NOT_FOUND. */
  async getProfile(authorId: string, options: AuthorCallOptions = {}): Promise<Profile> {
    const id = this.checkAuthorId(authorId);
    return this.send(
      {
        path: `/users/${id}`,
        what: `the profile of author ${shortAuthorId(id)}`,
        notFound: () =>
          new GalleryExportError(
            'CATALOG_NOT_FOUND',
            `The catalog has no author ${id} (GET /users answered 404)`,
            {
              statusCode: 404,
              details: { authorId: id },
            },
          ),
      },
      (body) => parseProfile(body, id),
      options,
    );
  }

  /**
   * Every entity of an author, listed and (with a usable token) unlisted, each exactly once, delivered
   * to `collector` pass by pass until one pass is self-consistent.
   */
  async listEntities(
    authorId: string,
    collector: EntityCollector,
    options: ListEntitiesOptions = {},
  ): Promise<ListingResult> {
    const id = this.checkAuthorId(authorId);
    // The ID is validated as 64 hex above, so it cannot break out of the quoted literal.
    const filter = encodeURIComponent(`author/id eq '${id}'`);
    const result = await readConsistentListing(
      async ({ skip, top, signal }): Promise<EntityPage> => {
        const fetch = (ordered: boolean): Promise<EntityPage> =>
          this.send(
            {
              // A stable order makes offset paging repeatable; `$orderby` is part of the documented API.
              path: `/entities?$filter=${filter}${ordered ? '&$orderby=id' : ''}&$top=${top}&$skip=${skip}`,
              what: `the entities of author ${shortAuthorId(id)} at $skip=${skip}`,
            },
            (body) => parseEntityPage(body),
            { ...options, queueSignal: signal },
          );
        let page: EntityPage;
        const ordered = this.orderBySupported;
        try {
          page = await fetch(ordered);
        } catch (error) {
          // A catalog that refuses `$orderby` (400) is asked again without it, from then on.
          if (!ordered || !isGalleryExportError(error, 'CATALOG_HTTP') || error.statusCode !== 400)
            throw error;
          this.orderBySupported = false;
          page = await fetch(false);
        }
        if (options.stats) options.stats.pages++;
        return page;
      },
      collector,
      {
        pageSize: this.pageSize,
        maxPasses: this.options.maxPasses,
        passRetryDelayMs: this.options.passRetryDelayMs,
        signal: options.queueSignal ? anySignal(options.signal, options.queueSignal) : options.signal,
        onProgress: options.onProgress,
        describeAuthor: shortAuthorId(id),
        // Enough pages ahead to keep the whole budget busy on one author, and no more held in memory.
        maxPagesInFlight: Math.max(16, 2 * this.concurrency),
      },
    );
    if (options.stats) options.stats.passes += result.passes;
    return result;
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private checkAuthorId(authorId: string): string {
    const id = normalizeAuthorId(authorId);
    if (!id) throw new GalleryExportError('AUTHOR_CONFIG', 'An author ID must be 64 hexadecimal characters');
    return id;
  }

  private async send<T>(target: Target, parse: (body: Buffer) => T, options: AuthorCallOptions): Promise<T> {
    const { signal, stats, token } = options;
    const waitSignal = options.queueSignal ? anySignal(signal, options.queueSignal) : signal;
    if (waitSignal) setMaxListeners(0, waitSignal);
    const budget = options.retryBudget ?? new RetryBudget();
    const clientRequestId = randomUUID();
    const startedAt = performance.now();
    const headers: Record<string, string> = {
      accept: 'application/json',
      'user-agent': this.userAgent,
      // One id for every attempt of a request, as the gallery's front end and the Azure SDKs do.
      'x-ms-client-request-id': clientRequestId,
    };
    if (token) headers.DataLabAccessToken = token;

    for (let attempt = 1; ; attempt++) {
      throwIfAborted(waitSignal);
      let outcome: AttemptOutcome;
      let problem: string | undefined;
      // The slot covers the request on the wire only: parsing happens after it is handed back, so the
      // next request is already on its way while this body is checked.
      const release = await this.limiter.acquire(waitSignal);
      let response: AttemptResponse;
      try {
        throwIfAborted(waitSignal);
        if (stats) stats.requests++;
        response = await this.attempt(target.path, headers, signal);
      } catch (error) {
        release();
        if (error instanceof GalleryExportError) throw error;
        throwIfAborted(signal);
        response = { status: 0, retryAfter: null, body: Buffer.alloc(0), error };
      }
      release();
      // A 429 slows the whole client down, whatever became of the request that got it.
      if (response.status === 429) {
        if (stats) stats.throttled++;
        this.limiter.onThrottled();
      }
      // Let the request that takes this slot go out before the (CPU-bound) parsing below: when many
      // answers arrive together, the next requests are then on the wire while these are parsed.
      await yieldToEventLoop();
      throwIfAborted(waitSignal);

      if (response.error !== undefined) {
        outcome = { kind: 'error', error: response.error };
      } else if (response.status >= 200 && response.status < 300) {
        try {
          const value = parse(response.body);
          this.limiter.onSuccess();
          budget.onSuccess();
          return value;
        } catch (error) {
          if (!(error instanceof InvalidBodyError)) throw error;
          outcome = { kind: 'invalid-body' };
          problem = error.message;
        }
      } else {
        if (response.status === 404 && target.notFound) throw target.notFound();
        outcome = { kind: 'status', status: response.status, retryAfter: response.retryAfter };
        problem = describeErrorBody(response.body, token);
      }

      const decision = decideRetry({
        attempt,
        maxRetries: this.maxRetries,
        outcome,
        budgetRemainingMs: this.requestRetryBudgetMs - (performance.now() - startedAt),
        authorRetriesRemaining: budget.remaining,
        nowMs: Date.now(),
        random: this.random,
        timing: this.timing,
        aborted: waitSignal?.aborted,
      });
      if (!decision.retry) throw this.failure(target, outcome, decision, problem, attempt);
      budget.spend();
      if (stats) stats.retries++;
      await abortableSleep(decision.delayMs, waitSignal);
    }
  }

  private failure(
    target: Target,
    outcome: AttemptOutcome,
    { reason, retryable }: { reason: string; retryable: boolean },
    problem: string | undefined,
    attempts: number,
  ): GalleryExportError {
    const where = `${this.baseUrl}${target.path.split('?')[0]}`;
    const context = { url: where, attempts };
    const tries = attempts === 1 ? '' : ` (${attempts} attempts)`;
    switch (outcome.kind) {
      case 'invalid-body':
        return new GalleryExportError(
          'CATALOG_INVALID',
          `The catalog sent an unusable response for ${target.what}${tries}: ${problem ?? 'invalid body'}`,
          { details: context },
        );
      case 'status': {
        return new GalleryExportError(
          retryable ? 'CATALOG_UNAVAILABLE' : 'CATALOG_HTTP',
          `GET ${where} for ${target.what} answered HTTP ${outcome.status}${tries}${problem ? `: ${problem}` : ''}${retryable ? ` (${reason})` : ''}`,
          { statusCode: outcome.status, details: context },
        );
      }
      case 'error': {
        const code = errorCode(outcome.error) ?? 'unknown error';
        return new GalleryExportError(
          'CATALOG_UNAVAILABLE',
          `The catalog at ${this.baseUrl} could not be reached for ${target.what}${tries}: ${code} (${reason})`,
          { cause: outcome.error, details: { ...context, code } },
        );
      }
    }
  }

  private async attempt(
    path: string,
    headers: Record<string, string>,
    signal: AbortSignal | undefined,
  ): Promise<AttemptResponse> {
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new RequestTimeoutError(this.timeoutMs)), this.timeoutMs);
    const attemptSignal = signal ? AbortSignal.any([signal, timeout.signal]) : timeout.signal;
    try {
      const response = await request(`${this.baseUrl}${path}`, {
        method: 'GET',
        headers,
        dispatcher: this.agent,
        signal: attemptSignal,
      });
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > this.maxResponseBytes) {
          response.body.destroy();
          throw new GalleryExportError(
            'CATALOG_TOO_LARGE',
            `A catalog response for ${path.split('?')[0]} exceeded ${this.maxResponseBytes} bytes; lower CATALOG_PAGE_SIZE`,
          );
        }
        chunks.push(chunk);
      }
      const retryAfter = response.headers['retry-after'];
      return {
        status: response.statusCode,
        retryAfter: typeof retryAfter === 'string' ? retryAfter : null,
        body: Buffer.concat(chunks, size),
      };
    } catch (error) {
      if (timeout.signal.aborted && !signal?.aborted) throw new RequestTimeoutError(this.timeoutMs);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }
}

function anySignal(first: AbortSignal | undefined, second: AbortSignal): AbortSignal {
  return first ? AbortSignal.any([first, second]) : second;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

interface AttemptResponse {
  status: number;
  retryAfter: string | null;
  body: Buffer;
  /** Set when no response came (connection error, timeout). */
  error?: unknown;
}

class RequestTimeoutError extends Error {
  override readonly name = 'TimeoutError';
  readonly code = 'REQUEST_TIMEOUT';
  constructor(timeoutMs: number) {
    super(`No complete response within ${timeoutMs} ms`);
  }
}

/** The ASP.NET-style `{"Message": ...}` of an error body, shortened, with the token scrubbed out. */
function describeErrorBody(body: Buffer, token: string | undefined): string | undefined {
  if (body.length === 0) return undefined;
  let text = body.subarray(0, 64 * 1024).toString('utf8');
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed === 'object' && parsed !== null && 'Message' in parsed) {
      text = String(parsed.Message);
    }
  } catch {
    // not JSON: keep the text
  }
  // Scrub before shortening, so no prefix of the token can survive a cut.
  if (token) text = text.split(token).join('[redacted]');
  text = text.replace(/\s+/g, ' ').trim();
  return text.length > 200 ? `${text.slice(0, 200)}…` : text || undefined;
}
