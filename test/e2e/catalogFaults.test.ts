import type { ContainerClient } from '@azure/storage-blob';
import { generateCatalogData, startCatalogSimulator } from '../../dev/catalog-simulator';
import type { Manifest, RunRecord } from '../../src/contract/formats';
import { runCli } from '../support/cliHarness';
import { validateStoredDocuments } from '../support/documents';
import { readAllBlobs } from '../support/storage';
import { createWorld, useAzuriteAndVault, waitFor, type World, type WorldOptions } from '../support/world';

/**
 * The catalog client under a hostile service: throttling, 5xx, resets, broken bodies, latency and data that
 * changes while it is paged, over real HTTP, through a whole export into Azurite.
 */
const servers = useAzuriteAndVault();

/** A world of authors with the given entity counts, at the concurrency these tests assume. */
function setUp(authors: Array<{ entities: number }>, simulator: WorldOptions['simulator']): Promise<World> {
  return createWorld(servers, authors, {
    simulator,
    env: { CATALOG_CONCURRENCY: '8', AUTHOR_CONCURRENCY: '16' },
  });
}

async function manifests(
  container: ContainerClient,
): Promise<{ byAuthor: Map<string, Manifest>; blobs: Awaited<ReturnType<typeof readAllBlobs>> }> {
  const blobs = await readAllBlobs(container, 'snapshots/');
  const byAuthor = new Map<string, Manifest>();
  for (const [name, blob] of blobs) {
    if (name.endsWith('/manifest.json')) {
      const manifest = JSON.parse(blob.body.toString()) as Manifest;
      byAuthor.set(manifest.authorId, manifest);
    }
  }
  return { byAuthor, blobs };
}

test('50 authors, up to 2,000 entities each, through 429s, 503s, resets, broken bodies, latency and churn: every entity that existed for the whole run, exactly once; no author fails', async () => {
  const sizes = Array.from({ length: 50 }, (_, index) => ({
    entities: index === 0 ? 2000 : 1 + ((index * 733) % 2000),
  }));
  const {
    catalog,
    env,
    container,
    authorIds: ids,
  } = await setUp(sizes, {
    faults: {
      seed: 42,
      throttleRate: 0.1,
      retryAfterSeconds: 1,
      serverErrorRate: 0.05,
      serverErrorStatuses: [503],
      resetRate: 0.02,
      malformedBodyRate: 0.05,
      truncatedBodyRate: 0.02,
      latencyMs: 10,
      churn: { rate: 0.05, maxEventsPerAuthor: 3 },
    },
  });
  try {
    const result = await runCli(['run', '--json'], env);
    const record = JSON.parse(result.stdout) as RunRecord;
    expect(record.authors.filter((author) => author.status !== 'complete')).toEqual([]);
    expect(result.code).toBe(0);

    // The service really was hostile...
    expect(catalog.stats.faults).toMatchObject({
      throttle: expect.any(Number) as number,
      'server-error': expect.any(Number) as number,
      reset: expect.any(Number) as number,
      malformed: expect.any(Number) as number,
      truncated: expect.any(Number) as number,
    });
    expect(catalog.stats.churn.inserts + catalog.stats.churn.deletes).toBeGreaterThan(10);
    // ...and never had more than CATALOG_CONCURRENCY requests in flight.
    expect(catalog.stats.maxInFlight).toBeLessThanOrEqual(8);
    expect(catalog.stats.maxInFlight).toBeGreaterThanOrEqual(2);

    const { byAuthor, blobs } = await manifests(container);
    for (const id of ids) {
      const manifest = byAuthor.get(id)!;
      const file = manifest.files.find((entry) => entry.name === 'entities.json')!;
      const exported = (JSON.parse(blobs.get(file.path)!.body.toString()) as Array<{ id: string }>).map(
        (entity) => entity.id,
      );
      expect(new Set(exported).size).toBe(exported.length);
      const deleted = new Set(catalog.deletedEntityIds(id));
      const wholeRun = catalog.initialEntityIds(id).filter((entityId) => !deleted.has(entityId));
      const exportedSet = new Set(exported);
      expect(wholeRun.filter((entityId) => !exportedSet.has(entityId))).toEqual([]);
      // Anything else exported was inserted during the run (or deleted after it was read), never invented.
      const known = new Set([...catalog.initialEntityIds(id), ...catalog.insertedEntityIds(id)]);
      expect(exported.filter((entityId) => !known.has(entityId))).toEqual([]);
      expect(manifest.counts.entities).toBe(exported.length);
    }
    const figures = record.authors.map((author) => author.catalog!);
    expect(figures.reduce((sum, entry) => sum + entry.retries, 0)).toBeGreaterThan(0);
    // Every 429 the service sent was seen and counted (requests are never cut off on the wire).
    expect(figures.reduce((sum, entry) => sum + entry.throttled, 0)).toBe(catalog.stats.faults.throttle);
    expect(record.authors.every((author) => typeof author.durationMs === 'number')).toBe(true);
    const { problems, checked } = await validateStoredDocuments(container);
    expect(problems).toEqual([]);
    expect(checked).toMatchObject({ manifest: 50, run: 1, outcome: 50 });
  } finally {
    await catalog.close();
  }
}, 180_000);

test.each([
  ['seconds', 1 as const],
  ['an HTTP date', 'http-date' as const],
])(
  'a Retry-After given in %s is never cut short',
  async (_, retryAfterSeconds) => {
    const { catalog, env } = await setUp([{ entities: 900 }, { entities: 420 }], {
      faults: { seed: 5, throttleRate: 0.4, retryAfterSeconds },
    });
    try {
      const result = await runCli(['run', '--json'], env);
      expect(result.code).toBe(0);
      const throttled = catalog.requestLog.filter((entry) => entry.status === 429);
      expect(throttled.length).toBeGreaterThan(3);
      for (const entry of throttled) {
        const retry = catalog.requestLog.find(
          (later) => later.seq > entry.seq && later.clientRequestId === entry.clientRequestId,
        );
        expect(retry).toBeDefined();
        expect(retry!.arrivedAt - entry.arrivedAt).toBeGreaterThanOrEqual(entry.retryAfterSeconds! * 1000);
      }
    } finally {
      await catalog.close();
    }
  },
  60_000,
);

test('a list that never stops moving fails that author with CATALOG_INCONSISTENT and no manifest; the others complete', async () => {
  const {
    catalog,
    env,
    container,
    authorIds: ids,
  } = await setUp([{ entities: 150 }, { entities: 250 }, { entities: 30 }], {
    faults: { seed: 9 },
  });
  catalog.setFaults({ perAuthor: { [ids[1]!]: { churn: { rate: 1 } } } });
  try {
    const result = await runCli(['run', '--json'], env);
    expect(result.code).toBe(1);
    const record = JSON.parse(result.stdout) as RunRecord;
    expect(record.status).toBe('partial');
    const failed = record.authors.find((author) => author.authorId === ids[1])!;
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'CATALOG_INCONSISTENT' } });
    expect(failed.error!.message).toMatch(/kept changing while it was paged/);
    const { byAuthor, blobs } = await manifests(container);
    expect([...byAuthor.keys()].sort()).toEqual([ids[0], ids[2]].sort());
    expect([...blobs.keys()].some((name) => name.includes(ids[1]!))).toBe(false);
  } finally {
    await catalog.close();
  }
}, 60_000);

test('a token the service silently ignores is caught by the profile count and recorded as a warning', async () => {
  const { catalog, env, container, authorIds: ids, prefix } = await setUp([{ entities: 40 }], {});
  // A token from another issuer looks valid to gallery-export but the catalog ignores it.
  const stranger = await startCatalogSimulator({ data: generateCatalogData({ seed: 1, authors: [] }) });
  servers.vault.setSecret(
    `${prefix}a0`,
    JSON.stringify({ authorId: ids[0], accessToken: stranger.issueToken(ids[0]!) }),
    { tags: { authorId: ids[0]! } },
  );
  await stranger.close();
  try {
    const result = await runCli(['run', '--json'], env);
    const record = JSON.parse(result.stdout) as RunRecord;
    const { byAuthor } = await manifests(container);
    const manifest = byAuthor.get(ids[0]!)!;
    expect(manifest.token.status).toBe('valid');
    expect(manifest.counts).toMatchObject({ entities: 36, unlisted: 0, profileEntitiesCount: 40 });
    expect(manifest.warnings.join(' ')).toMatch(
      /profile reports 40 entities but the list held 36: the catalog may have ignored the access token/,
    );
    expect(record.authors[0]!.warnings).toEqual(manifest.warnings);
  } finally {
    await catalog.close();
  }
}, 60_000);

test('aborting a run stops every request and wait at once and leaves nothing looking complete', async () => {
  const { catalog, env, container } = await setUp(
    Array.from({ length: 6 }, () => ({ entities: 400 })),
    // Every request is throttled for 30 s: only an abortable wait lets this run end inside the test timeout.
    { faults: { throttleRate: 1, retryAfterSeconds: 30, latencyMs: 20 } },
  );
  try {
    const controller = new AbortController();
    const running = runCli(['run', '--json'], env, { signal: controller.signal });
    await waitFor(() => catalog.stats.requests >= 4, 'the run to reach the catalog');
    controller.abort(new Error('interrupted'));
    // Taken at the abort itself: a request that arrives later was sent after it (loopback takes well
    // under the margin to carry a request already sent).
    const abortedAt = performance.now() + 50;
    const result = await running;
    expect(result.code).toBe(1);
    const record = JSON.parse(result.stdout) as RunRecord;
    expect(
      record.authors.every((author) => author.status === 'failed' && author.error?.code === 'ABORTED'),
    ).toBe(true);
    expect(catalog.stats.inFlight).toBe(0);
    expect(catalog.requestLog.filter((entry) => entry.arrivedAt > abortedAt)).toEqual([]);
    const { byAuthor } = await manifests(container);
    expect(byAuthor.size).toBe(0);
  } finally {
    await catalog.close();
  }
}, 20_000);
