import { createHash } from 'node:crypto';
import type { ContainerClient } from '@azure/storage-blob';
import { BlobRunStore } from '../../src/snapshots/BlobRunStore';
import { verifySnapshots } from '../../src/snapshots/verifySnapshots';
import { validateStoredDocuments } from './documents';

/** SHA-256 of every blob under snapshots/, to prove later that none of them changed. */
export async function fingerprintSnapshots(container: ContainerClient): Promise<Map<string, string>> {
  const prints = new Map<string, string>();
  for await (const blob of container.listBlobsFlat({ prefix: 'snapshots/' })) {
    const body = await container.getBlockBlobClient(blob.name).downloadToBuffer();
    prints.set(blob.name, createHash('sha256').update(body).digest('hex'));
  }
  return prints;
}

/**
 * The drills' common verdict: no complete-looking snapshot is wrong (every snapshot with a manifest
 * verifies), and every blob an earlier, finished run wrote is still there, byte for byte.
 */
export async function expectArchiveSound(
  container: ContainerClient,
  earlier: Map<string, string>,
): Promise<void> {
  const report = await verifySnapshots(container, new BlobRunStore(container), { retentionDays: 730 });
  expect(report.snapshots.filter((result) => result.status === 'damaged')).toEqual([]);
  expect(report.problems).toEqual([]);
  // Whatever a failure left behind, every document is still well-formed.
  expect((await validateStoredDocuments(container)).problems).toEqual([]);
  const now = await fingerprintSnapshots(container);
  for (const [path, sha] of earlier) expect([path, now.get(path)]).toEqual([path, sha]);
}
