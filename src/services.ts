import type { ContainerClient } from '@azure/storage-blob';
import type { QueueClient } from '@azure/storage-queue';
import { KeyVaultAuthorRegistry } from './authors/KeyVaultAuthorRegistry';
import type { KeyVaultSigner } from './signing/KeyVaultSigner';
import { CatalogClient } from './catalog/CatalogClient';
import { describeRunSettings, type Config } from './config';
import { EntitySpool } from './export/EntitySpool';
import { prepareSpoolFolder } from './export/spoolFolder';
import type { DocumentSigner, ExportServices, Logger } from './export/ports';
import { BlobRunLock } from './snapshots/BlobRunLock';
import { BlobDsarStore } from './snapshots/BlobDsarStore';
import { BlobErasureStore } from './snapshots/BlobErasureStore';
import { BlobRunStore } from './snapshots/BlobRunStore';
import { BlobSnapshotStore } from './snapshots/BlobSnapshotStore';
import { createStorageClients } from './snapshots/storageClients';
import { StorageErasureQueue } from './snapshots/StorageWorkQueue';
import { storageError } from './snapshots/storageErrors';
import type { PublicKeyResolver } from './snapshots/verifyTypes';
import { recordCatalogRetry } from './telemetry/instruments';
import { traceCatalogAttempt } from './telemetry/tracing';
import { GENERATOR } from './version';

export interface AppServices extends ExportServices {
  config: Config;
  container: ContainerClient;
  /** Erasures requested over HTTP and the audit trail of data-subject requests. */
  requests: BlobDsarStore;
  /** Requested erasures go on the fan-out queue, told apart by their kind. */
  erasureQueue: StorageErasureQueue;
  /** The archive's public keys (SIGNING_KEY_NAME in KEY_VAULT_URL), when a signing key is set. */
  publicKeys: PublicKeyResolver | undefined;
  queue: QueueClient;
  poisonQueue: QueueClient;
  registry: KeyVaultAuthorRegistry;
  catalog: CatalogClient;
  /** Creates the container and queues when missing (connection strings: the local stack; in Azure the templates do). */
  ensureStorage(signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

export interface CreateServicesOptions {
  logger: Logger;
  now?: () => Date;
}

export interface StorageServices {
  container: ContainerClient;
  requests: BlobDsarStore;
  runs: BlobRunStore;
  lock: BlobRunLock;
  snapshots: BlobSnapshotStore;
  erasures: BlobErasureStore;
}

/** Storage alone, for the commands that only read or erase snapshots. */
export function createStorageServices(
  config: Config,
  blobService = createStorageClients(config.storage).blobService,
  keys?: PublicKeyResolver,
): StorageServices {
  const container = blobService.getContainerClient(config.container);
  return {
    container,
    requests: new BlobDsarStore(container),
    runs: new BlobRunStore(container),
    lock: new BlobRunLock(container, config.runLockSeconds),
    snapshots: new BlobSnapshotStore(container),
    erasures: new BlobErasureStore(container, keys),
  };
}

/**
 * The composition root: real Azure SDK clients and the catalog client wired into the export core's
 * interfaces. The Functions adapters and the CLI both start here.
 */
export function createServices(config: Config, options: CreateServicesOptions): AppServices {
  const spoolDir = prepareSpoolFolder(config.spoolDir);
  const { blobService, queueService } = createStorageClients(config.storage);
  const publicKeys = createPublicKeys(config);
  const storage = createStorageServices(config, blobService, publicKeys);
  const { container } = storage;
  const queue = queueService.getQueueClient(config.queue);
  const poisonQueue = queueService.getQueueClient(`${config.queue}-poison`);
  const catalog = new CatalogClient({
    baseUrl: config.catalog.baseUrl,
    pageSize: config.catalog.pageSize,
    concurrency: config.catalog.concurrency,
    maxRetries: config.catalog.maxRetries,
    timeoutMs: config.catalog.timeoutMs,
    userAgent: `${GENERATOR.name}/${GENERATOR.version}`,
    observer: { attempt: traceCatalogAttempt, retry: recordCatalogRetry },
  });
  const signer = createSigner(config);
  const registry = new KeyVaultAuthorRegistry({
    vaultUrl: config.keyVaultUrl,
    secretPrefix: config.authorSecretPrefix,
    managedIdentityClientId: config.storage.kind === 'identity' ? config.storage.clientId : undefined,
  });
  let storageReady: Promise<void> | undefined;

  return {
    config,
    queue,
    poisonQueue,
    registry,
    catalog,
    ...storage,
    erasureQueue: new StorageErasureQueue(queue),
    publicKeys,
    signer,
    createSpool: () => new EntitySpool({ directory: spoolDir }),
    logger: options.logger,
    now: options.now ?? (() => new Date()),
    generator: GENERATOR,
    settings: describeRunSettings(config),
    authorConcurrency: config.authorConcurrency,
    authorTimeoutMs: config.authorTimeoutMs,
    lockSeconds: config.runLockSeconds,
    ensureStorage(signal?: AbortSignal): Promise<void> {
      // With a managed identity the storage is Azure's: the templates create the container and queues,
      // and the app's roles (scoped to them) do not allow creating any.
      if (config.storage.kind === 'identity') return Promise.resolve();
      storageReady ??= (async () => {
        try {
          await container.createIfNotExists({ abortSignal: signal });
          await queue.createIfNotExists({ abortSignal: signal });
          await poisonQueue.createIfNotExists({ abortSignal: signal });
        } catch (error) {
          storageReady = undefined;
          throw storageError(
            error,
            'create',
            `container ${config.container} and queue ${config.queue}`,
            'STORAGE_UNAVAILABLE',
          );
        }
      })();
      return storageReady;
    },
    close: () => catalog.close(),
  };
}

/**
 * The signer of manifests and erasure records, when SIGNING_KEY_NAME names a key in KEY_VAULT_URL. It
 * loads Key Vault's keys SDK on the first signature (`load()` gives the signer itself): a process that
 * never signs (no key configured, or an invocation that writes no snapshot) does not pay for it at start.
 */
export function createSigner(config: Config): LazyKeyVaultSigner | undefined {
  if (!config.signingKeyName || !config.keyVaultUrl) return undefined;
  const options = {
    vaultUrl: config.keyVaultUrl,
    keyName: config.signingKeyName,
    managedIdentityClientId: config.storage.kind === 'identity' ? config.storage.clientId : undefined,
  };
  let loaded: Promise<KeyVaultSigner> | undefined;
  const load = (): Promise<KeyVaultSigner> =>
    (loaded ??= import('./signing/KeyVaultSigner').then(({ KeyVaultSigner }) => new KeyVaultSigner(options)));
  return { load, sign: async (bytes, signed, signal) => (await load()).sign(bytes, signed, signal) };
}

/**
 * The archive's public keys in the vault, for checking signatures (erasure records, bundles): loaded on
 * first use, as signing is, so that a cold start does not pay for the Key Vault SDK.
 */
export function createPublicKeys(config: Config): PublicKeyResolver | undefined {
  if (!config.signingKeyName || !config.keyVaultUrl) return undefined;
  const options = {
    vaultUrl: config.keyVaultUrl,
    keyName: config.signingKeyName,
    managedIdentityClientId: config.storage.kind === 'identity' ? config.storage.clientId : undefined,
  };
  let loaded: Promise<PublicKeyResolver> | undefined;
  const load = (): Promise<PublicKeyResolver> =>
    (loaded ??= import('./signing/publicKeys').then(({ VaultPublicKeys }) => new VaultPublicKeys(options)));
  return {
    source: `the archive's key ${config.signingKeyName} in ${new URL(config.keyVaultUrl).host}`,
    keyFor: async (keyId, signal) => (await load()).keyFor(keyId, signal),
  };
}

export interface LazyKeyVaultSigner extends DocumentSigner {
  load(): Promise<KeyVaultSigner>;
}
