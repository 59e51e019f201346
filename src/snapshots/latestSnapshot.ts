import { createHash } from 'node:crypto';
import type { ContainerClient } from '@azure/storage-blob';
import { authorSnapshotsPrefix, MANIFEST_FILE, parseSnapshotPath } from '../contract/layout';
import { readBlob } from './blobDocuments';
import { storageError } from './storageErrors';

/** Metadata on every manifest: its own SHA-256, so the next snapshot can link to it from a listing. */
export const MANIFEST_SHA256_METADATA = 'sha256';

/**
 * The author's latest complete snapshot, for the next manifest's `previous` link. Folders sort by time
 * (`<YYYY>/<MM>/<DD>/<runId>`): after one listing of the years (empty for a first snapshot), this month
 * is listed in full (it holds the latest snapshot of a nightly archive); otherwise the newest year, month
 * and day are found with a few hierarchical listings, and only the newest day holding a manifest is listed
 * in full: a handful of requests whatever the author's history. The manifest's SHA-256 comes from its metadata, or from its bytes when it was
 * written before that metadata existed.
 */
export async function findLatestComplete(
  container: ContainerClient,
  authorId: string,
  signal?: AbortSignal,
  now = new Date(),
): Promise<{ runId: string; manifestSha256: string } | undefined> {
  const root = authorSnapshotsPrefix(authorId);
  try {
    const years = await folders(container, root, signal);
    if (years.length === 0) return undefined;
    // A nightly archive's latest snapshot is almost always from this month: one listing finds it.
    const thisMonth = `${root}${now.toISOString().slice(0, 4)}/${now.toISOString().slice(5, 7)}/`;
    if (years[0] === `${root}${now.toISOString().slice(0, 4)}/`) {
      const found = await latestInDay(container, thisMonth, signal);
      if (found) return found;
    }
    for (const year of years) {
      for (const month of await folders(container, year, signal)) {
        for (const day of await folders(container, month, signal)) {
          const found = await latestInDay(container, day, signal);
          if (found) return found;
        }
      }
    }
  } catch (error) {
    throw storageError(error, 'list', root, 'STORAGE_UNAVAILABLE');
  }
  return undefined;
}

/** The sub-folders of a folder, newest (largest name) first. */
async function folders(container: ContainerClient, prefix: string, signal?: AbortSignal): Promise<string[]> {
  const names: string[] = [];
  for await (const item of container.listBlobsByHierarchy('/', { prefix, abortSignal: signal })) {
    if (item.kind === 'prefix') names.push(item.name);
  }
  return names.sort().reverse();
}

async function latestInDay(
  container: ContainerClient,
  day: string,
  signal?: AbortSignal,
): Promise<{ runId: string; manifestSha256: string } | undefined> {
  const manifests: Array<{ runId: string; name: string; sha256: string | undefined }> = [];
  for await (const blob of container.listBlobsFlat({
    prefix: day,
    includeMetadata: true,
    abortSignal: signal,
  })) {
    const location = parseSnapshotPath(blob.name);
    if (location?.file !== MANIFEST_FILE) continue;
    manifests.push({
      runId: location.runId,
      name: blob.name,
      sha256: blob.metadata?.[MANIFEST_SHA256_METADATA],
    });
  }
  manifests.sort((a, b) => (a.runId < b.runId ? 1 : -1));
  for (const manifest of manifests) {
    if (manifest.sha256 && /^[0-9a-f]{64}$/.test(manifest.sha256)) {
      return { runId: manifest.runId, manifestSha256: manifest.sha256 };
    }
    const stored = await readBlob(container, manifest.name, signal).catch(() => undefined);
    if (stored) {
      return {
        runId: manifest.runId,
        manifestSha256: createHash('sha256').update(stored.bytes).digest('hex'),
      };
    }
  }
  return undefined;
}
