import { setMaxListeners } from 'node:events';
import { GalleryExportError, isGalleryExportError } from '../contract/errors';
import type { Logger, RenewableLease, RunLock } from './ports';

/** A renewal sent this recently proves the leases for another fence too (see `fence`). */
const FENCE_SHARING_MS = 250;

export interface KeptLease {
  lease: RenewableLease;
  /** For messages: "the run lock", "the claim on author CB9AEF…8BE". */
  what: string;
}

export interface LeaseKeeperOptions {
  /** The leases' length (RUN_LOCK_SECONDS): they are renewed every third of it. */
  leaseSeconds: number;
  logger: Logger;
  /** Monotonic clock in ms, injectable for tests. @default performance.now */
  now?: () => number;
}

/**
 * The one helper that keeps a holder's leases alive (the run lock, its claim on an author) and fences its
 * writes. Every holder uses it: the planner, the in-process run, each queue worker, purge.
 *
 * A lease is the fencing token: its ID changes with every acquisition, and only the storage service can
 * say whether it is still this holder's. So `fence()` renews every lease right before a write that matters
 * (a renewal is the service checking the ID) and the write must go out inside the time that renewal
 * guarantees (nobody can acquire before the lease, renewed when the request was sent, runs out). In the
 * background the leases are renewed every third of their length; when one is refused (taken by another
 * run, broken), or cannot be renewed for a whole lease period, `signal` fires with RUN_LOCK_LOST and the
 * holder's work stops: nothing it writes afterwards can pass a fence.
 */
export class LeaseKeeper {
  private readonly controller = new AbortController();
  private readonly leases: KeptLease[];
  private readonly leaseMs: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  /** The last renewal a fence sent (or joined). */
  private renewal: { sentAt: number; done: Promise<void> } | undefined;
  /** When the last renewal of every lease that succeeded was sent. */
  private lastRenewedAt: number;

  constructor(
    leases: readonly KeptLease[],
    private readonly options: LeaseKeeperOptions,
  ) {
    this.leases = [...leases];
    this.leaseMs = options.leaseSeconds * 1000;
    this.now = options.now ?? (() => performance.now());
    this.lastRenewedAt = this.now();
    // Every request and wait of the holder listens to it.
    setMaxListeners(0, this.controller.signal);
  }

  /** Fires (reason: RUN_LOCK_LOST) once a lease is lost; give it to everything the holder does. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Renewals run every third of the lease, so two may fail before it can lapse. */
  get intervalMs(): number {
    return Math.floor(this.leaseMs / 3);
  }

  /** Starts the background renewal; returns this. */
  start(): this {
    if (this.timer === undefined && !this.signal.aborted) {
      this.timer = setInterval(() => void this.renewInBackground(), this.intervalMs);
      this.timer.unref();
    }
    return this;
  }

  /** Keeps one more lease from now on (a claim taken after the run lock). */
  add(lease: KeptLease): void {
    this.leases.push(lease);
    // A renewal sent before this lease was kept does not prove it.
    this.renewal = undefined;
  }

  /**
   * The fence: renews every lease now. Throws RUN_LOCK_LOST when one is no longer the holder's (and stops
   * everything), or what storage threw when it could not tell. Returns a signal that fires when the time
   * this renewal guarantees runs out (a margin of a third of the lease before it), for the write that
   * follows.
   */
  readonly fence = async (signal?: AbortSignal): Promise<AbortSignal> => {
    this.throwIfLost();
    // Fences asked for together (many authors of one run writing at once) share one renewal, when it
    // was sent a moment ago: its answer is as good a proof for each of them.
    const recent =
      this.renewal && this.now() - this.renewal.sentAt < FENCE_SHARING_MS ? this.renewal : undefined;
    const renewal = recent ?? { sentAt: this.now(), done: this.renewAll(signal) };
    if (!recent) this.renewal = renewal;
    await renewal.done;
    const { sentAt } = renewal;
    const remainingMs = sentAt + this.leaseMs - this.intervalMs - this.now();
    if (remainingMs <= 0) {
      // The renewal itself took longer than the margin: too late to trust it for a write.
      throw this.lose('renewing took longer than the lease allows to write safely');
    }
    const window = new AbortController();
    setTimeout(
      () =>
        window.abort(
          new GalleryExportError(
            'RUN_LOCK_LOST',
            `A write under ${this.describe()} did not finish within the time the last renewal guarantees`,
          ),
        ),
      remainingMs,
    ).unref();
    return AbortSignal.any([this.signal, window.signal, ...(signal ? [signal] : [])]);
  };

  /** Stops renewing (the leases are not released: their owners do that). */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async renewInBackground(): Promise<void> {
    if (this.signal.aborted) return this.stop();
    try {
      await this.renewAll(this.signal);
    } catch (error) {
      if (isGalleryExportError(error, 'RUN_LOCK_LOST')) return;
      // Storage could not say: keep trying, but once a whole lease period has passed without a renewal
      // another holder may have taken it, and nothing may be written on the strength of it any more.
      if (this.now() - this.lastRenewedAt >= this.leaseMs) {
        this.lose(`it could not be renewed for ${this.options.leaseSeconds} s`);
      } else {
        this.options.logger.warn(
          `Could not renew ${this.describe()} (will retry): ${(error as Error).message}`,
        );
      }
    }
  }

  private async renewAll(signal: AbortSignal | undefined): Promise<void> {
    const sentAt = this.now();
    const held = await Promise.all(this.leases.map(({ lease }) => lease.renew(signal)));
    const lost = this.leases.filter((_, index) => !held[index]);
    if (lost.length > 0)
      throw this.lose(`${lost.map((lease) => lease.what).join(' and ')} was taken or broken`);
    this.lastRenewedAt = Math.max(this.lastRenewedAt, sentAt);
  }

  private throwIfLost(): void {
    if (this.signal.aborted) throw this.signal.reason as GalleryExportError;
  }

  private lose(why: string): GalleryExportError {
    if (this.signal.aborted) return this.signal.reason as GalleryExportError;
    const error = new GalleryExportError(
      'RUN_LOCK_LOST',
      `This run no longer holds ${this.describe()} (${why}); it writes nothing more`,
    );
    this.stop();
    this.options.logger.warn(error.message);
    this.controller.abort(error);
    return error;
  }

  private describe(): string {
    return this.leases.map((lease) => lease.what).join(' and ') || 'its leases';
  }
}

/** A keeper of the run lock alone (planning, the in-process run, a queue worker, purge), started. */
export function keepRunLock(
  services: { lock: RunLock; logger: Logger; lockSeconds: number },
  leaseId: string,
): LeaseKeeper {
  return new LeaseKeeper(
    [{ lease: { renew: (signal) => services.lock.renew(leaseId, signal) }, what: 'the run lock' }],
    { leaseSeconds: services.lockSeconds, logger: services.logger },
  ).start();
}
