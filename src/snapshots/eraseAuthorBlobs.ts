import type { BlobItem, ContainerClient } from '@azure/storage-blob';
import { GalleryExportError } from '../contract/errors';
import { authorSnapshotsPrefix, parseSnapshotPath } from '../contract/layout';
import type { FencedWrite } from './blobDocuments';
import { storageCodeOf, storageError } from './storageErrors';

export interface ErasedBlobs {
  snapshots: number;
  blobs: number;
  bytes: number;
  runIds: string[];
  /** Each blob name erased (below `snapshots/<authorId>/`, once however many versions it had), with its size. */
  files: Array<{ name: string; bytes: number }>;
}

/** Every blob under an author's snapshots (versions, blob snapshots, uncommitted blocks included), once each. */
export async function inventoryAuthorBlobs(
  container: ContainerClient,
  authorId: string,
  signal?: AbortSignal,
): Promise<Pick<ErasedBlobs, 'files' | 'runIds'>> {
  const prefix = authorSnapshotsPrefix(authorId);
  const files = new Map<string, number>();
  const runIds = new Set<string>();
  try {
    for await (const item of container.listBlobsFlat({
      prefix,
      includeVersions: true,
      includeSnapshots: true,
      includeUncommitedBlobs: true,
      abortSignal: signal,
    })) {
      const location = parseSnapshotPath(item.name);
      if (location) runIds.add(location.runId);
      if (!files.has(item.name)) files.set(item.name, item.properties.contentLength ?? 0);
    }
  } catch (error) {
    throw storageError(error, 'list', prefix, 'STORAGE_UNAVAILABLE');
  }
  return {
    files: [...files].map(([name, bytes]) => ({ name: name.slice(prefix.length), bytes })),
    runIds: [...runIds].sort(),
  };
}

/** Rounds of listing and deleting (versions appear as their current blobs are deleted). */
const MAX_ERASE_ROUNDS = 5;
/** Deletes go out under a fence at most this long ago, however long the erasure takes. */
const REFENCE_EVERY_MS = 2000;

/**
 * Deletes every blob under `snapshots/<authorId>/`: complete or not, every blob version and blob
 * snapshot, listing again until nothing is left. Each delete goes out under a recent fence, so a purge
 * that lost its lock stops deleting.
 */
export async function eraseAuthorBlobs(
  container: ContainerClient,
  authorId: string,
  options: FencedWrite = {},
): Promise<ErasedBlobs> {
  const { signal } = options;
  const prefix = authorSnapshotsPrefix(authorId);
  const runIds = new Set<string>();
  const names = new Map<string, number>();
  let bytes = 0;
  let window: { signal: AbortSignal | undefined; at: number } | undefined;
  const fenced = async (): Promise<AbortSignal | undefined> => {
    if (!options.fence) return signal;
    if (!window || window.signal?.aborted || performance.now() - window.at > REFENCE_EVERY_MS) {
      window = { at: performance.now(), signal: await options.fence(signal) };
    }
    return window.signal;
  };
  try {
    // With blob versioning on, deleting a blob keeps its data as a previous version: list again with
    // versions and delete those too, until nothing is left under the prefix.
    for (let round = 1; ; round++) {
      const items: BlobItem[] = [];
      for await (const item of container.listBlobsFlat({
        prefix,
        includeVersions: true,
        includeSnapshots: true,
        // Blocks a killed writer staged but never committed hold personal data too (Azure drops them
        // only after 7 days): they are listed as a blob of their own.
        includeUncommitedBlobs: true,
        abortSignal: signal,
      })) {
        items.push(item);
      }
      if (items.length === 0) break;
      if (round > MAX_ERASE_ROUNDS) {
        throw new GalleryExportError(
          'PURGE_FAILED',
          `${items.length} blob(s) under ${prefix} could not be erased`,
        );
      }
      for (const item of items) {
        const location = parseSnapshotPath(item.name);
        if (location) runIds.add(location.runId);
        // Azure marks the current version only (`IsCurrentVersion` is left out of earlier versions), and
        // without versioning there is no version ID at all.
        const current = !item.snapshot && (item.versionId === undefined || item.isCurrentVersion === true);
        if (!names.has(item.name)) {
          names.set(item.name, item.properties.contentLength ?? 0);
          bytes += item.properties.contentLength ?? 0;
        }
        let client = container.getBlobClient(item.name);
        if (item.snapshot) client = client.withSnapshot(item.snapshot);
        else if (!current && item.versionId) client = client.withVersion(item.versionId);
        // A name holding uncommitted blocks only is deleted like any blob, its blocks with it.
        await client.deleteIfExists({
          ...(current ? { deleteSnapshots: 'include' as const } : {}),
          abortSignal: await fenced(),
        });
      }
    }
  } catch (error) {
    const code = storageCodeOf(error);
    if (code === 'BlobImmutableDueToPolicy' || code === 'ContainerImmutableDueToPolicy') {
      throw new GalleryExportError(
        'PURGE_FAILED',
        `Cannot erase ${prefix}: the container's immutability (WORM) policy protects it until its retention period ends; some blobs may already be gone, run purge again then`,
        { cause: error },
      );
    }
    if (window?.signal?.aborted) throw window.signal.reason as Error;
    throw storageError(error, 'erase', prefix);
  }
  return {
    snapshots: runIds.size,
    blobs: names.size,
    bytes,
    runIds: [...runIds].sort(),
    files: [...names].map(([name, size]) => ({ name: name.slice(prefix.length), bytes: size })),
  };
}
