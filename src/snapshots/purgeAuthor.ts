import { authorIdDigest } from '../contract/authorId';
import type { BlobItem, ContainerClient } from '@azure/storage-blob';
import { GalleryExportError } from '../contract/errors';
import { createBlobOnce } from './blobDocuments';
import { serializeDocument, type ErasureRecord } from '../contract/formats';
import { authorSnapshotsPrefix, erasureRecordPath, newRunId, parseSnapshotPath } from '../contract/layout';
import type { BlobRunLock } from './BlobRunLock';
import { storageCodeOf, storageError } from './storageErrors';

export interface PurgeRequest {
  authorId: string;
  /** Who asked (an operator's name or ticket): recorded in the erasure record. */
  requestedBy: string;
  now: () => Date;
  generator: { name: string; version: string };
  signal?: AbortSignal | undefined;
  /** How often the run lock is renewed while erasing. @default 20000 */
  renewEveryMs?: number;
}

/** Rounds of listing and deleting (versions appear as their current blobs are deleted). */
const MAX_ERASE_ROUNDS = 5;

export interface PurgeResult {
  /** Undefined when there was nothing to erase (a repeated purge is a harmless no-op). */
  record: ErasureRecord | undefined;
  path: string | undefined;
}

/**
 * Erases every snapshot of an author (complete or not, every blob version and blob snapshot under
 * `snapshots/<authorId>/`, listing again until nothing is left) and writes an erasure record that proves it without naming anyone: a SHA-256 of
 * the author ID, what was deleted (counts and run IDs) and when. Holds the run lock while it works, so no
 * export can write a new snapshot of the author halfway through.
 */
export async function purgeAuthor(
  container: ContainerClient,
  lock: BlobRunLock,
  request: PurgeRequest,
): Promise<PurgeResult> {
  const requestedAt = request.now();
  const leaseId = await lock.acquire(request.signal).catch((error: unknown) => {
    if (error instanceof GalleryExportError && error.code === 'RUN_LOCKED') {
      throw new GalleryExportError(
        'RUN_LOCKED',
        'An export run is in progress; erase when it has finished (nothing was erased)',
        {
          statusCode: 409,
        },
      );
    }
    throw error;
  });
  // Erasing many snapshots one blob at a time can outlast one lease period.
  const renewal = setInterval(
    () => void lock.renew(leaseId).catch(() => undefined),
    request.renewEveryMs ?? 20_000,
  );
  renewal.unref();
  try {
    const prefix = authorSnapshotsPrefix(request.authorId);
    const runIds = new Set<string>();
    const names = new Set<string>();
    let bytes = 0;
    try {
      // With blob versioning on, deleting a blob keeps its data as a previous version: list again with
      // versions and delete those too, until nothing is left under the prefix.
      for (let round = 1; ; round++) {
        const items: BlobItem[] = [];
        for await (const item of container.listBlobsFlat({
          prefix,
          includeVersions: true,
          includeSnapshots: true,
          abortSignal: request.signal,
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
          const current = !item.snapshot && item.isCurrentVersion !== false;
          if (!names.has(item.name)) {
            names.add(item.name);
            bytes += item.properties.contentLength ?? 0;
          }
          let client = container.getBlobClient(item.name);
          if (item.snapshot) client = client.withSnapshot(item.snapshot);
          else if (!current && item.versionId) client = client.withVersion(item.versionId);
          await client.deleteIfExists({
            ...(current ? { deleteSnapshots: 'include' as const } : {}),
            abortSignal: request.signal,
          });
        }
      }
    } catch (error) {
      if (
        storageCodeOf(error) === 'BlobImmutableDueToPolicy' ||
        storageCodeOf(error) === 'ContainerImmutableDueToPolicy'
      ) {
        throw new GalleryExportError(
          'PURGE_FAILED',
          `Cannot erase ${prefix}: the container's immutability (WORM) policy protects it until its retention period ends; some blobs may already be gone, run purge again then`,
          { cause: error },
        );
      }
      throw storageError(error, 'erase', prefix);
    }
    const blobs = names.size;
    if (blobs === 0) return { record: undefined, path: undefined };

    const completedAt = request.now();
    const erasureId = newRunId(completedAt);
    const record: ErasureRecord = {
      schemaVersion: 1,
      erasureId,
      authorIdSha256: authorIdDigest(request.authorId),
      requestedAt: requestedAt.toISOString(),
      completedAt: completedAt.toISOString(),
      requestedBy: request.requestedBy,
      deleted: { snapshots: runIds.size, blobs, bytes, runIds: [...runIds].sort() },
      generator: request.generator,
    };
    const path = erasureRecordPath(erasureId);
    // Index tags are searchable by anyone who can read the account: only the kind, no author.
    await createBlobOnce(
      container.getBlockBlobClient(path),
      serializeDocument(record),
      {
        tags: { kind: 'erasure' },
        signal: request.signal,
      },
    );
    return { record, path };
  } finally {
    clearInterval(renewal);
    await lock.release(leaseId).catch(() => undefined);
  }
}
