import { DEFAULT_CATALOG_CLIENT } from '../contract/defaults';

/**
 * The catalog client's retry decision, as a pure function: the client owns the loop, this only decides.
 * Modelled on core-rest-pipeline's strategies: honour Retry-After as a minimum wait (never cut short),
 * otherwise exponential backoff with full jitter, everything capped and inside a time budget.
 */

/** Statuses worth another attempt: throttling and the 5xx family that means "try again later". */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 500, 502, 503, 504]);

/** Network failures worth another attempt (undici and Node error codes). */
export const RETRYABLE_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'REQUEST_TIMEOUT',
]);

export interface RetryTimingOptions {
  /** First backoff step. @default 200 */
  baseDelayMs: number;
  /** Largest backoff without Retry-After. @default 10000 */
  maxDelayMs: number;
  /** Largest Retry-After the client is willing to wait; a longer one fails the request. @default 60000 */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_TIMING: RetryTimingOptions = {
  baseDelayMs: DEFAULT_CATALOG_CLIENT.baseDelayMs,
  maxDelayMs: DEFAULT_CATALOG_CLIENT.maxDelayMs,
  maxRetryAfterMs: DEFAULT_CATALOG_CLIENT.maxRetryAfterMs,
};

export type AttemptOutcome =
  | { kind: 'status'; status: number; retryAfter?: string | null }
  | { kind: 'error'; error: unknown }
  /** A 2xx whose body could not be used (not JSON, wrong shape, cut short). */
  | { kind: 'invalid-body' };

export interface RetryInput {
  /** 1-based number of the attempt that just failed. */
  attempt: number;
  /** Retries allowed after the first attempt. */
  maxRetries: number;
  outcome: AttemptOutcome;
  /** Milliseconds the retry budget still allows (request budget and author budget, the smaller). */
  budgetRemainingMs: number;
  /** Retries the author's shared budget still allows. */
  authorRetriesRemaining: number;
  /** Wall clock, for Retry-After given as an HTTP date. */
  nowMs: number;
  /** A number in [0, 1): injected so tests are deterministic. */
  random: () => number;
  timing: RetryTimingOptions;
  /** True once the caller's signal or the run's deadline has fired. */
  aborted?: boolean;
}

export type RetryDecision =
  | { retry: true; delayMs: number; reason: string; throttled: boolean }
  /** `retryable` is true when the failure was transient but the limits ran out. */
  | { retry: false; reason: string; throttled: boolean; retryable: boolean };

export function decideRetry(input: RetryInput): RetryDecision {
  const { outcome } = input;
  const throttled = outcome.kind === 'status' && outcome.status === 429;
  const stop = (reason: string, retryable = true): RetryDecision => ({
    retry: false,
    reason,
    throttled,
    retryable,
  });

  if (input.aborted) return stop('aborted', false);
  const retryable = describeRetryable(outcome);
  if (retryable === undefined) return stop(describeOutcome(outcome) + ' is not retryable', false);
  if (input.attempt > input.maxRetries) {
    return stop(`${retryable}: gave up after ${input.attempt} attempts`);
  }
  if (input.authorRetriesRemaining <= 0) return stop(`${retryable}: the author's retry budget is spent`);

  let delayMs: number;
  const retryAfterMs =
    outcome.kind === 'status' ? parseRetryAfter(outcome.retryAfter ?? undefined, input.nowMs) : undefined;
  if (retryAfterMs !== undefined) {
    if (retryAfterMs > input.timing.maxRetryAfterMs) {
      return stop(
        `${retryable}: the service asked to wait ${Math.ceil(retryAfterMs / 1000)} s, more than the ${Math.round(input.timing.maxRetryAfterMs / 1000)} s cap`,
      );
    }
    delayMs = retryAfterMs;
  } else {
    const ceiling = Math.min(input.timing.maxDelayMs, input.timing.baseDelayMs * 2 ** (input.attempt - 1));
    delayMs = Math.floor(input.random() * ceiling);
  }
  if (delayMs > input.budgetRemainingMs) return stop(`${retryable}: the retry time budget is spent`);
  return { retry: true, delayMs, reason: retryable, throttled };
}

/** Milliseconds to wait from a Retry-After header (delta-seconds or HTTP date), or undefined if absent/unusable. */
export function parseRetryAfter(header: string | undefined, nowMs: number): number | undefined {
  if (header === undefined) return undefined;
  const text = header.trim();
  if (text === '') return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (/^\d+\.\d+$/.test(text)) return Math.ceil(Number(text) * 1000);
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  // HTTP dates have whole-second precision: round up so a date-based wait is never cut short.
  return Math.max(0, Math.ceil((date - nowMs) / 1000) * 1000);
}

function describeRetryable(outcome: AttemptOutcome): string | undefined {
  switch (outcome.kind) {
    case 'status':
      return RETRYABLE_STATUSES.has(outcome.status) ? `HTTP ${outcome.status}` : undefined;
    case 'invalid-body':
      return 'an unusable response body';
    case 'error': {
      const code = errorCode(outcome.error);
      return code !== undefined && RETRYABLE_ERROR_CODES.has(code) ? `connection error ${code}` : undefined;
    }
  }
}

function describeOutcome(outcome: AttemptOutcome): string {
  switch (outcome.kind) {
    case 'status':
      return `HTTP ${outcome.status}`;
    case 'invalid-body':
      return 'an unusable response body';
    case 'error':
      return `error ${errorCode(outcome.error) ?? (outcome.error instanceof Error ? outcome.error.name : 'unknown')}`;
  }
}

/** The stable code of a network error: undici's `code`, or a Node system error's, or the cause's. */
export function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') return code;
    current = current.cause;
  }
  return undefined;
}
