import type { AuthorRegistry } from '../authors/AuthorRegistry';
import type { AuthorCallOptions, ListEntitiesOptions } from '../catalog/CatalogClient';
import type { Profile } from '../catalog/catalogResponses';
import type { EntityCollector, ListingResult } from '../catalog/consistentListing';
import type { RunLock } from '../snapshots/RunLock';
import type { RunStore } from '../snapshots/RunStore';
import type { SnapshotStore } from '../snapshots/SnapshotStore';

/** What the export core needs from the catalog (CatalogClient provides it). */
export interface CatalogSource {
  readonly baseUrl: string;
  getProfile(authorId: string, options: AuthorCallOptions): Promise<Profile>;
  listEntities(
    authorId: string,
    collector: EntityCollector,
    options: ListEntitiesOptions,
  ): Promise<ListingResult>;
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

/** One message per author of a fan-out run: names the secret, never carries the token. */
export interface AuthorWorkItem {
  v: 1;
  runId: string;
  secretName: string;
  trigger: 'timer' | 'http' | 'cli';
}

export interface WorkQueue {
  enqueue(items: readonly AuthorWorkItem[], signal?: AbortSignal): Promise<void>;
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
