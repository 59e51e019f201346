import { createHash } from 'node:crypto';
import type { ContainerClient } from '@azure/storage-blob';
import { startAzurite, type RunningAzurite } from '../../dev/azurite';
import { BlobRunLock } from '../../src/snapshots/BlobRunLock';
import { BlobRunStore } from '../../src/snapshots/BlobRunStore';
import { createBlobOnce } from '../../src/snapshots/blobDocuments';
import { BlobSnapshotStore } from '../../src/snapshots/BlobSnapshotStore';
import { serializeDocument, type Manifest, type RunRecord } from '../../src/contract/formats';
import { containerFor, uniqueName } from '../support/storage';

/** The storage side against Azurite through the real Blob SDK; each test owns a container. */
const AUTHOR = 'AB'.repeat(32);
const RUN = '20261128T020000Z-abc123';
let azurite: RunningAzurite;
let container: ContainerClient;

beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite?.stop();
});
beforeEach(async () => {
  container = containerFor(azurite.connectionString, uniqueName('snap'));
  await container.create();
});

/** Content arriving piece by piece, as entities.json does from the spool. */
async function* chunks(count: number, size: number): AsyncGenerator<Buffer> {
  for (let index = 0; index < count; index++) {
    await new Promise((resolve) => setImmediate(resolve));
    yield Buffer.alloc(size, 65 + (index % 26));
  }
}

test('a file is created once with its hash, content type and tags; a second write is refused and changes nothing', async () => {
  const target = new BlobSnapshotStore(container).open(AUTHOR, RUN);
  const body = Buffer.from('{"id":"x","name":"Zoë"}');
  const file = await target.writeFile('profile.json', body);
  expect(file).toEqual({
    name: 'profile.json',
    path: `snapshots/${AUTHOR}/2026/11/28/${RUN}/profile.json`,
    bytes: body.length,
    sha256: createHash('sha256').update(body).digest('hex'),
    contentType: 'application/json',
  });
  const blob = container.getBlockBlobClient(file.path);
  const properties = await blob.getProperties();
  expect(properties.contentType).toBe('application/json');
  expect((await blob.getTags()).tags).toEqual({ runId: RUN, kind: 'profile', authorId: AUTHOR });

  await expect(
    new BlobSnapshotStore(container).open(AUTHOR, RUN).writeFile('profile.json', Buffer.from('{"other":1}')),
  ).rejects.toMatchObject({
    code: 'SNAPSHOT_EXISTS',
    message: `Refusing to overwrite ${file.path}: it already exists`,
  });
  expect((await blob.downloadToBuffer()).equals(body)).toBe(true);
});

test('a large file is staged block by block and committed once; the hash covers the stored bytes', async () => {
  const store = new BlobSnapshotStore(container, { blockBytes: 64 * 1024, blockConcurrency: 3 });
  const file = await store.open(AUTHOR, RUN).writeFile('entities.json', chunks(40, 10_000));
  const stored = await container.getBlockBlobClient(file.path).downloadToBuffer();
  expect(stored.length).toBe(400_000);
  expect(file.sha256).toBe(createHash('sha256').update(stored).digest('hex'));
  const blocks = await container.getBlockBlobClient(file.path).getBlockList('committed');
  // Chunks are copied into full 64 KiB blocks (a chunk may span two); the last block holds the rest.
  expect(blocks.committedBlocks!.map((block) => block.size)).toEqual([
    ...Array.from({ length: 6 }, () => 65_536),
    400_000 - 6 * 65_536,
  ]);
});

test('a staged file whose name exists is refused at commit', async () => {
  const store = new BlobSnapshotStore(container, { blockBytes: 64 * 1024 });
  await store.open(AUTHOR, RUN).writeFile('entities.json', Buffer.from('[]'));
  await expect(store.open(AUTHOR, RUN).writeFile('entities.json', chunks(20, 10_000))).rejects.toMatchObject({
    code: 'SNAPSHOT_EXISTS',
  });
  expect(
    (
      await container
        .getBlockBlobClient(`snapshots/${AUTHOR}/2026/11/28/${RUN}/entities.json`)
        .downloadToBuffer()
    ).toString(),
  ).toBe('[]');
});

test('the manifest is written last and only over the files this attempt wrote', async () => {
  const store = new BlobSnapshotStore(container);
  const target = store.open(AUTHOR, RUN);
  const profile = await target.writeFile('profile.json', Buffer.from('{}'));
  const entities = await target.writeFile('entities.json', Buffer.from('[]'));
  const manifest = { files: [profile, entities] } as unknown as Manifest;

  // Another writer replaced a file: no manifest may vouch for bytes this attempt did not hash.
  await container.getBlockBlobClient(entities.path).upload('[1]', 3);
  await expect(target.writeManifest(serializeDocument(manifest), manifest)).rejects.toMatchObject({
    code: 'SNAPSHOT_WRITE',
  });
  expect(await target.prepare()).toBeUndefined();

  const other = store.open(AUTHOR, '20261128T020000Z-abc124');
  const files = [
    await other.writeFile('profile.json', Buffer.from('{}')),
    await other.writeFile('entities.json', Buffer.from('[]')),
  ];
  // A complete manifest of that snapshot: prepare() trusts only a manifest valid against its schema.
  const otherManifest: Manifest = {
    schemaVersion: 1,
    runId: other.runId,
    authorId: AUTHOR,
    trigger: 'cli',
    startedAt: '2026-11-28T02:00:00.000Z',
    completedAt: '2026-11-28T02:00:01.000Z',
    source: { baseUrl: 'http://127.0.0.1:1' },
    token: { status: 'absent' },
    includesUnlisted: false,
    counts: { entities: 0, unlisted: 0, reportedByCatalog: 0 },
    warnings: [],
    files,
    generator: { name: 'gallery-export', version: '0.0.0' },
    previous: null,
  };
  await other.writeManifest(serializeDocument(otherManifest), otherManifest);
  // A complete snapshot is returned as it is by prepare(), and left alone.
  expect((await other.prepare())!.files).toEqual(files);
  expect((await other.prepare())!.files).toEqual(files);
});

test('prepare clears what an interrupted attempt of the same run left', async () => {
  const target = new BlobSnapshotStore(container).open(AUTHOR, RUN);
  await target.writeFile('profile.json', Buffer.from('{}'));
  expect(await target.prepare()).toBeUndefined();
  expect(await container.getBlockBlobClient(`${target.prefix}profile.json`).exists()).toBe(false);
  await expect(target.writeFile('profile.json', Buffer.from('{}'))).resolves.toMatchObject({ bytes: 2 });
});

test('createBlobOnce reports storage that cannot be reached as STORAGE_UNAVAILABLE', async () => {
  const unreachable = containerFor(
    azurite.connectionString.replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:9'),
    'nowhere',
  ).getBlockBlobClient('x.json');
  await expect(createBlobOnce(unreachable, Buffer.from('{}'), { tags: {} })).rejects.toMatchObject({
    code: 'STORAGE_UNAVAILABLE',
  });
}, 30_000);

describe('run records', () => {
  const record: RunRecord = {
    schemaVersion: 1,
    runId: RUN,
    trigger: 'cli',
    startedAt: '2026-11-28T02:00:00.000Z',
    completedAt: null,
    status: 'running',
    settings: {},
    counts: { authors: 1, complete: 0, failed: 0, skipped: 0, pending: 1 },
    authors: [{ secretName: 'gallery-author-a', authorId: AUTHOR, status: 'pending' }],
  };

  test('created once; updates are conditional and re-applied on conflict', async () => {
    const runs = new BlobRunStore(container);
    await runs.create(record);
    await expect(runs.create(record)).rejects.toMatchObject({ code: 'SNAPSHOT_EXISTS' });
    const seen: RunRecord[] = [];
    const updated = await runs.update(RUN, async (latest) => {
      seen.push(latest);
      // The first time round, another writer changes the record between this read and this write.
      if (seen.length === 1) {
        const concurrent = serializeDocument({ ...record, settings: { CONCURRENT: 'yes' } });
        await container
          .getBlockBlobClient(`runs/2026/11/28/${RUN}.json`)
          .upload(concurrent, concurrent.length);
      }
      return { ...latest, status: 'complete' };
    });
    // The stale write was refused (If-Match) and the change re-applied to what the other writer left.
    expect(seen).toHaveLength(2);
    expect(seen[1]!.settings).toEqual({ CONCURRENT: 'yes' });
    expect(updated).toMatchObject({ status: 'complete', settings: { CONCURRENT: 'yes' } });
    expect(await runs.read(RUN)).toMatchObject({ status: 'complete', settings: { CONCURRENT: 'yes' } });
  });

  // Outcomes as the export writes them: the schema requires what each status implies.
  const completeOutcome = (secretName: string) => ({
    secretName,
    authorId: AUTHOR,
    status: 'complete' as const,
    tokenStatus: 'valid' as const,
    counts: { entities: 0, unlisted: 0, reportedByCatalog: 0 },
    snapshot: `snapshots/${AUTHOR}/2026/11/28/${RUN}/`,
  });
  const failure = { code: 'CATALOG_UNAVAILABLE' as const, message: 'the catalog did not answer' };

  test('outcomes: one small blob per author, first write wins; last errors stay apart', async () => {
    const runs = new BlobRunStore(container);
    await runs.writeOutcome(RUN, completeOutcome('gallery-author-a'));
    const second = await runs.writeOutcome(RUN, {
      secretName: 'gallery-author-a',
      authorId: AUTHOR,
      status: 'failed',
      error: failure,
    });
    expect(second).toMatchObject({ created: false, outcome: { status: 'complete' } });
    await runs.writeLastError(RUN, {
      secretName: 'gallery-author-b',
      authorId: null,
      status: 'failed',
      error: failure,
    });
    expect(await runs.listOutcomes(RUN)).toEqual([completeOutcome('gallery-author-a')]);
    expect(await runs.readLastError(RUN, 'gallery-author-b')).toMatchObject({ status: 'failed' });
  });

  test('outcomes carry themselves in metadata: a listing gives them without reads, a large one whole from its blob', async () => {
    const runs = new BlobRunStore(container);
    const run = '20261128T020000Z-0a7c0e';
    const small = completeOutcome('gallery-author-s');
    const large = {
      secretName: 'gallery-author-l',
      authorId: AUTHOR,
      status: 'failed' as const,
      error: { code: 'CATALOG_UNAVAILABLE' as const, message: `Gave up: ${'ü'.repeat(6000)}` },
    };
    expect(await runs.writeOutcome(run, small)).toEqual({ outcome: small, created: true });
    await runs.writeOutcome(run, large);
    // The listing's metadata holds the small outcome exactly as its blob does.
    const prefix = `runs/2026/11/28/${run}/`;
    for await (const blob of container.listBlobsFlat({ prefix, includeMetadata: true })) {
      const carried = JSON.parse(Buffer.from(blob.metadata!.outcome!, 'base64url').toString()) as unknown;
      const stored = JSON.parse(
        (await container.getBlobClient(blob.name).downloadToBuffer()).toString(),
      ) as unknown;
      if (blob.name.endsWith('gallery-author-s.json')) expect(carried).toEqual(stored);
      else expect(carried).toMatchObject({ status: 'failed', error: { code: 'CATALOG_UNAVAILABLE' } });
    }
    const byName = (list: Array<{ secretName: string }>) =>
      [...list].sort((a, b) => a.secretName.localeCompare(b.secretName));
    // Whole: the large outcome comes from its blob. A summary clips its message.
    expect(byName(await runs.listOutcomes(run))).toEqual([large, small]);
    const summaries = byName(await runs.listOutcomes(run, { detail: 'summary' }));
    expect(summaries[1]).toEqual(small);
    expect(summaries[0]).toMatchObject({ status: 'failed', error: { code: 'CATALOG_UNAVAILABLE' } });
    expect((summaries[0] as typeof large).error.message.length).toBeLessThan(600);
    // Metadata that does not belong to its blob (another secret's outcome) is not believed.
    const forged = serializeDocument({ ...small, secretName: 'gallery-author-x' });
    await container.getBlockBlobClient(`${prefix}gallery-author-x.json`).upload(forged, forged.length, {
      metadata: { outcome: Buffer.from(JSON.stringify(small)).toString('base64url') },
    });
    const withForged = await runs.listOutcomes(run, { detail: 'summary' });
    expect(withForged.map((outcome) => outcome.secretName).sort()).toEqual([
      'gallery-author-l',
      'gallery-author-s',
      'gallery-author-x',
    ]);
  });

  test('the settled tally counts every settlement once, concurrently, and stays JSON; without one, no count', async () => {
    const runs = new BlobRunStore(container);
    const run = '20261128T020000Z-7a11e0';
    expect(await runs.countSettled(run)).toBeUndefined();
    await runs.startSettledTally(run, 30);
    await runs.startSettledTally(run, 30); // a second start (a retried plan) leaves it as it is
    const counts = await Promise.all(Array.from({ length: 30 }, () => runs.countSettled(run)));
    expect([...counts].sort((a, b) => a! - b!)).toEqual(Array.from({ length: 30 }, (_, index) => index + 1));
    const tally = container.getBlobClient(`runs/2026/11/28/${run}/progress/settled.json`);
    expect(JSON.parse((await tally.downloadToBuffer()).toString())).toMatchObject({ runId: run, queued: 30 });
    const properties = await tally.getProperties();
    expect(properties.contentType).toBe('application/json');
    expect((await tally.getTags()).tags).toEqual({ runId: run, kind: 'run' });
    // Not an outcome.
    expect(await runs.listOutcomes(run)).toEqual([]);
  });

  test('a tally whose create succeeded but whose answer was lost still gets its header: the first count is 1', async () => {
    // The retried create meets the blob the lost attempt made (409); without the header, every count is
    // one short and the last author never learns it is the last.
    const runs = new BlobRunStore(container);
    const run = '20261128T020000Z-10a5e1';
    await container.getAppendBlobClient(`runs/2026/11/28/${run}/progress/settled.json`).create();
    await runs.startSettledTally(run, 2);
    await runs.startSettledTally(run, 2);
    expect(await runs.countSettled(run)).toBe(1);
    expect(await runs.countSettled(run)).toBe(2);
    const tally = container.getBlobClient(`runs/2026/11/28/${run}/progress/settled.json`);
    expect(JSON.parse((await tally.downloadToBuffer()).toString())).toMatchObject({ runId: run, queued: 2 });
  });

  test('listRunIds: newest first', async () => {
    const runs = new BlobRunStore(container);
    await runs.create(record);
    await runs.create({ ...record, runId: '20261129T020000Z-000001' });
    expect(await runs.listRunIds()).toEqual(['20261129T020000Z-000001', RUN]);
  });
});

test('erasing an author also erases blocks a killed writer staged but never committed', async () => {
  const store = new BlobSnapshotStore(container);
  await store.open(AUTHOR, RUN).writeFile('profile.json', Buffer.from('{"id":"x"}'));
  // What a writer killed between staging entities.json's blocks and committing them leaves behind.
  const staged = container.getBlockBlobClient(`snapshots/${AUTHOR}/2026/11/28/${RUN}/entities.json`);
  const blockId = Buffer.from('killed00000000').toString('base64');
  await staged.stageBlock(blockId, Buffer.from('[{"name":"personal data"}'), 25);
  expect((await store.inventoryAuthor(AUTHOR)).files.length).toBeGreaterThan(0);

  const erased = await store.eraseAuthor(AUTHOR);
  expect(erased).toMatchObject({ snapshots: 1, runIds: [RUN] });
  const left: string[] = [];
  for await (const item of container.listBlobsFlat({
    prefix: `snapshots/${AUTHOR}/`,
    includeUncommitedBlobs: true,
    includeVersions: true,
    includeSnapshots: true,
  }))
    left.push(item.name);
  expect(left).toEqual([]);
  const blocks = await staged.getBlockList('all').catch((error: { statusCode?: number }) => error.statusCode);
  expect(blocks).toBe(404);
  expect((await store.inventoryAuthor(AUTHOR)).files).toEqual([]);
});

describe('run lock', () => {
  test('one holder at a time; renew and release; a dead holder frees it after the lease', async () => {
    const lock = new BlobRunLock(container, 15);
    const lease = await lock.acquire();
    await expect(new BlobRunLock(container, 15).acquire()).rejects.toMatchObject({
      code: 'RUN_LOCKED',
      statusCode: 409,
    });
    expect(await lock.renew(lease)).toBe(true);
    await lock.release(lease);
    const next = await lock.acquire();
    expect(next).not.toBe(lease);
    expect(await lock.renew(lease)).toBe(false);
    await lock.release(next);
  });

  test('a lease nobody renews lapses: another run takes the lock and the old lease cannot renew it', async () => {
    const lapsing = containerFor(azurite.connectionString, uniqueName('lock'));
    await lapsing.create();
    const idle = containerFor(azurite.connectionString, uniqueName('lock'));
    await idle.create();
    const dead = await new BlobRunLock(lapsing, 15).acquire();
    const expired = await new BlobRunLock(idle, 15).acquire();
    await new Promise((resolve) => setTimeout(resolve, 16_000));
    // Taken by someone else once it lapsed: the old holder has lost it for good.
    const taker = new BlobRunLock(lapsing, 15);
    const next = await taker.acquire();
    expect(await taker.renew(dead)).toBe(false);
    await taker.release(next);
    // Lapsed but not taken: the service lets its holder renew it (the lease ID still names the lock).
    expect(await new BlobRunLock(idle, 15).renew(expired)).toBe(true);
    await new BlobRunLock(idle, 15).release(expired);
  }, 30_000);
});
