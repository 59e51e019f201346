import type { ContainerClient } from '@azure/storage-blob';
import { authorSnapshotsPrefix } from '../../src/contract/layout';
import { eraseAuthorBlobs } from '../../src/snapshots/eraseAuthorBlobs';

/**
 * Erasure with blob versioning on, as the templates deploy it. Azurite does not emulate versions, so this
 * container behaves as Azure documents it: a listing with versions marks only the current version
 * (`IsCurrentVersion` is left out of earlier ones); deleting the current blob keeps it as a previous
 * version; a version is deleted by its ID.
 */
const AUTHOR = 'AB'.repeat(32);
const NAME = `${authorSnapshotsPrefix(AUTHOR)}2026/01/01/20260101T000000Z-aaaaaa/manifest.json`;

function versionedContainer(): {
  container: ContainerClient;
  versions: Map<string, string[]>;
  created: string[];
} {
  // name -> version IDs, oldest first; `current` the ID of the current version, if the blob exists.
  const versions = new Map<string, string[]>([[NAME, ['v1', 'v2', 'v3']]]);
  const current = new Map<string, string>([[NAME, 'v3']]);
  const created: string[] = [];
  const container = {
    async *listBlobsFlat(options: { prefix: string }) {
      await Promise.resolve();
      for (const [name, ids] of versions) {
        if (!name.startsWith(options.prefix)) continue;
        for (const versionId of ids) {
          yield {
            name,
            versionId,
            ...(current.get(name) === versionId ? { isCurrentVersion: true } : {}),
            properties: { contentLength: 10 },
          };
        }
      }
    },
    getBlobClient(name: string) {
      const client = (versionId?: string) => ({
        withVersion: (id: string) => client(id),
        withSnapshot: () => client(),
        deleteIfExists: () => {
          if (versionId !== undefined) {
            const ids = versions.get(name) ?? [];
            if (!ids.includes(versionId) || current.get(name) === versionId)
              return Promise.resolve({ succeeded: false });
            versions.set(
              name,
              ids.filter((id) => id !== versionId),
            );
            if (versions.get(name)!.length === 0) versions.delete(name);
            return Promise.resolve({ succeeded: true });
          }
          if (!current.has(name)) return Promise.resolve({ succeeded: false });
          current.delete(name); // kept as a previous version
          return Promise.resolve({ succeeded: true });
        },
      });
      return client();
    },
    getBlockBlobClient(name: string) {
      return {
        getBlockList: () => Promise.resolve({ uncommittedBlocks: [] }),
        commitBlockList: () => {
          created.push(name);
          return Promise.resolve({});
        },
      };
    },
  };
  return { container: container as unknown as ContainerClient, versions, created };
}

test('with versioning on, every earlier version is deleted by its ID and nothing is created on the way', async () => {
  const { container, versions, created } = versionedContainer();
  const erased = await eraseAuthorBlobs(container, AUTHOR);
  expect(versions.size).toBe(0);
  expect(created).toEqual([]);
  expect(erased).toMatchObject({ snapshots: 1, blobs: 1, runIds: ['20260101T000000Z-aaaaaa'] });
});
