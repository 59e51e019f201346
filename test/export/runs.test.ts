import { GalleryExportError } from '../../src/contract/errors';
import { handlePoisonedWorkItem, handleWorkItem, startFanOutRun } from '../../src/export/fanOut';
import type { AuthorWorkItem, NotQueued } from '../../src/contract/workItem';
import type { WorkQueue } from '../../src/export/ports';
import { readRunStatus } from '../../src/export/finalizeRun';
import { planRun } from '../../src/export/planRun';
import { runInProcess } from '../../src/export/runInProcess';
import { fakeJwt, fakeWorld, type FakeWorld } from '../support/fakes';

const A = 'A'.repeat(64);
const B = 'B'.repeat(64);
const C = 'C'.repeat(64);
const NOW = new Date('2026-11-28T02:00:00Z');
const validToken = (authorId: string): string =>
  fakeJwt({ author_id: authorId, exp: NOW.getTime() / 1000 + 3600 });
const secret = (authorId: string, token: string | null = null): string =>
  JSON.stringify({ authorId, accessToken: token });

function worldWithAuthors(): FakeWorld {
  const world = fakeWorld(() => NOW);
  for (const id of [A, B, C]) {
    world.catalog.authors.set(id, {
      profile: { id, entities_count: 3 },
      entities: [{ id: `${id[0]}2` }, { id: `${id[0]}1` }, { id: `${id[0]}3`, hidden: true }],
    });
  }
  return world;
}

class MemoryQueue implements WorkQueue {
  readonly items: AuthorWorkItem[] = [];
  fail = false;
  /** Secrets whose message the queue refuses while it takes the others. */
  readonly refuse = new Set<string>();
  enqueue(items: readonly AuthorWorkItem[]): Promise<NotQueued[]> {
    if (this.fail) return Promise.reject(new GalleryExportError('STORAGE_UNAVAILABLE', 'queue down'));
    const notQueued: NotQueued[] = [];
    for (const item of items) {
      if (this.refuse.has(item.secretName))
        notQueued.push({ item, error: new GalleryExportError('STORAGE_UNAVAILABLE', 'message refused') });
      else this.items.push(item);
    }
    return Promise.resolve(notQueued);
  }
}

describe('runInProcess', () => {
  test('exports every author, one failure does not stop the others, and the record says what happened', async () => {
    const world = worldWithAuthors();
    world.registry.add('a', secret(A, validToken(A)), { taggedAuthorId: A });
    world.registry.add('b', secret(B), { taggedAuthorId: B });
    world.registry.add('c', secret(C, validToken(C)), { taggedAuthorId: C });
    world.registry.add('broken', 'not json');
    world.registry.add('off', secret(A), { enabled: false });
    world.registry.add('later', secret(B), { notBefore: new Date('2027-01-01T00:00:00Z') });
    world.catalog.failWith.set(C, new GalleryExportError('CATALOG_NOT_FOUND', 'no such author'));

    const record = await runInProcess(world.services, { trigger: 'cli' });

    expect(record.status).toBe('partial');
    const by = new Map(record.authors.map((author) => [author.secretName, author]));
    expect(by.get('gallery-author-a')).toMatchObject({
      status: 'complete',
      tokenStatus: 'valid',
      counts: { entities: 3, unlisted: 1 },
    });
    expect(by.get('gallery-author-b')).toMatchObject({
      status: 'complete',
      tokenStatus: 'absent',
      counts: { entities: 2, unlisted: 0 },
    });
    expect(by.get('gallery-author-c')).toMatchObject({
      status: 'failed',
      error: { code: 'CATALOG_NOT_FOUND' },
    });
    expect(by.get('gallery-author-broken')).toMatchObject({
      status: 'failed',
      authorId: null,
      error: { code: 'AUTHOR_CONFIG' },
    });
    expect(by.get('gallery-author-off')).toMatchObject({
      status: 'skipped',
      reason: 'the secret is disabled',
    });
    expect(by.get('gallery-author-later')!.reason).toMatch(/not yet valid \(valid from 2027-01-01/);
    expect(record.counts).toEqual({ authors: 6, complete: 2, failed: 2, skipped: 2, pending: 0 });

    // The stored record is the final one, and the lock is free again.
    expect(await world.runs.read(record.runId)).toMatchObject({ status: 'partial', counts: record.counts });
    expect(world.lock.holder).toBeUndefined();
    expect(world.logger.lines).toContain(
      `warn GalleryExport.RunFinished runId=${record.runId} status=partial complete=2 failed=2 skipped=2`,
    );
    // Only the valid token was ever sent; B had none.
    expect(new Set(world.catalog.tokensSeen)).toEqual(new Set([validToken(A), validToken(C), undefined]));
  });

  test('the entities file is sorted by id and holds each entity once', async () => {
    const world = worldWithAuthors();
    world.registry.add('a', secret(A, validToken(A)), { taggedAuthorId: A });
    const record = await runInProcess(world.services, { trigger: 'cli' });
    const path = `${record.authors[0]!.snapshot}entities.json`;
    const entities = JSON.parse(world.snapshots.storage.blobs.get(path)!.toString()) as Array<{ id: string }>;
    expect(entities.map((entity) => entity.id)).toEqual(['A1', 'A2', 'A3']);
  });

  test('a token for another author, an unreadable one and an expired one are never sent', async () => {
    const world = worldWithAuthors();
    world.registry.add('a', secret(A, validToken(B)), { taggedAuthorId: A });
    world.registry.add('b', secret(B, 'not-a-jwt'), { taggedAuthorId: B });
    world.registry.add('c', secret(C, fakeJwt({ author_id: C, exp: NOW.getTime() / 1000 - 1 })), {
      taggedAuthorId: C,
    });
    const record = await runInProcess(world.services, { trigger: 'cli' });
    expect(record.authors.map((author) => author.tokenStatus)).toEqual(['mismatch', 'unreadable', 'expired']);
    expect(world.catalog.tokensSeen.every((token) => token === undefined)).toBe(true);
  });

  test('a vault that cannot be listed fails the run at once, with a record saying so', async () => {
    const world = worldWithAuthors();
    world.registry.failList = new GalleryExportError(
      'VAULT_UNAVAILABLE',
      'Could not list the author secrets in Key Vault memory://vault',
    );
    await expect(runInProcess(world.services, { trigger: 'timer' })).rejects.toMatchObject({
      code: 'VAULT_UNAVAILABLE',
    });
    const [record] = [...world.runs.records.values()];
    expect(record).toMatchObject({ status: 'failed', error: { code: 'VAULT_UNAVAILABLE' } });
    expect(record!.error!.message).toContain('memory://vault');
    expect(world.lock.holder).toBeUndefined();
  });

  test('only one run at a time', async () => {
    const world = worldWithAuthors();
    await world.lock.acquire();
    await expect(runInProcess(world.services, { trigger: 'cli' })).rejects.toMatchObject({
      code: 'RUN_LOCKED',
    });
    expect(world.runs.records.size).toBe(0);
  });

  test('--author selects by tag, reads untagged secrets to find their author, and refuses unknown authors', async () => {
    const world = worldWithAuthors();
    world.registry.add('a', secret(A), { taggedAuthorId: A });
    world.registry.add('b-untagged', secret(B));
    world.registry.add('c', secret(C), { taggedAuthorId: C });
    const record = await runInProcess(world.services, { trigger: 'cli', authorIds: [A.toLowerCase(), B] });
    expect(record.authors.map((author) => author.secretName)).toEqual([
      'gallery-author-a',
      'gallery-author-b-untagged',
    ]);
    expect(record.requestedAuthors).toEqual([A, B]);

    const unknown = 'D'.repeat(64);
    await expect(
      runInProcess(world.services, { trigger: 'cli', authorIds: [unknown] }),
    ).rejects.toMatchObject({
      code: 'AUTHOR_NOT_REGISTERED',
      message: expect.stringContaining(unknown) as string,
    });
    expect(world.runs.records.size).toBe(1);
    expect(world.lock.holder).toBeUndefined();
    await expect(runInProcess(world.services, { trigger: 'cli', authorIds: ['nope'] })).rejects.toMatchObject(
      { code: 'USAGE' },
    );
  });

  test('two secrets for the same author export it once', async () => {
    const world = worldWithAuthors();
    world.registry.add('a', secret(A), { taggedAuthorId: A });
    world.registry.add('a-again', secret(A), { taggedAuthorId: A });
    const record = await runInProcess(world.services, { trigger: 'cli' });
    expect(record.authors[1]).toMatchObject({
      status: 'skipped',
      reason: 'same author as secret gallery-author-a',
    });
    expect(record.status).toBe('complete');
  });

  test('an abort fails the authors still running and the run is still finalised', async () => {
    const world = worldWithAuthors();
    world.registry.add('a', secret(A), { taggedAuthorId: A });
    world.registry.add('b', secret(B), { taggedAuthorId: B });
    world.catalog.hang.add(B);
    const controller = new AbortController();
    const running = runInProcess(world.services, {
      trigger: 'cli',
      signal: controller.signal,
      onEvent: (event) => {
        if (event.type === 'author-finished') controller.abort(new Error('interrupted'));
      },
    });
    const record = await running;
    expect(record.status).toBe('partial');
    expect(record.authors[1]).toMatchObject({
      status: 'failed',
      error: { code: 'ABORTED', message: 'Aborted: interrupted' },
    });
    expect(world.snapshots.storage.blobs.has(`${record.authors[0]!.snapshot}manifest.json`)).toBe(true);
    expect([...world.snapshots.storage.blobs.keys()].some((name) => name.includes(B))).toBe(false);
    expect(world.lock.holder).toBeUndefined();
  });

  test('an abort before the run starts writes nothing', async () => {
    const world = worldWithAuthors();
    world.registry.add('a', secret(A), { taggedAuthorId: A });
    const controller = new AbortController();
    controller.abort(new Error('interrupted'));
    await expect(
      runInProcess(world.services, { trigger: 'cli', signal: controller.signal }),
    ).rejects.toMatchObject({ code: 'ABORTED' });
    expect(world.runs.records.size).toBe(0);
    expect(world.lock.holder).toBeUndefined();
  });

  test('no authors registered is a complete, empty run', async () => {
    const world = worldWithAuthors();
    const record = await runInProcess(world.services, { trigger: 'timer' });
    expect(record).toMatchObject({ status: 'complete', counts: { authors: 0 } });
    expect(world.lock.holder).toBeUndefined();
  });
});

describe('fan-out', () => {
  test('one work item per author to export, holding no token; the last author to report finalises', async () => {
    const world = worldWithAuthors();
    world.registry.add('a', secret(A, validToken(A)), { taggedAuthorId: A });
    world.registry.add('b', secret(B), { taggedAuthorId: B });
    world.registry.add('off', secret(C), { enabled: false });
    const queue = new MemoryQueue();
    const planned = await startFanOutRun(world.services, queue, { trigger: 'timer' });
    expect(queue.items).toEqual([
      { v: 1, runId: planned.runId, secretName: 'gallery-author-a', trigger: 'timer' },
      { v: 1, runId: planned.runId, secretName: 'gallery-author-b', trigger: 'timer' },
    ]);
    expect(JSON.stringify(queue.items)).not.toContain(validToken(A));
    expect(world.lock.holder).toBeDefined();

    const firstResult = await handleWorkItem(world.services, queue.items[0]!);
    expect(firstResult).toMatchObject({
      retry: false,
      finalised: undefined,
      outcome: { status: 'complete' },
    });
    expect((await readRunStatus(world.services, planned.runId))!.counts).toMatchObject({
      complete: 1,
      pending: 1,
    });

    const last = await handleWorkItem(world.services, queue.items[1]!);
    expect(last.finalised).toMatchObject({
      status: 'complete',
      counts: { complete: 2, skipped: 1, pending: 0 },
    });
    expect(world.lock.holder).toBeUndefined();

    // A redelivered message changes nothing.
    const blobsBefore = world.snapshots.storage.blobs.size;
    const again = await handleWorkItem(world.services, queue.items[0]!);
    expect(again).toMatchObject({ retry: false, finalised: undefined });
    expect(world.snapshots.storage.blobs.size).toBe(blobsBefore);
  });

  test('the run finishes from its tally, even when a delivery stored its outcome and stopped before counting it', async () => {
    const world = worldWithAuthors();
    world.registry.add('a', secret(A), { taggedAuthorId: A });
    world.registry.add('b', secret(B), { taggedAuthorId: B });
    world.registry.add('c', secret(C), { taggedAuthorId: C });
    const queue = new MemoryQueue();
    const planned = await startFanOutRun(world.services, queue, { trigger: 'timer' });
    expect(world.runs.tallies.get(planned.runId)).toBe(0);
    const listings = jest.spyOn(world.runs, 'listOutcomes');

    // a: a delivery stored the outcome, then its process died before it counted (the tally misses a).
    const stopped = jest.spyOn(world.runs, 'countSettled').mockRejectedValueOnce(new Error('process killed'));
    await expect(handleWorkItem(world.services, queue.items[0]!)).rejects.toThrow('process killed');
    stopped.mockRestore();
    expect(world.runs.outcomes.size).toBe(1);
    // b and c settle: 2 of 3 counted, so neither checks the outcomes, and the run waits.
    for (const item of queue.items.slice(1)) {
      expect(await handleWorkItem(world.services, item)).toMatchObject({ finalised: undefined });
    }
    expect(listings).not.toHaveBeenCalled();
    expect(world.runs.records.get(planned.runId)).toMatchObject({ status: 'running' });
    // a's message comes back: its outcome is there; it is counted now and the run finishes.
    const redelivered = await handleWorkItem(world.services, queue.items[0]!);
    expect(redelivered.finalised).toMatchObject({ status: 'complete', counts: { complete: 3 } });
    expect(listings).toHaveBeenCalledTimes(1);
    expect(world.lock.holder).toBeUndefined();
    // Later duplicates only count again; the finished run stays as it is.
    expect(await handleWorkItem(world.services, queue.items[1]!)).toMatchObject({ finalised: undefined });
  });

  test('a transient failure asks for a retry; the poison handler records the last error', async () => {
    const world = worldWithAuthors();
    world.registry.add('a', secret(A), { taggedAuthorId: A });
    world.catalog.failWith.set(A, new GalleryExportError('CATALOG_UNAVAILABLE', 'catalog down'));
    const queue = new MemoryQueue();
    const planned = await startFanOutRun(world.services, queue, { trigger: 'http' });
    const result = await handleWorkItem(world.services, queue.items[0]!, { dequeueCount: 1 });
    expect(result.retry).toBe(true);
    expect(world.runs.outcomes.size).toBe(0);

    const finalised = await handlePoisonedWorkItem(world.services, queue.items[0]!);
    expect(finalised).toMatchObject({ status: 'failed' });
    expect(finalised!.authors[0]).toMatchObject({
      status: 'failed',
      authorId: A,
      error: { code: 'CATALOG_UNAVAILABLE', message: expect.stringContaining('catalog down') as string },
    });
    expect(planned.status).toBe('running');
  });

  test('a permanent failure is recorded at once', async () => {
    const world = worldWithAuthors();
    world.registry.add('a', secret(A), { taggedAuthorId: A });
    world.catalog.failWith.set(A, new GalleryExportError('CATALOG_NOT_FOUND', 'gone'));
    const queue = new MemoryQueue();
    await startFanOutRun(world.services, queue, { trigger: 'http' });
    const result = await handleWorkItem(world.services, queue.items[0]!);
    expect(result).toMatchObject({ retry: false, finalised: { status: 'failed' } });
  });

  test('when the queue cannot take the messages the run is settled as failed, not left running', async () => {
    const world = worldWithAuthors();
    world.registry.add('a', secret(A), { taggedAuthorId: A });
    const queue = new MemoryQueue();
    queue.fail = true;
    await expect(startFanOutRun(world.services, queue, { trigger: 'http' })).rejects.toMatchObject({
      code: 'STORAGE_UNAVAILABLE',
    });
    const [record] = [...world.runs.records.values()];
    expect(record).toMatchObject({ status: 'failed' });
    expect(world.lock.holder).toBeUndefined();
  });

  test('when the queue takes some messages and refuses others, only the refused authors are failed; the queued ones finish the run', async () => {
    const world = worldWithAuthors();
    world.registry.add('a', secret(A, validToken(A)), { taggedAuthorId: A });
    world.registry.add('b', secret(B), { taggedAuthorId: B });
    world.registry.add('c', secret(C, validToken(C)), { taggedAuthorId: C });
    const queue = new MemoryQueue();
    queue.refuse.add('gallery-author-b');
    await expect(startFanOutRun(world.services, queue, { trigger: 'timer' })).rejects.toMatchObject({
      code: 'STORAGE_UNAVAILABLE',
      message: expect.stringMatching(/: 1 of 3 authors could not be queued: message refused$/) as unknown,
    });
    expect(queue.items.map((item) => item.secretName).sort()).toEqual([
      'gallery-author-a',
      'gallery-author-c',
    ]);
    const [planned] = [...world.runs.records.values()];
    expect(planned).toMatchObject({ status: 'running' });

    const results = [];
    for (const item of queue.items) results.push(await handleWorkItem(world.services, item));
    expect(results.map((result) => result.outcome.status)).toEqual(['complete', 'complete']);
    const record = results[1]!.finalised!;
    expect(record).toMatchObject({ status: 'partial', counts: { complete: 2, failed: 1 } });
    const by = new Map(record.authors.map((author) => [author.secretName, author]));
    expect(by.get('gallery-author-b')).toMatchObject({
      status: 'failed',
      error: { code: 'STORAGE_UNAVAILABLE', message: 'Could not be queued: message refused' },
    });
    expect(world.lock.holder).toBeUndefined();
  });

  test('planRun keeps the lock for the fan-out run', async () => {
    const world = worldWithAuthors();
    world.registry.add('a', secret(A), { taggedAuthorId: A });
    const plan = await planRun(world.services, { trigger: 'timer' });
    expect(plan.record.lockLeaseId).toBe(plan.leaseId);
    await expect(planRun(world.services, { trigger: 'http' })).rejects.toMatchObject({ code: 'RUN_LOCKED' });
  });
});

describe('more of what a vault can hold', () => {
  test('two untagged secrets of one author: the author is exported once, the other secret skipped', async () => {
    const world = worldWithAuthors();
    world.registry.add('a-one', secret(A));
    world.registry.add('a-two', secret(A));
    const record = await runInProcess(world.services, { trigger: 'cli' });
    expect(record.authors.map((author) => author.status).sort()).toEqual(['complete', 'skipped']);
    const skipped = record.authors.find((author) => author.status === 'skipped')!;
    expect(skipped.reason).toMatch(/^same author as secret gallery-author-a-(one|two)$/);
    expect(record.status).toBe('complete');
  });

  test('an expired secret exports public data only, and the snapshot says why', async () => {
    const world = worldWithAuthors();
    world.registry.add('a', secret(A, validToken(A)), {
      taggedAuthorId: A,
      expiresOn: new Date('2026-11-27T00:00:00Z'),
    });
    const record = await runInProcess(world.services, { trigger: 'cli' });
    expect(record.authors[0]).toMatchObject({
      status: 'complete',
      tokenStatus: 'expired',
      counts: { entities: 2, unlisted: 0 },
    });
    expect(record.authors[0]!.warnings!.join(' ')).toMatch(
      /Key Vault secret expired at 2026-11-27T00:00:00.000Z/,
    );
    expect(world.catalog.tokensSeen.every((token) => token === undefined)).toBe(true);
  });

  test('the lock is renewed while a slow vault is listed', async () => {
    const world = worldWithAuthors();
    world.registry.add('a', secret(A), { taggedAuthorId: A });
    world.registry.listDelayMs = 120;
    // A 60 ms lease is renewed every 20 ms.
    await runInProcess({ ...world.services, lockSeconds: 0.06 }, { trigger: 'timer' });
    expect(world.lock.renewals).toBeGreaterThanOrEqual(3);
  });
});
