import { DefaultAzureCredential } from '@azure/identity';
import { BlobServiceClient, type StoragePipelineOptions } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import type { StorageConfig } from '../contract/settings';
import { GalleryExportError } from '../contract/errors';

/** One retry layer for storage: the SDK's own, kept short so a storage outage fails an author quickly. */
const STORAGE_RETRY = { maxTries: 4, tryTimeoutInMs: 60_000, retryDelayInMs: 200, maxRetryDelayInMs: 4000 };

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
