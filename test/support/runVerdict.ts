import type { ContainerClient } from '@azure/storage-blob';
import type { RunRecord } from '../../src/contract/formats';
import { runOutcomesPrefix } from '../../src/contract/layout';
import { expectArchiveSound } from './archive';

/** The run record stored for the container's only run. */
export async function storedRunRecord(container: ContainerClient): Promise<RunRecord> {
  const records: RunRecord[] = [];
  for await (const blob of container.listBlobsFlat({ prefix: 'runs/' })) {
    if (!/^runs\/\d{4}\/\d{2}\/\d{2}\/[^/]+\.json$/.test(blob.name)) continue;
    const body = await container.getBlockBlobClient(blob.name).downloadToBuffer();
    records.push(JSON.parse(body.toString('utf8')) as RunRecord);
  }
  expect(records).toHaveLength(1);
  return records[0]!;
}

/**
 * Nothing lost and nothing claimed twice: the run is complete with every author complete, each author
 * has exactly one snapshot of this run (its files once each, a manifest that verifies), each secret one
 * outcome, and every stored document is well-formed.
 */
export async function expectEveryAuthorOnce(
  container: ContainerClient,
  record: RunRecord,
  authorIds: readonly string[],
  options: { signed: boolean },
): Promise<void> {
  expect(record).toMatchObject({
    status: 'complete',
    counts: { complete: authorIds.length, failed: 0, skipped: 0, pending: 0 },
  });
  expect(record.authors.map((author) => author.authorId).sort()).toEqual([...authorIds].sort());

  const files = new Map<string, string[]>();
  for await (const blob of container.listBlobsFlat({ prefix: 'snapshots/' })) {
    const [, authorId, ...rest] = blob.name.split('/');
    expect(blob.name).toContain(`/${record.runId}/`);
    files.set(authorId!, [...(files.get(authorId!) ?? []), rest.at(-1)!]);
  }
  const expected = [
    'entities.json',
    'manifest.json',
    'profile.json',
    ...(options.signed ? ['signature.json'] : []),
  ];
  expect([...files.keys()].sort()).toEqual([...authorIds].sort());
  for (const [authorId, names] of files) expect([authorId, names.sort()]).toEqual([authorId, expected]);

  const outcomes: string[] = [];
  const folder = runOutcomesPrefix(record.runId);
  for await (const blob of container.listBlobsFlat({ prefix: folder })) {
    if (!blob.name.slice(folder.length).includes('/')) outcomes.push(blob.name.slice(folder.length));
  }
  expect(outcomes.sort()).toEqual(record.authors.map((author) => `${author.secretName}.json`).sort());
  await expectArchiveSound(container, new Map());
}
