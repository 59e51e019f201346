import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { Agent, request } from 'undici';
import { GalleryExportError, throwIfAborted } from '../contract/errors';
import { DEFAULT_CATALOG_CLIENT } from '../contract/defaults';
import { abortableSleep } from './abortableSleep';
import { AdaptiveLimiter } from './AdaptiveLimiter';
import { InvalidBodyError } from './catalogResponses';
import { linkedSignal } from './linkedSignal';
import { decideRetry, errorCode, parseRetryAfter, type AttemptOutcome } from './retryPolicy';
import { RetryBudget } from './RetryBudget';
import type { CatalogTarget, CatalogTransportOptions, RequestOptions } from './catalogRequests';
import { describeErrorBody } from './errorBody';

export type { CatalogObserver, CatalogRoute, CatalogTarget, RequestOptions } from './catalogRequests';

/** Added to every Retry-After wait (see holdUntilRetryAfter). */
const RETRY_AFTER_MARGIN_MS = 5;

/**
 * Sends catalog requests: one keep-alive pool and one adaptive concurrency budget per process, shared by
 * every author; retries decided by `decideRetry`, one layer only.
 */
export class CatalogTransport {
  readonly limiter: AdaptiveLimiter;
  private readonly agent: Agent;
  /**
   * Per request target (path and query, as sent): when the Retry-After the catalog last gave for it ends
   * (performance.now() ms). Every later request of that URL waits for it, whichever pass or author sends
   * it, not only the retry of the request that got the 429.
   */
  private readonly notBefore = new Map<string, number>();

  constructor(private readonly options: CatalogTransportOptions) {
    this.limiter = new AdaptiveLimiter({ maxConcurrency: options.concurrency });
    this.agent = new Agent({
      connections: options.concurrency,
      pipelining: 1,
      keepAliveTimeout: DEFAULT_CATALOG_CLIENT.keepAliveTimeoutMs,
      connect: { timeout: options.timeoutMs },
    });
  }

  get baseUrl(): string {
    return this.options.baseUrl;
  }

  async send<T>(
    target: CatalogTarget,
    parse: (body: Buffer, response: AnsweredResponse) => T,
    options: RequestOptions,
  ): Promise<T> {
    const { signal } = options;
    if (!options.waitSignal) return this.sendWith(target, parse, options, signal);
    const waiting = linkedSignal(signal, options.waitSignal);
    try {
      return await this.sendWith(target, parse, options, waiting.signal);
    } finally {
      waiting.dispose();
    }
  }

  private async sendWith<T>(
    target: CatalogTarget,
    parse: (body: Buffer, response: AnsweredResponse) => T,
    options: RequestOptions,
    waitSignal: AbortSignal | undefined,
  ): Promise<T> {
    const { signal, figures, token } = options;
    if (waitSignal) setMaxListeners(0, waitSignal);
    const budget = options.retryBudget ?? new RetryBudget();
    const startedAt = performance.now();
    const headers: Record<string, string> = {
      accept: 'application/json',
      'user-agent': this.options.userAgent,
      // One id for every attempt of a request, as the gallery's front end and the Azure SDKs do.
      'x-ms-client-request-id': randomUUID(),
    };
    if (token) headers.DataLabAccessToken = token;

    for (let attempt = 1; ; attempt++) {
      throwIfAborted(waitSignal);
      let outcome: AttemptOutcome;
      let problem: string | undefined;
      // The slot covers the request on the wire only: parsing happens after it is handed back, so the
      // next request is already on its way while this body is checked.
      const release = await this.slotAfterRetryAfter(target, waitSignal);
      try {
        options.beforeEachAttempt?.();
      } catch (error) {
        release();
        throw error;
      }
      let response: AttemptResponse;
      try {
        throwIfAborted(waitSignal);
        if (figures) figures.requests++;
        const send = (): Promise<AttemptResponse> => this.attempt(target.path, headers, signal);
        const { observer } = this.options;
        response = observer
          ? await observer.attempt(
              { route: target.route, baseUrl: this.options.baseUrl, resendCount: attempt - 1 },
              send,
            )
          : await send();
      } catch (error) {
        release();
        if (error instanceof GalleryExportError) throw error;
        throwIfAborted(signal);
        response = { status: 0, retryAfter: null, date: undefined, body: Buffer.alloc(0), error };
      }
      release();
      // A 429 slows the whole client down (the service says "too many", not "not this one"), and no
      // request for that URL goes out again before the wait it asked for.
      if (response.status === 429) {
        if (figures) figures.throttled++;
        this.limiter.onThrottled();
        this.holdUntilRetryAfter(target.path, response.retryAfter);
      }
      // Let the request that takes this slot go out before the (CPU-bound) parsing below: when many
      // answers arrive together, the next requests are then on the wire while these are parsed.
      await yieldToEventLoop();
      throwIfAborted(waitSignal);

      if (response.error !== undefined) {
        outcome = { kind: 'error', error: response.error };
      } else if (response.status >= 200 && response.status < 300) {
        try {
          const value = parse(response.body, { date: response.date });
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
        maxRetries: this.options.maxRetries,
        outcome,
        budgetRemainingMs: this.options.requestRetryBudgetMs - (performance.now() - startedAt),
        authorRetriesRemaining: budget.remaining,
        nowMs: Date.now(),
        random: this.options.random,
        timing: this.options.timing,
        aborted: waitSignal?.aborted,
      });
      if (!decision.retry) throw this.failure(target, outcome, decision, problem, attempt);
      budget.spend();
      if (figures) figures.retries++;
      this.options.observer?.retry(target.route, outcome);
      await abortableSleep(decision.delayMs, waitSignal);
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }

  private holdUntilRetryAfter(path: string, header: string | null): void {
    const waitMs = parseRetryAfter(header ?? undefined, Date.now());
    if (waitMs === undefined || waitMs <= 0) return;
    const now = performance.now();
    // Timers may fire a millisecond early; the service counts from when it sent the answer, before it
    // arrived here, so this errs on the right side.
    const until = now + waitMs + RETRY_AFTER_MARGIN_MS;
    this.notBefore.set(path, Math.max(this.notBefore.get(path) ?? 0, until));
    if (this.notBefore.size > 1024) {
      for (const [key, end] of this.notBefore) if (end <= now) this.notBefore.delete(key);
    }
  }

  /**
   * A slot, taken once this URL's Retry-After has passed: a 429 for the same URL (a page of an abandoned
   * pass, still on the wire) may arrive while this request waits for its slot, so the hold is looked at
   * again once the slot is taken.
   */
  private async slotAfterRetryAfter(
    target: CatalogTarget,
    signal: AbortSignal | undefined,
  ): Promise<() => void> {
    for (;;) {
      await this.waitForRetryAfter(target, signal);
      const release = await this.limiter.acquire(signal);
      const until = this.notBefore.get(target.path);
      if (until === undefined || until <= performance.now()) return release;
      release();
    }
  }

  private async waitForRetryAfter(target: CatalogTarget, signal: AbortSignal | undefined): Promise<void> {
    const until = this.notBefore.get(target.path);
    if (until === undefined) return;
    const waitMs = until - performance.now();
    if (waitMs <= 0) {
      this.notBefore.delete(target.path);
      return;
    }
    // A wait longer than the retry policy would take for itself fails now, as that retry would have
    // (and a wait past setTimeout's 24.8-day range would otherwise end at once, over and over).
    const { maxRetryAfterMs } = this.options.timing;
    if (waitMs > maxRetryAfterMs) {
      const where = this.whereOf(target);
      throw new GalleryExportError(
        'CATALOG_UNAVAILABLE',
        `GET ${where} for ${target.what} was not sent: the catalog asked (HTTP 429) for no request to it for another ${Math.ceil(waitMs / 1000)} s, more than the ${Math.round(maxRetryAfterMs / 1000)} s cap`,
        { statusCode: 429, details: { url: where, attempts: 0 } },
      );
    }
    await abortableSleep(Math.ceil(waitMs), signal);
  }

  /** The request's URL for messages: without its query, which names the author. */
  private whereOf(target: CatalogTarget): string {
    return `${this.options.baseUrl}${target.path.split('?')[0]}`;
  }

  private failure(
    target: CatalogTarget,
    outcome: AttemptOutcome,
    { reason, retryable }: { reason: string; retryable: boolean },
    problem: string | undefined,
    attempts: number,
  ): GalleryExportError {
    const { baseUrl } = this.options;
    const where = this.whereOf(target);
    const context = { url: where, attempts };
    const tries = attempts === 1 ? '' : ` (${attempts} attempts)`;
    switch (outcome.kind) {
      case 'invalid-body':
        return new GalleryExportError(
          'CATALOG_INVALID',
          `The catalog sent an unusable response for ${target.what}${tries}: ${problem ?? 'invalid body'}`,
          { details: context },
        );
      case 'status':
        return new GalleryExportError(
          retryable ? 'CATALOG_UNAVAILABLE' : 'CATALOG_HTTP',
          `GET ${where} for ${target.what} answered HTTP ${outcome.status}${tries}${problem ? `: ${problem}` : ''}${retryable ? ` (${reason})` : ''}`,
          { statusCode: outcome.status, details: context },
        );
      case 'error': {
        const code = errorCode(outcome.error) ?? 'unknown error';
        return new GalleryExportError(
          'CATALOG_UNAVAILABLE',
          `The catalog at ${baseUrl} could not be reached for ${target.what}${tries}: ${code} (${reason})`,
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
    const { timeoutMs, maxResponseBytes, baseUrl } = this.options;
    const attemptSignal = linkedSignal(signal);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      attemptSignal.abort(new RequestTimeoutError(timeoutMs));
    }, timeoutMs);
    try {
      const response = await request(`${baseUrl}${path}`, {
        method: 'GET',
        headers,
        dispatcher: this.agent,
        signal: attemptSignal.signal,
      });
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > maxResponseBytes) {
          response.body.destroy();
          throw new GalleryExportError(
            'CATALOG_TOO_LARGE',
            `A catalog response for ${path.split('?')[0]} exceeded ${maxResponseBytes} bytes; lower CATALOG_PAGE_SIZE`,
          );
        }
        chunks.push(chunk);
      }
      const { 'retry-after': retryAfter, date } = response.headers;
      return {
        status: response.statusCode,
        retryAfter: typeof retryAfter === 'string' ? retryAfter : null,
        date: typeof date === 'string' ? date : undefined,
        body: Buffer.concat(chunks, size),
      };
    } catch (error) {
      if (timedOut && !signal?.aborted) throw new RequestTimeoutError(timeoutMs);
      throw error;
    } finally {
      clearTimeout(timer);
      attemptSignal.dispose();
    }
  }
}

export function anySignal(first: AbortSignal | undefined, second: AbortSignal): AbortSignal {
  return first ? AbortSignal.any([first, second]) : second;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** What a parser is told of a successful answer besides its body. */
export interface AnsweredResponse {
  /** The `Date` header: the catalog's clock when it answered (whole seconds). */
  date: string | undefined;
}

interface AttemptResponse {
  status: number;
  retryAfter: string | null;
  date: string | undefined;
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
