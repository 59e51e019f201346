import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { startAzurite, type RunningAzurite } from '../../dev/azurite';
import type { RunRecord } from '../../src/contract/formats';
import { runRecordPath } from '../../src/contract/layout';
import { createBlobOnce } from '../../src/snapshots/blobDocuments';
import { BlobRunLock } from '../../src/snapshots/BlobRunLock';
import { BlobRunStore } from '../../src/snapshots/BlobRunStore';
import { createStorageClients } from '../../src/snapshots/storageClients';
import { faultSequence, startStorageFaultProxy, type StorageFaultProxy } from '../support/storageFaultProxy';
import { uniqueName } from '../support/storage';

/**
 * The storage adapters' multi-step writes when an answer is lost or every retry is refused (issue 26),
 * through the fault proxy in front of Azurite, with the product's own storage clients and retry settings.
 */
let azurite: RunningAzurite;
let proxy: StorageFaultProxy;
beforeAll(async () => {
  azurite = await startAzurite();
  proxy = await startStorageFaultProxy({
    blobEndpoint: azurite.blobEndpoint,
    queueEndpoint: azurite.queueEndpoint,
  });
});
afterEach(() => {
  proxy.clearRules();
});
afterAll(async () => {
  await proxy?.close();
  await azurite?.stop();
});

/** A container of its own, seen through the proxy (as the product sees it) and directly. */
async function container(): Promise<{ faulty: ContainerClient; direct: ContainerClient }> {
  const name = uniqueName('sf');
  const direct = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(name);
  await direct.create();
  const { blobService } = createStorageClients({
    kind: 'connectionString',
    connectionString: proxy.connectionString(azurite.connectionString),
  });
  return { faulty: blobService.getContainerClient(name), direct };
}

const RUN_ID = '20261208T020000Z-1a2b3c';

function runRecord(): RunRecord {
  return {
    schemaVersion: 1,
    runId: RUN_ID,
    trigger: 'timer',
    startedAt: '2026-12-08T02:00:00.000Z',
    completedAt: null,
    status: 'running',
    settings: {},
    counts: { authors: 1, complete: 0, failed: 0, skipped: 0, pending: 1 },
    authors: [{ secretName: 'gallery-author-a', authorId: null, status: 'pending' }],
  };
}

test('a conditional update of the run record whose answer was lost is known as this update: the change is not applied again', async () => {
  const { faulty, direct } = await container();
  const runs = new BlobRunStore(faulty);
  await runs.create(runRecord());
  const path = `${faulty.containerName}/${runRecordPath(RUN_ID)}`;
  proxy.addRule(
    faultSequence(
      (request) =>
        request.method === 'PUT' && request.path === path && request.headers['if-match'] !== undefined,
      [{ kind: 'lost' }],
    ),
  );
  // A finaliser's change: only a running record is finalised. Seeing its own write as someone else's,
  // a finaliser would conclude another one had finalised the run (and neither release the lock nor log).
  const injected = proxy.injected.length;
  let calls = 0;
  const updated = await runs.update(RUN_ID, (record) => {
    calls++;
    if (record.status !== 'running') return undefined;
    return { ...record, status: 'complete', completedAt: '2026-12-08T02:01:00.000Z' };
  });

  expect(proxy.injected.length - injected).toBe(1);
  expect(calls).toBe(1);
  expect(updated).toMatchObject({ status: 'complete', completedAt: '2026-12-08T02:01:00.000Z' });
  const stored = JSON.parse(
    (await direct.getBlockBlobClient(runRecordPath(RUN_ID)).downloadToBuffer()).toString('utf8'),
  ) as RunRecord;
  expect(stored).toEqual(updated);
});

test('a create whose answer was lost, and whose check of its own write is refused every time, fails as storage unavailable, not as "exists"', async () => {
  const { faulty } = await container();
  const name = 'snapshots/lost/manifest.json';
  const path = `${faulty.containerName}/${name}`;
  proxy.addRule(
    faultSequence((request) => request.method === 'PUT' && request.path === path, [{ kind: 'lost' }]),
  );
  proxy.addRule((request) =>
    request.method === 'HEAD' && request.path === path ? { kind: 'busy' } : undefined,
  );

  const write = createBlobOnce(faulty.getBlockBlobClient(name), Buffer.from('{}'), { tags: {} });

  await expect(write).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
  await expect(write).rejects.toThrow(`${name}: HTTP 503 (ServerBusy)`);
}, 30_000);

test('a run lock taken but whose answer was lost, every retry refused, is let go: the next acquisition succeeds at once', async () => {
  const { faulty, direct } = await container();
  const path = faulty.containerName;
  let taken: string | undefined;
  proxy.addRule((request) => {
    if (request.path !== path || request.headers['x-ms-lease-action'] !== 'acquire') return undefined;
    taken ??= String(request.headers['x-ms-client-request-id']);
    if (String(request.headers['x-ms-client-request-id']) !== taken) return undefined;
    return proxy.injected.some((fault) => fault.path === path) ? { kind: 'busy' } : { kind: 'lost' };
  });

  const failed = new BlobRunLock(faulty, 60).acquire();

  await expect(failed).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
  await expect(failed).rejects.toThrow(`container ${path}: HTTP 503 (ServerBusy)`);
  const lock = new BlobRunLock(direct, 60);
  await lock.release(await lock.acquire());
}, 30_000);

test("a claim's lease taken but whose answer was lost, every retry refused, is let go: the next delivery can claim at once", async () => {
  const { faulty, direct } = await container();
  const runs = new BlobRunStore(faulty);
  const authorId = 'A'.repeat(64);
  let taken: string | undefined;
  proxy.addRule((request) => {
    if (!request.path.includes('/claims/') || request.headers['x-ms-lease-action'] !== 'acquire')
      return undefined;
    taken ??= String(request.headers['x-ms-client-request-id']);
    if (String(request.headers['x-ms-client-request-id']) !== taken) return undefined;
    return proxy.injected.some((fault) => fault.path.includes('/claims/'))
      ? { kind: 'busy' }
      : { kind: 'lost' };
  });

  const claim = runs.claimAuthor(RUN_ID, authorId, 'gallery-author-a', { leaseSeconds: 60 });

  await expect(claim).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
  const again = await new BlobRunStore(direct).claimAuthor(RUN_ID, authorId, 'gallery-author-a', {
    leaseSeconds: 60,
  });
  expect(again).toMatchObject({ claimedBy: 'gallery-author-a', madeNow: false });
  await again.hold?.release();
}, 30_000);

test('a tally append whose answer was lost counts that settlement twice: the count may come early, never late', async () => {
  const { faulty } = await container();
  const runs = new BlobRunStore(faulty);
  await runs.startSettledTally(RUN_ID, 3);
  proxy.addRule(faultSequence((request) => request.query.get('comp') === 'appendblock', [{ kind: 'lost' }]));

  expect(await runs.countSettled(RUN_ID)).toBe(2);
  expect(await runs.countSettled(RUN_ID)).toBe(3);
});
