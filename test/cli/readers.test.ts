import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ContainerClient } from '@azure/storage-blob';
import { DEMO_AUTHORS } from '../../dev/catalog-simulator';
import { startLocalStack, type LocalStack } from '../../dev/localStack';
import type { ErasureRecord, Manifest, RunRecord } from '../../src/contract/formats';
import { runCli } from '../support/cliHarness';
import { validateStoredDocuments } from '../support/documents';
import { containerFor, readAllBlobs, uniqueName } from '../support/storage';

/** list, verify, get and purge, as a compliance officer runs them, against snapshots a real run wrote. */
let stack: LocalStack;
const ada = DEMO_AUTHORS.find((author) => author.label === 'ada-lovelace')!;
const li = DEMO_AUTHORS.find((author) => author.label === 'li-wei')!;

beforeAll(async () => {
  stack = await startLocalStack();
  await stack.registerDemoAuthors();
});
afterAll(async () => {
  await stack?.stop();
});

/** A container of its own with one export of the given authors. */
async function exported(
  ...authorIds: string[]
): Promise<{ env: Record<string, string>; container: ContainerClient; record: RunRecord }> {
  const name = uniqueName('read');
  const env = { ...stack.env, EXPORT_CONTAINER: name };
  const result = await runCli(['run', '--json', ...authorIds.flatMap((id) => ['--author', id])], env);
  expect(result.code).toBe(0);
  return {
    env,
    container: containerFor(stack.env.EXPORT_STORAGE!, name),
    record: JSON.parse(result.stdout) as RunRecord,
  };
}

async function manifestOf(container: ContainerClient, prefix: string): Promise<Manifest> {
  return JSON.parse(
    (await container.getBlockBlobClient(`${prefix}manifest.json`).downloadToBuffer()).toString(),
  ) as Manifest;
}

test('list shows complete snapshots newest first, filtered by author and date', async () => {
  const { env } = await exported(ada.authorId, li.authorId);
  await runCli(['run', '--author', li.authorId], env);
  const all = JSON.parse((await runCli(['list', '--json'], env)).stdout) as Array<{
    runId: string;
    authorId: string;
  }>;
  expect(all).toHaveLength(3);
  expect(all.map((entry) => entry.runId)).toEqual([...all.map((entry) => entry.runId)].sort().reverse());
  const onlyLi = JSON.parse(
    (await runCli(['list', '--json', '--author', li.authorId.toLowerCase()], env)).stdout,
  ) as unknown[];
  expect(onlyLi).toHaveLength(2);
  const table = await runCli(['list'], env);
  expect(table.code).toBe(0);
  expect(table.stdout).toContain('3 complete snapshot(s)');
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  expect(JSON.parse((await runCli(['list', '--json', '--since', tomorrow], env)).stdout)).toEqual([]);
  expect((await runCli(['list', '--since', 'yesterday'], env)).code).toBe(2);
});

test('verify: 0 when intact; 1 naming the file when one byte of entities.json changes', async () => {
  const { env, container, record } = await exported(ada.authorId, li.authorId);
  expect((await runCli(['verify'], env)).code).toBe(0);
  const prefix = record.authors.find((author) => author.authorId === ada.authorId)!.snapshot!;
  const path = `${prefix}entities.json`;
  const blob = container.getBlockBlobClient(path);
  const bytes = await blob.downloadToBuffer();
  bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0x01;
  await blob.upload(bytes, bytes.length); // an outside writer with storage rights, not gallery-export
  const result = await runCli(['verify'], env);
  expect(result.code).toBe(1);
  // Grouped by author, each file named inside its snapshot; --json has the whole path.
  expect(result.stdout).toContain(`author ${ada.authorId}`);
  expect(result.stdout).toContain('changed: entities.json: stored');
  expect(result.stdout).toContain('1 intact, 1 damaged');
  const json = JSON.parse((await runCli(['verify', '--json'], env)).stdout) as {
    snapshots: Array<{ problems: Array<{ path: string; kind: string; next: string }> }>;
  };
  expect(json.snapshots.flatMap((snapshot) => snapshot.problems)).toEqual([
    expect.objectContaining({ path, kind: 'changed', next: expect.stringMatching(/restore/) as unknown }),
  ]);
  // Narrowed to the other author it is fine.
  expect((await runCli(['verify', '--author', li.authorId], env)).code).toBe(0);
});

test('verify: 1 when a file listed in the manifest is missing, or a stray file appears', async () => {
  const { env, container, record } = await exported(li.authorId);
  const prefix = record.authors[0]!.snapshot!;
  await container.getBlockBlobClient(`${prefix}profile.json`).delete();
  await container.getBlockBlobClient(`${prefix}extra.json`).upload('{}', 2);
  const result = await runCli(['verify', '--json'], env);
  expect(result.code).toBe(1);
  const report = JSON.parse(result.stdout) as {
    snapshots: Array<{ problems: Array<{ kind: string; path: string }> }>;
  };
  expect(report.snapshots[0]!.problems).toEqual([
    expect.objectContaining({ kind: 'missing', path: `${prefix}profile.json` }),
    expect.objectContaining({ kind: 'unexpected', path: `${prefix}extra.json` }),
  ]);
});

test('verify: 1 when a manifest is missing; an export that never finished is reported but not damage', async () => {
  const { env, container, record } = await exported(li.authorId);
  const prefix = record.authors[0]!.snapshot!;
  await container.getBlockBlobClient(`${prefix}manifest.json`).delete();
  const missing = await runCli(['verify', '--run', record.runId], env);
  expect(missing.code).toBe(1);
  expect(missing.stdout).toContain(`manifest-missing: manifest.json`);
  expect(missing.stdout).toContain(`author ${li.authorId}`);
  expect((await runCli(['list', '--json'], env)).stdout.trim()).toBe('[]');

  // A crashed run: its record still says running, its snapshot has files but no manifest.
  const { env: other, container: otherContainer } = await exported(ada.authorId);
  const crashedRun = '20261127T020000Z-dead00';
  const crashedRecord = JSON.stringify({
    schemaVersion: 1,
    runId: crashedRun,
    trigger: 'cli',
    startedAt: '2026-11-27T02:00:00.000Z',
    completedAt: null,
    status: 'running',
    settings: {},
    counts: { authors: 1, complete: 0, failed: 0, skipped: 0, pending: 1 },
    authors: [{ secretName: 'gallery-author-ada-lovelace', authorId: ada.authorId, status: 'pending' }],
  });
  await otherContainer
    .getBlockBlobClient(`runs/2026/11/27/${crashedRun}.json`)
    .upload(crashedRecord, Buffer.byteLength(crashedRecord));
  await otherContainer
    .getBlockBlobClient(`snapshots/${ada.authorId}/2026/11/27/${crashedRun}/profile.json`)
    .upload('{}', 2);
  const verified = await runCli(['verify'], other);
  expect(verified.code).toBe(0);
  expect(verified.stdout).toContain('1 intact, 0 damaged, 1 incomplete');
  const listed = JSON.parse((await runCli(['list', '--json'], other)).stdout) as Array<{ runId: string }>;
  expect(listed.map((entry) => entry.runId)).not.toContain(crashedRun);
  // And it does not block the next run.
  expect((await runCli(['run', '--author', ada.authorId], other)).code).toBe(0);
});

test('get: a folder whose files match the manifest hashes, with a README; never into a non-empty folder', async () => {
  const { env, container, record } = await exported(ada.authorId);
  const out = join(await mkdtemp(join(tmpdir(), 'bundle-')), 'ada');
  const result = await runCli(['get', '--author', ada.authorId, '--out', out], env);
  expect(result.code).toBe(0);
  const manifest = await manifestOf(container, record.authors[0]!.snapshot!);
  expect((await readdir(out)).sort()).toEqual([
    'README.txt',
    'SHA256SUMS',
    'entities.json',
    'manifest.json',
    'profile.json',
    'report.html',
    'signature.json',
  ]);
  for (const file of manifest.files) {
    const bytes = await readFile(join(out, file.name));
    expect(bytes.length).toBe(file.bytes);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(file.sha256);
  }
  expect(JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8'))).toEqual(manifest);
  const readme = await readFile(join(out, 'README.txt'), 'utf8');
  expect(readme).toContain(ada.authorId);
  expect(readme).toContain('entities.json');
  expect(await readFile(join(out, 'SHA256SUMS'), 'utf8')).toContain(
    `${manifest.files[1]!.sha256}  entities.json`,
  );

  await writeFile(join(out, 'note.txt'), 'mine');
  const refused = await runCli(['get', '--author', ada.authorId, '--out', out], env);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toContain('is not empty');
  expect(await readFile(join(out, 'note.txt'), 'utf8')).toBe('mine');
  expect((await runCli(['get', '--author', li.authorId, '--out', join(out, '..', 'none')], env)).code).toBe(
    1,
  );
});

test('purge: nothing without --yes; then no blob under the author, an erasure record without personal data, and a harmless second purge', async () => {
  const { env, container } = await exported(ada.authorId, li.authorId);
  await runCli(['run', '--author', ada.authorId], env);
  const prefix = `snapshots/${ada.authorId}/`;
  const before = await readAllBlobs(container, prefix);
  // Two snapshots of four files each: profile, entities, signature (the local stack signs), manifest.
  expect(before.size).toBe(8);

  const unconfirmed = await runCli(['purge', '--author', ada.authorId], env);
  expect(unconfirmed.code).not.toBe(0);
  expect((await readAllBlobs(container, prefix)).size).toBe(8);

  const purged = await runCli(
    ['purge', '--author', ada.authorId, '--yes', '--requested-by', 'DSR-1234', '--json'],
    env,
  );
  expect(purged.code).toBe(0);
  const { record, erasureRecord } = JSON.parse(purged.stdout) as {
    record: ErasureRecord;
    erasureRecord: string;
  };
  expect((await readAllBlobs(container, prefix)).size).toBe(0);
  expect((await readAllBlobs(container, `snapshots/${li.authorId}/`)).size).toBe(4);
  expect(record).toMatchObject({
    authorIdSha256: createHash('sha256').update(ada.authorId).digest('hex'),
    requestedBy: 'DSR-1234',
    deleted: { snapshots: 2, blobs: 8 },
  });

  const stored = (await container.getBlockBlobClient(erasureRecord).downloadToBuffer()).toString();
  const adaData = stack.catalog.data.authors.get(ada.authorId)!;
  const profile = adaData.profile as { name: string; slugs: string[] };
  for (const personal of [
    ada.authorId,
    profile.name,
    ...profile.slugs,
    ...adaData.entities.map((entity) => entity.id),
  ]) {
    expect(stored.includes(personal)).toBe(false);
  }
  expect((await container.getBlockBlobClient(erasureRecord).getTags()).tags).toEqual({ kind: 'erasure' });

  const again = await runCli(['purge', '--author', ada.authorId, '--yes'], env);
  expect(again.code).toBe(0);
  expect(again.stdout).toContain('Nothing to erase');
  // Still one erasure record (next to the marker the first purge wrote when it began).
  const erasureRecords = [...(await readAllBlobs(container, 'erasures/')).keys()].filter((name) =>
    /^erasures\/[^/.]+\.json$/.test(name),
  );
  expect(erasureRecords).toHaveLength(1);

  const { problems, checked } = await validateStoredDocuments(container);
  expect(problems).toEqual([]);
  expect(checked.erasure).toBe(1);
  // Run records still say Ada's snapshots were written; the erasure record accounts for them.
  expect((await runCli(['verify'], env)).code).toBe(0);
});

test('verify: 1 when a whole snapshot the run record says was completed is gone', async () => {
  const { env, container, record } = await exported(li.authorId);
  const prefix = record.authors[0]!.snapshot!;
  for (const name of ['profile.json', 'entities.json', 'signature.json', 'manifest.json'])
    await container.getBlockBlobClient(`${prefix}${name}`).delete();
  const result = await runCli(['verify'], env);
  expect(result.code).toBe(1);
  expect(result.stdout).toContain(`missing: ${prefix}:`);
});

test('usage errors exit 2 and start nothing', async () => {
  const name = uniqueName('usage');
  const env = { ...stack.env, EXPORT_CONTAINER: name };
  expect((await runCli(['run', '--author', 'not-an-id'], env)).code).toBe(2);
  expect((await runCli(['verify', '--run', 'yesterday'], env)).code).toBe(2);
  expect((await runCli(['purge', '--author', '123', '--yes'], env)).code).toBe(2);
  expect((await runCli(['get', '--author', ada.authorId], env)).code).toBe(2);
  expect((await runCli(['frobnicate'], env)).code).toBe(2);
  const missing = await runCli(['run'], {});
  expect(missing.code).toBe(2);
  expect(missing.stderr).toMatch(/KEY_VAULT_URL is required[\s\S]*EXPORT_STORAGE is required/);
  expect(await containerFor(stack.env.EXPORT_STORAGE!, name).exists()).toBe(false);
});
