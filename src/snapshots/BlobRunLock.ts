import type { ContainerClient } from '@azure/storage-blob';
import { GalleryExportError } from '../contract/errors';
import { statusOf, storageCodeOf, storageError } from './storageErrors';

/**
 * The run lock is a lease on the exports container itself. The Functions host's timer singleton can be
 * lost mid-run and an HTTP trigger bypasses it, so gallery-export takes its own. A container lease needs no
 * extra blob (every blob in the container is a document of the contract) and does not hinder blob reads
 * or writes; it only blocks deleting the container while a run holds it. Leases last `leaseSeconds`
 * (15-60) and are renewed while the run works; whoever holds the lease ID can renew it (any instance of
 * the app), and if every holder dies the lock frees itself within `leaseSeconds`.
 */
export class BlobRunLock {
  constructor(
    private readonly container: ContainerClient,
    private readonly leaseSeconds = 60,
  ) {}

  async acquire(signal?: AbortSignal): Promise<string> {
    // The lease ID is proposed by the client: a retry whose first try took the lease (its answer lost)
    // is granted again, and a failed acquisition can let go of what one of its tries may have taken.
    const lease = this.container.getBlobLeaseClient();
    try {
      const acquired = await lease.acquireLease(this.leaseSeconds, { abortSignal: signal });
      if (!acquired.leaseId) throw new Error('no lease ID returned');
      return acquired.leaseId;
    } catch (error) {
      if (statusOf(error) === 409 || storageCodeOf(error) === 'LeaseAlreadyPresent') {
        throw new GalleryExportError('RUN_LOCKED', 'Another export run is in progress', { statusCode: 409 });
      }
      // Otherwise the lock would stay taken by nobody until it lapses, refusing the next run.
      await lease.releaseLease().catch(() => undefined);
      throw storageError(error, 'lock', `container ${this.container.containerName}`, 'STORAGE_UNAVAILABLE');
    }
  }

  async renew(leaseId: string, signal?: AbortSignal): Promise<boolean> {
    try {
      await this.container.getBlobLeaseClient(leaseId).renewLease({ abortSignal: signal });
      return true;
    } catch (error) {
      const status = statusOf(error);
      if (status === 409 || status === 412) return false;
      throw storageError(
        error,
        'renew the lock on',
        `container ${this.container.containerName}`,
        'STORAGE_UNAVAILABLE',
      );
    }
  }

  async release(leaseId: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.container.getBlobLeaseClient(leaseId).releaseLease({ abortSignal: signal });
    } catch (error) {
      const status = statusOf(error);
      if (status === 409 || status === 412) return; // already expired or taken over: nothing to release
      throw storageError(
        error,
        'release the lock on',
        `container ${this.container.containerName}`,
        'STORAGE_UNAVAILABLE',
      );
    }
  }
}
