/**
 * The retry decision for every Key Vault call, as a pure function: the policy (vaultRetryPolicy.ts) owns
 * the loop, this only decides. Key Vault's throttling guidance: on 429 wait (Retry-After when the vault
 * sends one, else exponential backoff from 1 s) and keep retrying until the request succeeds; so a
 * throttled call has no attempt limit, only a time limit (the caller's deadline, or `maxElapsedMs` when it
 * set none). Other transient failures (5xx, a lost connection) keep a small attempt limit, so a vault that
 * is down fails the run at once.
 */

export interface VaultRetryOptions {
  /** First wait after a 429 without Retry-After (the guidance: 1 s, 2 s, 4 s, 8 s, 16 s). @default 1000 */
  throttledBaseDelayMs: number;
  /** Longest wait after a 429 without Retry-After. @default 16000 */
  throttledMaxDelayMs: number;
  /** Retries after a 5xx, 408 or a lost connection. @default 3 */
  maxTransientRetries: number;
  /** First backoff step after a transient failure. @default 500 */
  transientBaseDelayMs: number;
  /** Largest backoff after a transient failure. @default 4000 */
  transientMaxDelayMs: number;
  /**
   * Longest one call keeps trying, from its first attempt: the bound when the caller's signal sets no
   * deadline (an author's export has AUTHOR_TIMEOUT_MS), so nothing waits for ever.
   * @default 600000
   */
  maxElapsedMs: number;
}

export const DEFAULT_VAULT_RETRY: Readonly<VaultRetryOptions> = {
  throttledBaseDelayMs: 1000,
  throttledMaxDelayMs: 16_000,
  maxTransientRetries: 3,
  transientBaseDelayMs: 500,
  transientMaxDelayMs: 4000,
  maxElapsedMs: 600_000,
};

/** Statuses worth another attempt besides 429 (core-rest-pipeline's list: 408 and 5xx but 501, 505). */
const TRANSIENT_STATUSES: ReadonlySet<number> = new Set([408, 500, 502, 503, 504]);

/** Connection failures worth another attempt (Node's codes, and the SDK's for a request never sent). */
const TRANSIENT_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'REQUEST_SEND_ERROR',
]);

export type VaultAttemptOutcome =
  | {
      kind: 'status';
      status: number;
      /** The wait the vault asked for, from `retryAfterMs` on the response (undefined when none). */
      retryAfterMs?: number | undefined;
    }
  | { kind: 'error'; error: unknown };

export interface VaultRetryInput {
  outcome: VaultAttemptOutcome;
  /** 429s answered to this call so far, this one included. */
  throttledAttempts: number;
  /** Transient failures of this call so far, this one included. */
  transientAttempts: number;
  /** Milliseconds since the call's first attempt. */
  elapsedMs: number;
  /** A number in [0, 1): injected so tests are deterministic. */
  random: () => number;
  options: VaultRetryOptions;
}

export type VaultRetryDecision =
  /** `throttled`: the vault said it is over its limit, so every caller of that vault should slow down. */
  | { retry: true; delayMs: number; throttled: boolean; reason: string }
  | { retry: false; throttled: boolean; reason: string };

export function decideVaultRetry(input: VaultRetryInput): VaultRetryDecision {
  const { outcome, options } = input;
  const throttled = outcome.kind === 'status' && outcome.status === 429;
  const what = describeOutcome(outcome);
  if (!throttled && !isTransient(outcome)) return { retry: false, throttled, reason: `${what} is final` };
  if (!throttled && input.transientAttempts > options.maxTransientRetries) {
    return { retry: false, throttled, reason: `${what}: gave up after ${input.transientAttempts} attempts` };
  }
  const asked = outcome.kind === 'status' ? outcome.retryAfterMs : undefined;
  const delayMs =
    asked !== undefined
      ? asked
      : throttled
        ? equalJitter(
            options.throttledBaseDelayMs,
            options.throttledMaxDelayMs,
            input.throttledAttempts,
            input,
          )
        : fullJitter(
            options.transientBaseDelayMs,
            options.transientMaxDelayMs,
            input.transientAttempts,
            input,
          );
  if (input.elapsedMs + delayMs > options.maxElapsedMs) {
    return {
      retry: false,
      throttled,
      reason: `${what}: still failing after ${Math.round(input.elapsedMs / 1000)} s (the limit is ${Math.round(options.maxElapsedMs / 1000)} s)`,
    };
  }
  return { retry: true, delayMs, throttled, reason: what };
}

/**
 * Milliseconds to wait from a response's headers, as core-rest-pipeline reads them: `retry-after-ms`,
 * `x-ms-retry-after-ms`, then `Retry-After` (delta-seconds or an HTTP date); undefined when absent or
 * unusable.
 */
export function retryAfterMs(
  header: (name: string) => string | undefined,
  nowMs: number,
): number | undefined {
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const value = header(name)?.trim();
    if (value && /^\d+(\.\d+)?$/.test(value)) return Math.ceil(Number(value));
  }
  const text = header('retry-after')?.trim();
  if (!text) return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.ceil(Number(text) * 1000);
  // An HTTP date names its day ("Sat, 28 Nov 2026 02:00:03 GMT"); Date.parse would take "-3" for a year.
  if (!/^[A-Za-z]{3},/.test(text)) return undefined;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  // HTTP dates have whole-second precision: round up so a date-based wait is never cut short.
  return Math.max(0, Math.ceil((date - nowMs) / 1000) * 1000);
}

/** The error's stable code: the SDK's RestError `code`, or a Node system error's, or its cause's. */
export function vaultErrorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') return code;
    current = current.cause;
  }
  return undefined;
}

function isTransient(outcome: VaultAttemptOutcome): boolean {
  if (outcome.kind === 'status') return TRANSIENT_STATUSES.has(outcome.status);
  const code = vaultErrorCode(outcome.error);
  return code !== undefined && TRANSIENT_ERROR_CODES.has(code);
}

function describeOutcome(outcome: VaultAttemptOutcome): string {
  if (outcome.kind === 'status') return `HTTP ${outcome.status}`;
  return `connection error ${vaultErrorCode(outcome.error) ?? 'without a code'}`;
}

/** Never less than half the step (the guidance: no immediate retry of a 429), jittered across the rest. */
function equalJitter(base: number, max: number, attempt: number, input: VaultRetryInput): number {
  const step = Math.min(max, base * 2 ** (attempt - 1));
  return Math.floor(step / 2 + input.random() * (step / 2));
}

function fullJitter(base: number, max: number, attempt: number, input: VaultRetryInput): number {
  return Math.floor(input.random() * Math.min(max, base * 2 ** (attempt - 1)));
}
