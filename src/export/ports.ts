import type { AuthorCredentials, AuthorSecretRef } from '../contract/authorSecret';
import type { AuthorReading, EntityCollector, ReadAuthorOptions } from '../contract/catalogApi';
import type { AuthorOutcome, Manifest, ManifestFile, RunRecord } from '../contract/formats';
import type { SnapshotFileName } from '../contract/layout';
import type { AuthorWorkItem } from '../contract/workItem';

/**
 * The export core's ports: what it needs from the outside, in the contract's types. The adapters
 * (catalog/, authors/, snapshots/, queue/) implement them without importing this file; the composition
 * root (src/services.ts) is where the compiler checks that they fit.
 */

/** Where authors are registered. */
export interface AuthorRegistry {
  /** Where the authors live, for messages (e.g. the vault URL). */
  readonly location: string;
  listAuthorSecrets(signal?: AbortSignal): Promise<AuthorSecretRef[]>;
  /** Reads and validates one author's secret; AUTHOR_CONFIG when it is malformed. */
  readAuthor(secretName: string, signal?: AbortSignal): Promise<AuthorCredentials>;
}

/** What the export core needs from the catalog (CatalogClient provides it). */
export interface CatalogSource {
  readonly baseUrl: string;
  /** The author's profile and every entity, read consistently (see AuthorReading). */
  readAuthor(
    authorId: string,
    collector: EntityCollector,
    options: ReadAuthorOptions,
  ): Promise<AuthorReading>;
}

/** A collector that can replay its entities sorted by id, and be thrown away. */
export interface SortedEntitySpool extends EntityCollector {
  sortedJson(): AsyncIterable<Buffer>;
  dispose(): Promise<void>;
}

/** Where the core's log lines go: the Functions context, the CLI's stderr, a test's array. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface WorkQueue {
  enqueue(items: readonly AuthorWorkItem[], signal?: AbortSignal): Promise<void>;
}

/** One export run at a time, whichever instance or trigger starts it. */
export interface RunLock {
  /** Takes the lock or throws RUN_LOCKED. Returns the lease ID that renews and releases it. */
  acquire(signal?: AbortSignal): Promise<string>;
  /** Extends the lock; false when it was lost (expired and taken by another run). */
  renew(leaseId: string, signal?: AbortSignal): Promise<boolean>;
  release(leaseId: string, signal?: AbortSignal): Promise<void>;
}

/** Run records and per-author outcomes. */
export interface RunStore {
  /** Writes a new run record; fails if one exists for that run ID. */
  create(record: RunRecord, signal?: AbortSignal): Promise<void>;
  /** The stored run record (not merged with outcomes), or undefined. */
  read(runId: string, signal?: AbortSignal): Promise<RunRecord | undefined>;
  /**
   * Read-modify-write with `If-Match`, retried on conflict: `change` gets the latest record and returns
   * the new one, or undefined to leave it as it is.
   */
  update(
    runId: string,
    change: (record: RunRecord) => RunRecord | undefined | Promise<RunRecord | undefined>,
    signal?: AbortSignal,
  ): Promise<RunRecord>;
  /** Records one author's outcome in its own small blob; the first outcome for an author wins. */
  writeOutcome(runId: string, outcome: AuthorOutcome, signal?: AbortSignal): Promise<AuthorOutcome>;
  readOutcome(runId: string, secretName: string, signal?: AbortSignal): Promise<AuthorOutcome | undefined>;
  listOutcomes(runId: string, signal?: AbortSignal): Promise<AuthorOutcome[]>;
  /** Records a transient failure of one delivery (one blob per attempt), for the poison handler. */
  writeLastError(runId: string, outcome: AuthorOutcome, signal?: AbortSignal): Promise<void>;
  readLastError(runId: string, secretName: string, signal?: AbortSignal): Promise<AuthorOutcome | undefined>;
  /** Run IDs, newest first. */
  listRunIds(options?: { since?: Date; signal?: AbortSignal }): Promise<string[]>;
}

/** One author's snapshot in one run: a folder whose manifest, written last, means "complete". */
export interface SnapshotTarget {
  readonly authorId: string;
  readonly runId: string;
  /** The folder, ending with a slash. */
  readonly prefix: string;
  /**
   * Readies the folder for writing, in one listing: returns the manifest when the snapshot is already
   * complete (nothing is touched), otherwise deletes what an interrupted attempt of this same run left.
   */
  prepare(signal?: AbortSignal): Promise<Manifest | undefined>;
  /** Creates a file that must not exist yet; returns its manifest entry (SHA-256 of the stored bytes). */
  writeFile(
    name: SnapshotFileName,
    content: Buffer | AsyncIterable<Buffer>,
    signal?: AbortSignal,
  ): Promise<ManifestFile>;
  /**
   * Writes the manifest, after checking every file it lists is still the one written (skipped with
   * `checkFiles: false` when no other writer can exist: a run this process planned just now).
   */
  writeManifest(manifest: Manifest, signal?: AbortSignal, options?: { checkFiles?: boolean }): Promise<void>;
}

export interface SnapshotStore {
  open(authorId: string, runId: string): SnapshotTarget;
}

export interface ExportServices {
  registry: AuthorRegistry;
  catalog: CatalogSource;
  snapshots: SnapshotStore;
  runs: RunStore;
  lock: RunLock;
  createSpool: () => SortedEntitySpool;
  logger: Logger;
  now: () => Date;
  generator: { name: string; version: string };
  /** Settings recorded in each run record (nothing secret). */
  settings: Record<string, string | number>;
  authorConcurrency: number;
  authorTimeoutMs: number;
  lockRenewIntervalMs: number;
}
