import { abortError } from '../contract/errors';

/** Key Vault counts each vault's transactions per 10 seconds. */
const WINDOW_MS = 10_000;
/** The burst the bucket holds, and the span over which the send rate is measured. */
const BURST_MS = 1000;
/** After a 429 the rate drops to this share of the rate actually sent ... */
const DECREASE = 0.7;
/** ... but never below this share of the rate allowed before, per 429. */
const LARGEST_DROP = 0.25;

export interface VaultRateBudgetOptions {
  /**
   * Transactions per 10 s the budget starts at and climbs back to: Key Vault's published limit for the
   * strictest transactions the app sends (sign and get on an RSA 3,072-bit software key; secrets allow
   * 4,000).
   * @default 1000
   */
  transactionsPer10s?: number;
  /** Floor the rate never drops below. @default 10 */
  minTransactionsPer10s?: number;
  /**
   * How fast the rate climbs back after a 429: this share of the rate set then, per 10 s without
   * another 429 (linear, so a vault shared with other apps is probed gently; a rate set too high costs
   * little, since a 429 pauses every caller at once).
   * @default 0.5
   */
  recoveryPer10s?: number;
  now?: () => number;
}

/** A slot the budget handed out; give it back to {@link VaultRateBudget.onThrottled} if the vault said 429. */
export interface VaultGrant {
  readonly grantedAt: number;
}

interface Waiter {
  grant: (grant: VaultGrant) => void;
}

/**
 * One rate budget for every Key Vault call of the process to one vault, whatever the number of authors:
 * a token bucket (a second's worth of burst) refilled at an adaptive rate. A 429 to any caller pauses
 * every caller for the wait the vault asked for, and lowers the rate to 70 % of what was actually sent
 * in the last second (once per round: 429s to requests sent before the last decrease count as the same
 * signal); the rate then climbs back linearly. Calls that are retrying are served before first attempts,
 * so no caller starves behind a fleet.
 */
export class VaultRateBudget {
  private readonly max: number;
  private readonly min: number;
  private readonly recovery: number;
  private readonly now: () => number;
  private floorRate: number;
  private lastDecreaseAt = -Infinity;
  private tokens: number;
  private refilledAt: number;
  private resumeAt = -Infinity;
  private readonly retries: Waiter[] = [];
  private readonly firsts: Waiter[] = [];
  /** When the slots of the last second were handed out, oldest first. */
  private readonly sent: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  /** 429s reported, and the rate decreases they caused (for run figures and tests). */
  throttleSignals = 0;
  decreases = 0;

  constructor(options: VaultRateBudgetOptions = {}) {
    this.max = Math.max(1, options.transactionsPer10s ?? 1000);
    this.min = Math.min(this.max, Math.max(1, options.minTransactionsPer10s ?? 10));
    this.recovery = Math.max(0, options.recoveryPer10s ?? 0.5);
    this.now = options.now ?? (() => performance.now());
    this.floorRate = this.max;
    this.tokens = this.capacity;
    this.refilledAt = this.now();
  }

  /** Transactions per 10 s allowed now. */
  get transactionsPer10s(): number {
    const since = this.now() - this.lastDecreaseAt;
    if (!Number.isFinite(since)) return this.floorRate;
    return Math.min(this.max, this.floorRate * (1 + (this.recovery * since) / WINDOW_MS));
  }

  /** Callers waiting for a slot. */
  get waiting(): number {
    return this.retries.length + this.firsts.length;
  }

  /**
   * Waits for a slot (retries first). An aborted signal ends the wait at once with ABORTED (or the
   * signal's own GalleryExportError reason), whatever the budget is waiting for.
   */
  acquire(signal?: AbortSignal, retry = false): Promise<VaultGrant> {
    if (signal?.aborted) return Promise.reject(abortError(signal));
    return new Promise<VaultGrant>((resolve, reject) => {
      const queue = retry ? this.retries : this.firsts;
      const onAbort = (): void => {
        const index = queue.indexOf(waiter);
        if (index >= 0) queue.splice(index, 1);
        // A timer with nobody left to wake would only keep the process alive.
        if (this.waiting === 0) this.clearTimer();
        reject(abortError(signal));
      };
      const waiter: Waiter = {
        grant: (grant) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(grant);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      queue.push(waiter);
      this.dispatch();
    });
  }

  /**
   * The vault answered 429 to a request sent with `grant`: nobody sends before `pauseMs` has passed, and
   * the rate halves unless an earlier 429 of the same round already halved it.
   */
  onThrottled(grant: VaultGrant, pauseMs: number): void {
    this.throttleSignals++;
    const at = this.now();
    this.refill(at);
    this.resumeAt = Math.max(this.resumeAt, at + Math.max(0, pauseMs));
    this.tokens = Math.min(this.tokens, 0);
    if (grant.grantedAt >= this.lastDecreaseAt) {
      // What was sent, not what was allowed: a rate the fleet never reached says nothing about the vault.
      const allowed = this.transactionsPer10s;
      const sentPer10s = (this.sentSince(at - BURST_MS) * WINDOW_MS) / BURST_MS;
      const lowered = DECREASE * Math.min(allowed, sentPer10s);
      this.floorRate = Math.max(this.min, LARGEST_DROP * allowed, lowered);
      this.lastDecreaseAt = at;
      this.decreases++;
    }
    this.dispatch();
  }

  private sentSince(since: number): number {
    while (this.sent.length > 0 && this.sent[0]! < since) this.sent.shift();
    return this.sent.length;
  }

  private get capacity(): number {
    // A second's worth of burst: a fleet's first requests go out together, within the vault's limit.
    return Math.max(1, (this.transactionsPer10s * BURST_MS) / WINDOW_MS);
  }

  private refill(at: number): void {
    const rate = this.transactionsPer10s / WINDOW_MS;
    this.tokens = Math.min(this.capacity, this.tokens + (at - this.refilledAt) * rate);
    this.refilledAt = at;
  }

  private dispatch(): void {
    const at = this.now();
    this.refill(at);
    if (this.waiting === 0) return;
    if (at < this.resumeAt) {
      this.wakeAt(this.resumeAt);
      return;
    }
    this.sentSince(at - BURST_MS);
    while (this.tokens >= 1) {
      const waiter = this.retries.shift() ?? this.firsts.shift();
      if (!waiter) return;
      this.tokens -= 1;
      this.sent.push(at);
      waiter.grant({ grantedAt: at });
    }
    if (this.waiting > 0) this.wakeAt(at + ((1 - this.tokens) * WINDOW_MS) / this.transactionsPer10s);
  }

  /** One timer for the whole budget, at the earliest moment a waiter may go. */
  private wakeAt(at: number): void {
    if (this.timer && this.timerAt <= at) return;
    this.clearTimer();
    this.timerAt = at;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.timerAt = Infinity;
        this.dispatch();
      },
      Math.max(1, Math.ceil(at - this.now())),
    );
  }

  private clearTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }
}
