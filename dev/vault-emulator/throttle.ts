/**
 * Key Vault's service limits: each vault serves at most so many transactions in any 10 seconds
 * (1,000 for sign and get on RSA 3,072-bit software keys, 4,000 for secrets; the thresholds are
 * weighted and enforced on their sum) and answers the rest `429 Too Many Requests`. A throttled request
 * does not count towards the limit.
 */
import type { VaultResponse } from './routeHelpers';
import type { VaultErrorBody } from './vaultError';

/** The service's window. */
export const KEY_VAULT_THROTTLE_WINDOW_MS = 10_000;

/** Options of the emulator's throttling mode (`startVaultEmulator({ throttle })`, `setThrottle`). */
export interface VaultThrottleOptions {
  /**
   * Transactions served in any window (a sliding window: no `windowMs` span ever holds more). Every
   * authorized request is one transaction, whatever it reads or signs.
   */
  transactionsPerWindow: number;
  /**
   * Length of the window. Tests shorten it to keep a fleet of requests quick; the behaviour is the
   * service's, scaled.
   * @default 10000, as the service
   */
  windowMs?: number;
  /**
   * Send `Retry-After` (whole seconds until the window has room again, at least 1) with each 429. The
   * service's documentation promises only the 429: a client must also cope without the header.
   * @default true
   */
  retryAfter?: boolean;
}

/** The body Key Vault sends with a 429. */
export const THROTTLED_BODY: VaultErrorBody = {
  error: {
    code: 'Throttled',
    message:
      'Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached',
  },
};

/** Counts transactions in a sliding window and refuses those over the limit. */
export class VaultThrottle {
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly retryAfter: boolean;
  /** Arrival times of the transactions still in the window, oldest first. */
  private readonly admitted: number[] = [];

  constructor(options: VaultThrottleOptions) {
    const { transactionsPerWindow, windowMs = KEY_VAULT_THROTTLE_WINDOW_MS } = options;
    if (!Number.isInteger(transactionsPerWindow) || transactionsPerWindow < 1) {
      throw new RangeError(
        `Vault emulator throttle.transactionsPerWindow must be a positive integer, got ${transactionsPerWindow}`,
      );
    }
    if (!Number.isInteger(windowMs) || windowMs < 1) {
      throw new RangeError(`Vault emulator throttle.windowMs must be a positive integer, got ${windowMs}`);
    }
    this.limit = transactionsPerWindow;
    this.windowMs = windowMs;
    this.retryAfter = options.retryAfter ?? true;
  }

  /** `undefined` when the transaction is served (and counted), else the 429 to answer. */
  admit(now: number): VaultResponse | undefined {
    while (this.admitted.length > 0 && this.admitted[0]! <= now - this.windowMs) this.admitted.shift();
    if (this.admitted.length < this.limit) {
      this.admitted.push(now);
      return undefined;
    }
    const roomAt = this.admitted[0]! + this.windowMs;
    const seconds = Math.max(1, Math.ceil((roomAt - now) / 1000));
    return {
      status: 429,
      ...(this.retryAfter ? { headers: { 'retry-after': String(seconds) } } : {}),
      body: THROTTLED_BODY,
    };
  }
}
