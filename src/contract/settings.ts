/**
 * The settings (the contract's environment variables) once `loadConfig` has read and checked them. Only
 * src/config.ts builds a Config; everything else receives the parts it needs.
 */

/** `queue`: the timer fans out one queue message per author; `inline`: it exports every author itself. */
export type ExportMode = 'queue' | 'inline';

export type StorageConfig =
  | { kind: 'connectionString'; connectionString: string }
  | { kind: 'identity'; blobServiceUri: string; queueServiceUri: string; clientId: string | undefined };

export interface CatalogConfig {
  baseUrl: string;
  pageSize: number;
  concurrency: number;
  maxRetries: number;
  timeoutMs: number;
}

export interface Config {
  catalog: CatalogConfig;
  keyVaultUrl: string;
  authorSecretPrefix: string;
  storage: StorageConfig;
  container: string;
  queue: string;
  schedule: string;
  /** Authors exported at once by one process (in-process runs). */
  authorConcurrency: number;
  /** Deadline for one author's export; the Functions adapter keeps it below the plan's timeout. */
  authorTimeoutMs: number;
  /** Duration of the run lock's blob lease (15-60 s); it is renewed while the run works. */
  runLockSeconds: number;
  /** Where an author's entities are spooled while paging; empty means the OS temp directory. */
  spoolDir: string | undefined;
  exportMode: ExportMode;
  /** The Key Vault key that signs manifests and erasure records; undefined: no signing. */
  signingKeyName: string | undefined;
  /** How long the lifecycle rule keeps snapshots: verify explains chain links older than this. */
  snapshotRetentionDays: number;
  /**
   * WEBSITE_AUTH_ENABLED: App Service built-in authentication is on, so the principal it injects
   * (x-ms-client-principal) can be trusted. The data-subject routes refuse everything without it.
   */
  builtInAuthentication: boolean;
}
