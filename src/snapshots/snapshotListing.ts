import type { ContainerClient } from '@azure/storage-blob';
import type { Manifest } from '../contract/formats';
import { utcDayStamp } from '../contract/stamps';
import {
  authorSnapshotsPrefix,
  MANIFEST_FILE,
  parseSnapshotPath,
  SNAPSHOTS_ROOT,
  type SnapshotLocation,
} from '../contract/layout';
import { readJsonBlob } from './blobDocuments';
import { storageError } from './storageErrors';

export interface SnapshotFolder extends SnapshotLocation {
  /** Every blob in the folder with its size. */
  files: Map<string, number>;
  hasManifest: boolean;
}

export interface CompleteSnapshot extends SnapshotLocation {
  manifest: Manifest;
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

/** Every snapshot folder matching the query, complete or not, newest run first. */
export async function listSnapshotFolders(
  container: ContainerClient,
  query: SnapshotQuery = {},
): Promise<SnapshotFolder[]> {
  const prefix = query.authorId ? authorSnapshotsPrefix(query.authorId) : SNAPSHOTS_ROOT;
  const folders = new Map<string, SnapshotFolder>();
  try {
    for await (const blob of container.listBlobsFlat({ prefix, abortSignal: query.signal })) {
      const location = parseSnapshotPath(blob.name);
      if (!location || !matches(location, query)) continue;
      let folder = folders.get(location.prefix);
      if (!folder) {
        folder = {
          authorId: location.authorId,
          runId: location.runId,
          prefix: location.prefix,
          files: new Map(),
          hasManifest: false,
        };
        folders.set(location.prefix, folder);
      }
      folder.files.set(location.file, blob.properties.contentLength ?? 0);
      if (location.file === MANIFEST_FILE) folder.hasManifest = true;
    }
  } catch (error) {
    throw storageError(error, 'list', prefix, 'STORAGE_UNAVAILABLE');
  }
  return [...folders.values()].sort(newestFirst);
}

/** Complete snapshots (those with a manifest) and their manifests, newest run first. */
export async function listCompleteSnapshots(
  container: ContainerClient,
  query: SnapshotQuery = {},
): Promise<CompleteSnapshot[]> {
  const folders = (await listSnapshotFolders(container, query)).filter((folder) => folder.hasManifest);
  const snapshots: CompleteSnapshot[] = [];
  const readers = Array.from({ length: Math.min(16, folders.length) }, async (_, worker) => {
    for (let index = worker; index < folders.length; index += 16) {
      const folder = folders[index]!;
      const manifest = await readManifest(container, folder.prefix, query.signal);
      if (manifest)
        snapshots.push({ authorId: folder.authorId, runId: folder.runId, prefix: folder.prefix, manifest });
    }
  });
  await Promise.all(readers);
  return snapshots.sort(newestFirst);
}

/** A snapshot's manifest; undefined when there is none or it is not readable JSON (verify reports that). */
export async function readManifest(
  container: ContainerClient,
  prefix: string,
  signal?: AbortSignal,
): Promise<Manifest | undefined> {
  const blob = await readJsonBlob<Manifest>(container, `${prefix}${MANIFEST_FILE}`, signal);
  return blob.state === 'ok' ? blob.value : undefined;
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
