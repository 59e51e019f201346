/** One export run at a time, whichever instance or trigger starts it. */
export interface RunLock {
  /** Takes the lock or throws RUN_LOCKED. Returns the lease ID that renews and releases it. */
  acquire(signal?: AbortSignal): Promise<string>;
  /** Extends the lock; false when it was lost (expired and taken by another run). */
  renew(leaseId: string, signal?: AbortSignal): Promise<boolean>;
  release(leaseId: string, signal?: AbortSignal): Promise<void>;
}
