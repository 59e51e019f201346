import { generateCatalogData } from '../../dev/catalog-simulator';
import type { Manifest, RunRecord } from '../../src/contract/formats';
import { expectArchiveSound, fingerprintSnapshots } from '../support/archive';
import { runCli } from '../support/cliHarness';
import { readAllBlobs } from '../support/storage';
import { createWorld, useAzuriteAndVault, worldAuthorId } from '../support/world';

/** Drills: one author the catalog answers with garbage; one author whose entities are huge. */
const servers = useAzuriteAndVault();

test('the catalog returning garbage for one author: that author fails, the rest complete', async () => {
  const world = await createWorld(servers, 4, { env: { CATALOG_MAX_RETRIES: '2' } });
  try {
    expect((await runCli(['run'], world.env)).code).toBe(0);
    const earlier = await fingerprintSnapshots(world.container);
    world.catalog.setFaults({ perAuthor: { [world.authorIds[2]!]: { malformedBodyRate: 1 } } });
    const result = await runCli(['run', '--json'], world.env);
    expect(result.code).toBe(1);
    const record = JSON.parse(result.stdout) as RunRecord;
    const bad = record.authors.find((author) => author.authorId === world.authorIds[2])!;
    expect(bad).toMatchObject({ status: 'failed', error: { code: 'CATALOG_INVALID' } });
    expect(record.counts).toMatchObject({ complete: 3, failed: 1 });
    await expectArchiveSound(world.container, earlier);
  } finally {
    await world.catalog.close();
  }
}, 30_000);

test('an author with very large entities is read in smaller pages and exported without taking the process down', async () => {
  const data = generateCatalogData({
    seed: 5,
    authors: [
      { authorId: worldAuthorId(100), entities: 40 },
      { authorId: worldAuthorId(101), entities: 20 },
    ],
  });
  // 40 entities of about 2 MB each: one 100-entity page would be ~80 MB, over the client's 64 MB limit.
  const big = data.authors.get(worldAuthorId(100))!;
  big.entities.forEach((entity, index) => {
    entity.description = `${index}:${'Ω'.repeat(1_000_000)}`;
  });
  const world = await createWorld(servers, data);
  try {
    const result = await runCli(['run', '--json'], world.env);
    expect(result.code).toBe(0);
    const record = JSON.parse(result.stdout) as RunRecord;
    expect(record.counts).toMatchObject({ complete: 2, failed: 0 });
    const huge = record.authors.find((author) => author.authorId === worldAuthorId(100))!;
    expect(huge.counts!.entities).toBe(40);
    // Asked for 100, then 50, then 25 at a time: each page under the client's response limit.
    const asked = world.catalog.requestLog.filter(
      (entry) => entry.path === '/entities' && entry.authorId === worldAuthorId(100),
    );
    expect([...new Set(asked.map((entry) => entry.query.$top))]).toEqual(['100', '50', '25']);
    const blobs = await readAllBlobs(world.container, huge.snapshot);
    const manifest = JSON.parse(blobs.get(`${huge.snapshot}manifest.json`)!.body.toString()) as Manifest;
    expect(manifest.files[1]!.bytes).toBeGreaterThan(80_000_000);
    await expectArchiveSound(world.container, new Map());
  } finally {
    await world.catalog.close();
  }
}, 120_000);
