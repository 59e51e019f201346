import { DefaultAzureCredential } from '@azure/identity';
import { BlobServiceClient, type StoragePipelineOptions } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import type { StorageConfig } from '../contract/settings';
import { GalleryExportError } from '../contract/errors';

/**
 * One retry layer for storage: the SDK's own. It retries 500, 503, resets and timeouts, after
 * min((2^(try-1) - 1) x retryDelayInMs, maxRetryDelayInMs): 0, 0.2, 0.6, 1.4, 3, 4, 4 s, 13 s in all.
 *
 * Eight tries, because a request fails only when every try fails: with a fifth of requests failing, four
 * tries lose one request in 625 (a run of a few authors meets that often), eight one in 390,000 (a
 * 400-author run, some 8,000 requests, about once in fifty runs; the queue path delivers again anyway).
 * A storage outage still fails an author within about 15 s.
 *
 * `tryTimeoutInMs` is the service's own `timeout` parameter (the server gives up on an operation after
 * it and answers 500 OperationTimedOut, which is retried); the SDK sets no client-side timeout per try,
 * so a request whose answer never comes is bounded only by the caller's deadline (AUTHOR_TIMEOUT_MS).
 */
const STORAGE_RETRY = { maxTries: 8, tryTimeoutInMs: 60_000, retryDelayInMs: 200, maxRetryDelayInMs: 4000 };

export interface StorageClients {
  blobService: BlobServiceClient;
  queueService: QueueServiceClient;
}

export function createStorageClients(storage: StorageConfig): StorageClients {
  const options: StoragePipelineOptions = { retryOptions: STORAGE_RETRY };
  try {
    if (storage.kind === 'connectionString') {
      return {
        blobService: BlobServiceClient.fromConnectionString(storage.connectionString, options),
        queueService: QueueServiceClient.fromConnectionString(storage.connectionString, {
          retryOptions: STORAGE_RETRY,
        }),
      };
    }
    const credential = new DefaultAzureCredential({ managedIdentityClientId: storage.clientId });
    return {
      blobService: new BlobServiceClient(storage.blobServiceUri, credential, options),
      queueService: new QueueServiceClient(storage.queueServiceUri, credential, {
        retryOptions: STORAGE_RETRY,
      }),
    };
  } catch (error) {
    // The SDK's message may quote the connection string, account key included: never pass it on.
    throw new GalleryExportError('CONFIG', 'EXPORT_STORAGE is not a usable storage connection string', {
      cause: error instanceof Error ? new Error(error.name) : undefined,
    });
  }
}
