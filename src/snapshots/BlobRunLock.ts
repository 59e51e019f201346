import type { ContainerClient } from '@azure/storage-blob';
import { GalleryExportError } from '../errors';
import { RUN_LOCK_BLOB } from './layout';
import type { RunLock } from './RunLock';
import { statusOf, storageCodeOf, storageError } from './storageErrors';

/**
 * The run lock is a lease on one blob. The Functions host's timer singleton can be lost mid-run and an
 * HTTP trigger bypasses it, so gallery-export takes its own. Leases last `leaseSeconds` (15-60) and are
 * renewed while the run works; whoever holds the lease ID can renew it (any instance of the app), and
 * if every holder dies the lock frees itself within `leaseSeconds`.
 */
export class BlobRunLock implements RunLock {
  constructor(
    private readonly container: ContainerClient,
    private readonly leaseSeconds = 60,
  ) {}

  async acquire(signal?: AbortSignal): Promise<string> {
    const blob = this.container.getBlockBlobClient(RUN_LOCK_BLOB);
    try {
      const body =
        '{"purpose":"gallery-export holds a lease on this blob while an export run is in progress"}\n';
      await blob.upload(body, Buffer.byteLength(body), {
        conditions: { ifNoneMatch: '*' },
        blobHTTPHeaders: { blobContentType: 'application/json' },
        tags: { kind: 'lock' },
        abortSignal: signal,
      });
    } catch (error) {
      // 409: it exists (the usual case). 412: it exists and is leased.
      const status = statusOf(error);
      if (status !== 409 && status !== 412)
        throw storageError(error, 'create', RUN_LOCK_BLOB, 'STORAGE_UNAVAILABLE');
    }
    try {
      const lease = await blob.getBlobLeaseClient().acquireLease(this.leaseSeconds, { abortSignal: signal });
      if (!lease.leaseId) throw new Error('no lease ID returned');
      return lease.leaseId;
    } catch (error) {
      if (statusOf(error) === 409 || storageCodeOf(error) === 'LeaseAlreadyPresent') {
        throw new GalleryExportError('RUN_LOCKED', 'Another export run is in progress', { statusCode: 409 });
      }
      throw storageError(error, 'lock', RUN_LOCK_BLOB, 'STORAGE_UNAVAILABLE');
    }
  }

  async renew(leaseId: string, signal?: AbortSignal): Promise<boolean> {
    try {
      await this.container
        .getBlockBlobClient(RUN_LOCK_BLOB)
        .getBlobLeaseClient(leaseId)
        .renewLease({ abortSignal: signal });
      return true;
    } catch (error) {
      const status = statusOf(error);
      if (status === 409 || status === 412) return false;
      throw storageError(error, 'renew the lock on', RUN_LOCK_BLOB, 'STORAGE_UNAVAILABLE');
    }
  }

  async release(leaseId: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.container
        .getBlockBlobClient(RUN_LOCK_BLOB)
        .getBlobLeaseClient(leaseId)
        .releaseLease({ abortSignal: signal });
    } catch (error) {
      const status = statusOf(error);
      if (status === 409 || status === 412) return; // already expired or taken over: nothing to release
      throw storageError(error, 'release the lock on', RUN_LOCK_BLOB, 'STORAGE_UNAVAILABLE');
    }
  }
}
