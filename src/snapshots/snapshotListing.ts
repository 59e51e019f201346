import type { BlobItem, ContainerClient } from '@azure/storage-blob';
import type { Manifest } from '../contract/formats';
import {
  authorSnapshotsPrefix,
  MANIFEST_FILE,
  parseSnapshotPath,
  SNAPSHOTS_ROOT,
  type SnapshotLocation,
} from '../contract/layout';
import { utcDayStamp } from '../contract/stamps';
import { readStoredManifest } from './manifestDocument';
import { storageError } from './storageErrors';

export interface StoredFile {
  bytes: number;
  /** The blob's access tier (Hot, Cool, Cold, Archive), when the listing says. */
  tier: string | undefined;
}

export interface SnapshotFolder extends SnapshotLocation {
  /** Every blob in the folder (nested ones with their relative path), with its size and tier. */
  files: Map<string, StoredFile>;
  hasManifest: boolean;
  /** Its manifest is in the Archive tier (or still being rehydrated): it cannot be read until it is back. */
  archived: boolean;
}

/**
 * A snapshot with a manifest: its manifest (valid against its schema and of this snapshot), or, when that
 * is archived, only where it is, or, when it is not a valid manifest, why (readers show no value of it).
 */
export type ListedSnapshot =
  | (SnapshotLocation & { archived: false; manifest: Manifest; damage?: undefined })
  | (SnapshotLocation & { archived: true; manifest?: undefined; damage?: undefined })
  | (SnapshotLocation & { archived: false; manifest?: undefined; damage: string });

/** A complete snapshot whose manifest could be read. */
export type CompleteSnapshot = Extract<ListedSnapshot, { manifest: Manifest }>;

export interface SnapshotInventory {
  folders: SnapshotFolder[];
  /** Blobs under snapshots/ that belong to no snapshot folder of the contract's layout. */
  strays: string[];
}

export interface SnapshotQuery {
  authorId?: string | undefined;
  runId?: string | undefined;
  /** Runs started on or after this day (UTC). */
  since?: Date | undefined;
  /** Runs started before the end of this day (UTC). */
  until?: Date | undefined;
  signal?: AbortSignal | undefined;
}

/** Every snapshot folder matching the query, complete or not, newest run first, and what fits no folder. */
export async function takeInventory(
  container: ContainerClient,
  query: SnapshotQuery = {},
): Promise<SnapshotInventory> {
  const prefix = query.authorId ? authorSnapshotsPrefix(query.authorId) : SNAPSHOTS_ROOT;
  const folders = new Map<string, SnapshotFolder>();
  const strays: string[] = [];
  try {
    for await (const blob of container.listBlobsFlat({ prefix, abortSignal: query.signal })) {
      const location = parseSnapshotPath(blob.name);
      if (!location) {
        if (!query.runId && !query.since && !query.until) strays.push(blob.name);
        continue;
      }
      if (!matches(location, query)) continue;
      let folder = folders.get(location.prefix);
      if (!folder) {
        folder = {
          authorId: location.authorId,
          runId: location.runId,
          prefix: location.prefix,
          files: new Map(),
          hasManifest: false,
          archived: false,
        };
        folders.set(location.prefix, folder);
      }
      folder.files.set(location.file, {
        bytes: blob.properties.contentLength ?? 0,
        tier: blob.properties.accessTier,
      });
      if (location.file === MANIFEST_FILE) {
        folder.hasManifest = true;
        folder.archived = isArchived(blob);
      }
    }
  } catch (error) {
    throw storageError(error, 'list', prefix, 'STORAGE_UNAVAILABLE');
  }
  return { folders: [...folders.values()].sort(newestFirst), strays };
}

export async function listSnapshotFolders(
  container: ContainerClient,
  query: SnapshotQuery = {},
): Promise<SnapshotFolder[]> {
  return (await takeInventory(container, query)).folders;
}

/**
 * Complete snapshots (those with a manifest), newest run first, each with its manifest, or marked
 * archived when its manifest is in the Archive tier (readers list it, and say it must be rehydrated).
 */
export async function listCompleteSnapshots(
  container: ContainerClient,
  query: SnapshotQuery = {},
): Promise<ListedSnapshot[]> {
  const folders = (await listSnapshotFolders(container, query)).filter((folder) => folder.hasManifest);
  const snapshots: ListedSnapshot[] = [];
  const readers = Array.from({ length: Math.min(16, folders.length) }, async (_, worker) => {
    for (let index = worker; index < folders.length; index += 16) {
      const folder = folders[index]!;
      const where = { authorId: folder.authorId, runId: folder.runId, prefix: folder.prefix };
      if (folder.archived) {
        snapshots.push({ ...where, archived: true });
        continue;
      }
      const reading = await readStoredManifest(container, folder, query.signal);
      if (reading.state === 'ok') snapshots.push({ ...where, archived: false, manifest: reading.manifest });
      else if (reading.state === 'invalid')
        snapshots.push({ ...where, archived: false, damage: reading.detail });
    }
  });
  await Promise.all(readers);
  return snapshots.sort(newestFirst);
}

/**
 * A snapshot's manifest; undefined when there is none or it is not a valid manifest of that snapshot
 * (verify reports that).
 */
export async function readManifest(
  container: ContainerClient,
  location: SnapshotLocation,
  signal?: AbortSignal,
): Promise<Manifest | undefined> {
  const reading = await readStoredManifest(container, location, signal);
  return reading.state === 'ok' ? reading.manifest : undefined;
}

function isArchived(blob: BlobItem): boolean {
  return (
    blob.properties.accessTier === 'Archive' ||
    (blob.properties.archiveStatus ?? '').startsWith('rehydrate-pending')
  );
}

/** The folders of an inventory that a query selects (by author, run and day). */
export function selectFolders<T extends SnapshotLocation>(folders: readonly T[], query: SnapshotQuery): T[] {
  return folders.filter(
    (folder) => (!query.authorId || folder.authorId === query.authorId) && matches(folder, query),
  );
}

/** The newest run among the folders that hold a manifest (`--run latest`). */
export function newestCompleteRun(folders: readonly SnapshotFolder[]): string | undefined {
  let newest: string | undefined;
  for (const folder of folders) {
    if (folder.hasManifest && (newest === undefined || folder.runId > newest)) newest = folder.runId;
  }
  return newest;
}

function matches(location: SnapshotLocation, query: SnapshotQuery): boolean {
  if (query.runId && location.runId !== query.runId) return false;
  const day = location.runId.slice(0, 8);
  if (query.since && day < utcDayStamp(query.since)) return false;
  if (query.until && day > utcDayStamp(query.until)) return false;
  return true;
}

function newestFirst(a: SnapshotLocation, b: SnapshotLocation): number {
  if (a.runId !== b.runId) return a.runId < b.runId ? 1 : -1;
  return a.authorId < b.authorId ? -1 : a.authorId > b.authorId ? 1 : 0;
}
