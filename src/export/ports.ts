import type { AuthorCredentials, AuthorSecretRef } from '../contract/authorSecret';
import type { AuthorReading, EntityCollector, ReadAuthorOptions } from '../contract/catalogApi';
import type {
  AuthorOutcome,
  ErasureMarker,
  ErasurePlan,
  ErasureRecord,
  Manifest,
  ManifestFile,
  RunRecord,
  SignatureDocument,
} from '../contract/formats';
import type { SnapshotFileName } from '../contract/layout';
import type { ErasureRequestEvent, ErasureRequestRecord } from '../contract/dsar';
import type { AuthorWorkItem, ErasureWorkItem, NotQueued } from '../contract/workItem';

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
  /**
   * The secrets that register an author: every one under the prefix whose value or `authorId` tag names
   * it. A disabled one is read only with `readDisabled` (reading means enabling it for the moment, which
   * only a purge holding the run lock does); otherwise it is listed as unread.
   */
  findAuthorSecrets(
    authorId: string,
    options?: { signal?: AbortSignal | undefined; readDisabled?: boolean },
  ): Promise<{ names: string[]; unreadDisabled: string[] }>;
  /** Which of these secrets the vault holds as deleted (soft-deleted). */
  deletedSecrets(secretNames: readonly string[], signal?: AbortSignal): Promise<string[]>;
  /**
   * Deletes secrets (soft delete: recoverable for the vault's retention period), each under the fence.
   * Returns the names deleted (one already gone is not an error).
   */
  deleteSecrets(secretNames: readonly string[], options?: WriteOptions): Promise<string[]>;
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
  /**
   * `entities.json`'s bytes. With `lendChunks`, each chunk's memory is reused for the next one, for a
   * consumer that copies what it keeps (as createBlobOnce does) before it asks for more.
   */
  sortedJson(options?: { lendChunks?: boolean }): AsyncIterable<Buffer>;
  dispose(): Promise<void>;
}

/** Where the core's log lines go: the Functions context, the CLI's stderr, a test's array. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface WorkQueue {
  /**
   * Sends one message per item and answers which items could not be sent, each with why (none when all
   * were): a queue that took some messages and refused others must not leave the caller guessing.
   */
  enqueue(items: readonly AuthorWorkItem[], signal?: AbortSignal): Promise<NotQueued[]>;
}

/**
 * Proves, right before a write that matters, that the writer still holds what entitles it to write (the
 * run lock, its claim on the author): throws RUN_LOCK_LOST when it does not. Returns a signal that fires
 * when the time that proof guarantees runs out, for the write that follows.
 */
export type WriteFence = (signal?: AbortSignal) => Promise<AbortSignal | undefined>;

export interface WriteOptions {
  signal?: AbortSignal | undefined;
  /** Called immediately before the write becomes visible (the upload, the block-list commit, a delete). */
  fence?: WriteFence | undefined;
}

/** A lease some holder keeps alive (the run lock, a claim on an author). */
export interface RenewableLease {
  /** Extends the lease: false when it is no longer this holder's (it lapsed and was taken, or broken). */
  renew(signal?: AbortSignal): Promise<boolean>;
}

/** One export run at a time, whichever instance or trigger starts it. */
export interface RunLock {
  /** Takes the lock or throws RUN_LOCKED. Returns the lease ID that renews and releases it. */
  acquire(signal?: AbortSignal): Promise<string>;
  /** Extends the lock; false when it was lost (taken by another run, or broken). */
  renew(leaseId: string, signal?: AbortSignal): Promise<boolean>;
  release(leaseId: string, signal?: AbortSignal): Promise<void>;
}

/** A secret's claim on an author within one run (two untagged secrets may name the same author). */
export interface AuthorClaim {
  /** The secret that claimed the author first. */
  claimedBy: string;
  /**
   * When `claimedBy` is the caller: its hold on the claim, a lease only one live delivery can have, so a
   * second delivery of the same message cannot clean up files the first is still writing.
   */
  hold?: (RenewableLease & { release(): Promise<void> }) | undefined;
  /** True when this call made the claim: no earlier delivery can have recorded anything for the secret. */
  madeNow?: boolean | undefined;
}

/** Run records and per-author outcomes. */
export interface RunStore {
  /** Writes a new run record; fails if one exists for that run ID. Returns when storage created it. */
  create(record: RunRecord, signal?: AbortSignal): Promise<{ createdOn: Date }>;
  /** The stored run record (not merged with outcomes), or undefined. */
  read(runId: string, signal?: AbortSignal): Promise<RunRecord | undefined>;
  /** The run record with the time storage created it (by storage's clock, as erasure markers). */
  readRun(runId: string, signal?: AbortSignal): Promise<{ record: RunRecord; createdOn: Date } | undefined>;
  /**
   * Read-modify-write with `If-Match`, retried on conflict: `change` gets the latest record and returns
   * the new one, or undefined to leave it as it is.
   */
  update(
    runId: string,
    change: (record: RunRecord) => RunRecord | undefined | Promise<RunRecord | undefined>,
    signal?: AbortSignal,
  ): Promise<RunRecord>;
  /**
   * Records one author's outcome in its own small blob; the first outcome for an author wins. Returns
   * the stored outcome, and whether this call stored it.
   */
  writeOutcome(
    runId: string,
    outcome: AuthorOutcome,
    signal?: AbortSignal,
  ): Promise<{ outcome: AuthorOutcome; created: boolean }>;
  readOutcome(runId: string, secretName: string, signal?: AbortSignal): Promise<AuthorOutcome | undefined>;
  /**
   * Every recorded outcome of a run, at a cost that does not grow with reads per author. `summary`
   * detail may shorten long texts of an outcome (a status read); `whole` never does (finalising).
   */
  listOutcomes(
    runId: string,
    options?: { signal?: AbortSignal | undefined; detail?: 'whole' | 'summary' },
  ): Promise<AuthorOutcome[]>;
  /** Starts a fan-out run's tally of settled authors, before its messages are queued. */
  startSettledTally(runId: string, queued: number, signal?: AbortSignal): Promise<void>;
  /**
   * Counts one more settled author (after its outcome is stored) and returns the settlements counted so
   * far, which may count an author twice but never misses one; undefined when the run has no tally.
   */
  countSettled(runId: string, signal?: AbortSignal): Promise<number | undefined>;
  /** Records a transient failure of one delivery (one blob per attempt), for the poison handler. */
  writeLastError(runId: string, outcome: AuthorOutcome, signal?: AbortSignal): Promise<void>;
  readLastError(runId: string, secretName: string, signal?: AbortSignal): Promise<AuthorOutcome | undefined>;
  /** Claims an author for a secret in a run; the first claim wins (see AuthorClaim). */
  claimAuthor(
    runId: string,
    authorId: string,
    secretName: string,
    options: { leaseSeconds: number; signal?: AbortSignal | undefined },
  ): Promise<AuthorClaim>;
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
  prepare(options?: WriteOptions): Promise<Manifest | undefined>;
  /**
   * Creates a file that must not exist yet; returns its manifest entry (SHA-256 of the stored bytes).
   * Streamed content may lend its chunks (see SortedEntitySpool.sortedJson): copy what is kept.
   */
  writeFile(
    name: SnapshotFileName,
    content: Buffer | AsyncIterable<Buffer>,
    options?: WriteOptions,
  ): Promise<ManifestFile>;
  /** Creates `signature.json` (before the manifest, whose presence still means "complete"). */
  writeSignature(signature: SignatureDocument, options?: WriteOptions): Promise<void>;
  /**
   * Writes the manifest's exact bytes, after checking every file it lists is still the one written
   * (skipped with `checkFiles: false` when no other writer can exist: a run this process planned).
   */
  writeManifest(
    bytes: Buffer,
    manifest: Manifest,
    options?: WriteOptions & { checkFiles?: boolean },
  ): Promise<void>;
}

export interface ErasedBlobs {
  snapshots: number;
  blobs: number;
  bytes: number;
  runIds: string[];
  /** Each blob name (below `snapshots/<authorId>/`), once however many versions it had, with its size. */
  files: Array<{ name: string; bytes: number }>;
}

export interface SnapshotStore {
  open(authorId: string, runId: string): SnapshotTarget;
  /** The author's latest complete snapshot: its run and the SHA-256 of its manifest's bytes. */
  latestComplete(
    authorId: string,
    signal?: AbortSignal,
  ): Promise<{ runId: string; manifestSha256: string } | undefined>;
  /** Every blob under the author's snapshots, complete or not, versions included: what a purge erases. */
  inventoryAuthor(authorId: string, signal?: AbortSignal): Promise<Pick<ErasedBlobs, 'files' | 'runIds'>>;
  /** Deletes every blob of the author (every version and blob snapshot too), until nothing is left. */
  eraseAuthor(authorId: string, options?: WriteOptions): Promise<ErasedBlobs>;
}

/** A begun erasure that has no record yet, as the purge that finishes it needs it. */
export interface BegunErasure {
  erasureId: string;
  requestedAt: string;
  requestedBy: string;
  /** What it erases, when the purge that began it got as far as writing it. */
  plan?: ErasurePlan | undefined;
}

/**
 * Erasure records, and a purge's progress toward one: the marker that says an erasure has begun, the plan
 * of what it erases, and the record's bytes fixed before they are signed. Every write is create-once and
 * returns what an earlier attempt stored, so a purge run again after any interruption reaches the same end.
 */
export interface ErasureStore {
  /** The author's begun erasures without a record (a later record closes earlier ones), oldest first. */
  unfinished(authorId: string, signal?: AbortSignal): Promise<BegunErasure[]>;
  /** Written first by a purge: from then on no export of the author writes (see `blocking`). */
  begin(marker: ErasureMarker, options?: WriteOptions): Promise<void>;
  /** Stores what the erasure erases, before its first delete; returns the plan stored first. */
  savePlan(plan: ErasurePlan, options?: WriteOptions): Promise<ErasurePlan>;
  /** Fixes the record's bytes before they are signed; returns the bytes stored first. */
  draftRecord(record: ErasureRecord, options?: WriteOptions): Promise<Buffer>;
  /** Writes the signature (when there is one), then the record; returns the record's path. */
  complete(
    erasureId: string,
    bytes: Buffer,
    signature: SignatureDocument | undefined,
    options?: WriteOptions,
  ): Promise<string>;
  /**
   * Removes the plan (it names the author) and the draft once the record is written; without an erasure
   * ID, those left of every erasure of the author that has its record.
   */
  discardProgress(authorId: string, erasureId: string | undefined, options?: WriteOptions): Promise<void>;
  /**
   * The erasures of this author that forbid a run to write: begun after the run was created, or not
   * finished before it (both by storage's clock). Empty when the run may write.
   */
  blocking(authorId: string, runCreatedOn: Date, signal?: AbortSignal): Promise<string[]>;
  /**
   * Brings unfinished erasures an earlier version marked elsewhere to where `blocking` looks; the planner
   * calls it once per run, before the run's record. Returns how many it brought.
   */
  adoptLegacyMarkers(signal?: AbortSignal): Promise<number>;
  /** One erasure record by its ID, with what its signature says; undefined when there is none. */
  record(
    erasureId: string,
    options?: { signal?: AbortSignal | undefined },
  ): Promise<{ path: string; record: ErasureRecord; signature: string } | undefined>;
  /** The author's erasure records, oldest first. */
  completed(
    authorId: string,
    options?: { signal?: AbortSignal | undefined },
  ): Promise<Array<{ path: string; record: ErasureRecord; signature: string }>>;
}

/** Erasures requested over HTTP: the request, stored before its queue message, and what became of it. */
export interface ErasureRequestStore {
  /** Stores a request once; false when one is stored under that erasure ID already. */
  createRequest(request: ErasureRequestRecord, signal?: AbortSignal): Promise<boolean>;
  readRequest(erasureId: string, signal?: AbortSignal): Promise<ErasureRequestRecord | undefined>;
  addEvent(erasureId: string, event: ErasureRequestEvent, signal?: AbortSignal): Promise<void>;
  events(erasureId: string, signal?: AbortSignal): Promise<ErasureRequestEvent[]>;
}

/** Where requested erasures are queued (the fan-out queue, told apart by the message's kind). */
export interface ErasureQueue {
  send(item: ErasureWorkItem, options?: { delaySeconds?: number; signal?: AbortSignal }): Promise<void>;
}

/** Signs documents with a key that never leaves Key Vault. */
export interface DocumentSigner {
  /** RS256 over the exact bytes; `signed` is the signed file's name in its folder. */
  sign(bytes: Buffer, signed: string, signal?: AbortSignal): Promise<SignatureDocument>;
}

export interface ExportServices {
  registry: AuthorRegistry;
  catalog: CatalogSource;
  snapshots: SnapshotStore;
  runs: RunStore;
  lock: RunLock;
  erasures: ErasureStore;
  /** Undefined when SIGNING_KEY_NAME is not set: snapshots are then unsigned. */
  signer?: DocumentSigner | undefined;
  createSpool: () => SortedEntitySpool;
  logger: Logger;
  now: () => Date;
  generator: { name: string; version: string };
  /** Settings recorded in each run record (nothing secret). */
  settings: Record<string, string | number>;
  authorConcurrency: number;
  authorTimeoutMs: number;
  /** RUN_LOCK_SECONDS: the run lock's lease, renewed every third of it. */
  lockSeconds: number;
}
