import { createHash } from 'node:crypto';
import { startLocalStack, type LocalStack } from '../../dev/localStack';
import { exportTimer } from '../../src/functions/exportTimer';
import { useEnvironment } from '../../src/functions/runtime';
import type { Manifest, RunRecord } from '../../src/contract/formats';
import { invocation, timer } from '../support/functionsHarness';
import { validateStoredDocuments } from '../support/documents';
import { containerFor, readAllBlobs, uniqueName } from '../support/storage';

/** The exported timer handler, called as the host would, in a small deployment's inline mode. */
let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack();
  await stack.registerDemoAuthors();
});
afterAll(async () => {
  await useEnvironment(undefined);
  await stack?.stop();
});

test('the timer exports every author itself and writes the same snapshots and a run record', async () => {
  const name = uniqueName('timer');
  await useEnvironment({ ...stack.env, EXPORT_CONTAINER: name, EXPORT_MODE: 'inline' });
  const { context, logs } = invocation('exportTimer');
  await exportTimer(timer(true), context);

  expect(logs.some((line) => line.startsWith('warning:') && line.includes('past due'))).toBe(true);
  const blobs = await readAllBlobs(containerFor(stack.env.EXPORT_STORAGE!, name));
  const recordBlob = [...blobs].find(([path]) => /^runs\/\d{4}\/\d{2}\/\d{2}\/[^/]+\.json$/.test(path))!;
  const record = JSON.parse(recordBlob[1].body.toString()) as RunRecord;
  expect(record).toMatchObject({
    trigger: 'timer',
    status: 'partial',
    counts: { complete: 6, failed: 2, skipped: 1 },
  });
  const manifests = [...blobs]
    .filter(([path]) => path.endsWith('manifest.json'))
    .map(([, blob]) => JSON.parse(blob.body.toString()) as Manifest);
  expect(manifests).toHaveLength(6);
  for (const manifest of manifests) {
    expect(manifest.trigger).toBe('timer');
    for (const file of manifest.files) {
      expect(createHash('sha256').update(blobs.get(file.path)!.body).digest('hex')).toBe(file.sha256);
    }
  }
  expect(
    logs.some((line) => line.includes('GalleryExport.RunFinished') && line.includes('status=partial')),
  ).toBe(true);
  for (const token of stack.catalog.issuedTokens) expect(logs.join('\n')).not.toContain(token);
  const { problems } = await validateStoredDocuments(containerFor(stack.env.EXPORT_STORAGE!, name));
  expect(problems).toEqual([]);
});

test('with settings missing, the timer fails naming every one', async () => {
  await useEnvironment({ CATALOG_PAGE_SIZE: 'many' });
  const { context } = invocation('exportTimer');
  await expect(exportTimer(timer(), context)).rejects.toThrow(
    /KEY_VAULT_URL is required[\s\S]*EXPORT_STORAGE is required[\s\S]*CATALOG_PAGE_SIZE must be an integer/,
  );
});
