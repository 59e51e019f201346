import { abortError } from '../contract/errors';

export interface AdaptiveLimiterOptions {
  /** Most requests in flight at once (CATALOG_CONCURRENCY). */
  maxConcurrency: number;
  /** Floor the limit never drops below. @default 1 */
  minConcurrency?: number;
  /**
   * 429s arriving within this window of the previous decrease count as one signal: a burst of
   * throttled responses to requests sent together should halve the limit once, not to the floor.
   * @default 250
   */
  decreaseCooldownMs?: number;
  now?: () => number;
}

/**
 * One concurrency budget for every catalog request of the process, whatever the number of authors.
 * The limit adapts like TCP congestion control (AIMD): a throttled response halves it for the whole
 * client, each success adds 1/limit, so it climbs back to the maximum once the service stops throttling.
 */
export class AdaptiveLimiter {
  private readonly max: number;
  private readonly min: number;
  private readonly cooldownMs: number;
  private readonly now: () => number;
  private window: number;
  private active = 0;
  private lastDecreaseAt = -Infinity;
  private readonly waiters: Array<{ grant: () => void }> = [];
  /** Highest number of requests ever in flight at once (for run figures and tests). */
  peakInFlight = 0;
  throttleSignals = 0;

  constructor(options: AdaptiveLimiterOptions) {
    this.max = Math.max(1, Math.floor(options.maxConcurrency));
    this.min = Math.min(this.max, Math.max(1, Math.floor(options.minConcurrency ?? 1)));
    this.cooldownMs = options.decreaseCooldownMs ?? 250;
    this.now = options.now ?? (() => performance.now());
    this.window = this.max;
  }

  /** Current number of requests allowed in flight. */
  get limit(): number {
    return Math.max(this.min, Math.floor(this.window));
  }

  get inFlight(): number {
    return this.active;
  }

  /** Waits for a slot. The returned function gives it back; call it exactly once. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) {
      return Promise.reject(abortError(signal));
    }
    if (this.active < this.limit && this.waiters.length === 0) return Promise.resolve(this.take());
    return new Promise<() => void>((resolve, reject) => {
      const onAbort = (): void => {
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) this.waiters.splice(index, 1);
        reject(abortError(signal));
      };
      const waiter = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(this.take());
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** The service answered 429: slow every caller down. */
  onThrottled(): void {
    this.throttleSignals++;
    const at = this.now();
    if (at - this.lastDecreaseAt < this.cooldownMs) return;
    this.lastDecreaseAt = at;
    this.window = Math.max(this.min, this.window / 2);
  }

  /** A request succeeded: recover towards the maximum. */
  onSuccess(): void {
    if (this.window < this.max) {
      this.window = Math.min(this.max, this.window + 1 / Math.max(1, this.window));
      this.dispatch();
    }
  }

  private take(): () => void {
    this.active++;
    if (this.active > this.peakInFlight) this.peakInFlight = this.active;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      this.dispatch();
    };
  }

  private dispatch(): void {
    // take() counts the slot as soon as it is granted, before the waiter resumes, so the limit holds.
    while (this.active < this.limit && this.waiters.length > 0) this.waiters.shift()!.grant();
  }
}
