import {
  generateCatalogData,
  startCatalogSimulator,
  type CatalogFaults,
  type CatalogSimulator,
} from '../../dev/catalog-simulator';
import { CatalogClient } from '../../src/catalog/CatalogClient';
import { isGalleryExportError } from '../../src/contract/errors';
import type { Manifest } from '../../src/contract/formats';
import { EntitySpool } from '../../src/export/EntitySpool';
import { exportAuthor } from '../../src/export/exportAuthor';
import { fakeWorld } from '../support/fakes';

/**
 * A catalog that refuses `$orderby` while new entities are published during the export (issue 26, item
 * 6): the passes of an unordered list then differ by the newcomers, yet the entities that were there
 * before the export began form a consistent snapshot. The catalog simulator over real HTTP, the export
 * core on its in-memory fakes.
 */
const AUTHORS = ['A1', 'B2', 'C3'].map((pair) => pair.repeat(32));
const ENTITIES = 2_500;

let simulator: CatalogSimulator;
let catalog: CatalogClient;

async function start(faults: CatalogFaults): Promise<void> {
  simulator = await startCatalogSimulator({
    data: generateCatalogData({
      seed: 26,
      authors: AUTHORS.map((authorId) => ({ authorId, entities: ENTITIES, unlistedRatio: 0.1 })),
    }),
    refuseOrderBy: true,
    faults,
  });
  catalog = new CatalogClient({ baseUrl: simulator.url, retryTiming: { baseDelayMs: 1, maxDelayMs: 5 } });
}

afterEach(async () => {
  await catalog.close();
  await simulator.close();
});

interface Exported {
  authorId: string;
  manifest?: Manifest;
  ids?: string[];
  error?: unknown;
}

/** Every author at once through one client, as a run does; each author's stored ids, or its error. */
async function exportAll(): Promise<Exported[]> {
  const world = fakeWorld(() => new Date());
  return Promise.all(
    AUTHORS.map(async (authorId): Promise<Exported> => {
      try {
        const { manifest } = await exportAuthor(
          { ...world.services, catalog, createSpool: () => new EntitySpool() },
          {
            runId: '20261128T020000Z-c0ffee',
            trigger: 'cli',
            author: {
              secretName: `gallery-author-${authorId.slice(0, 4)}`,
              authorId,
              accessToken: simulator.issueToken(authorId),
            },
            writer: 'sole',
            guard: { fence: () => Promise.resolve(undefined), checkNotErased: () => Promise.resolve() },
          },
        );
        const entitiesPath = manifest.files.find((file) => file.name === 'entities.json')!.path;
        const stored = JSON.parse(world.snapshots.storage.blobs.get(entitiesPath)!.toString()) as Array<{
          id: string;
        }>;
        return { authorId, manifest, ids: stored.map((entity) => entity.id) };
      } catch (error) {
        return { authorId, error };
      }
    }),
  );
}

test('insert-only churn on an unordered catalog: every author completes with each entity that existed before the export exactly once, and the manifest names the newcomers left out', async () => {
  // Churn during a pass spoils that pass, ordered or not: a few events per author (as in the e2e test) let
  // self-consistent passes happen, and most of them then differ from the one before by newcomers.
  await start({
    seed: 6,
    churn: { rate: 0.05, maxEventsPerAuthor: 5, insertRatio: 1, insertedCreatedAt: 'now' },
  });
  const results = await exportAll();
  expect(results.filter((result) => result.error !== undefined)).toEqual([]);
  for (const { authorId, manifest, ids } of results) {
    const initial = simulator.initialEntityIds(authorId);
    const inserted = simulator.insertedEntityIds(authorId);
    const now = simulator.data.authors.get(authorId)!.entities.map((entity) => entity.id);
    expect(new Set(ids).size).toBe(ids!.length);
    // Every entity that was there before the export, once; nothing that never existed.
    const stored = new Set(ids);
    expect(initial.filter((id) => !stored.has(id))).toEqual([]);
    const known = new Set([...initial, ...inserted]);
    expect(ids!.every((id) => known.has(id))).toBe(true);
    expect(manifest!.counts.entities).toBe(ids!.length);

    const listing = manifest!.listing as Manifest['listing'] & {
      createdDuringExport?: { count: number; ids: string[] };
    };
    expect(listing).toMatchObject({ ordered: false });
    const leftOut = listing.createdDuringExport?.ids ?? [];
    expect(listing.createdDuringExport?.count ?? 0).toBe(leftOut.length);
    // What was left out was published during the export, and with it the store is complete: nothing else
    // asked for this author's list after the kept pass.
    expect(leftOut.every((id) => inserted.includes(id))).toBe(true);
    expect([...ids!, ...leftOut].sort()).toEqual([...now].sort());
    if (leftOut.length > 0) {
      expect(manifest!.warnings.join('\n')).toMatch(/created .*while .*export/i);
    }
  }
  // The catalog really changed under the export, and only by inserts.
  expect(simulator.stats.churn).toMatchObject({ deletes: 0 });
  const newcomers = AUTHORS.map((authorId) => simulator.insertedEntityIds(authorId).length);
  expect(newcomers.every((count) => count > 0)).toBe(true);
}, 60_000);

test('deletions on an unordered catalog: an author either fails CATALOG_INCONSISTENT or holds exactly the entities never deleted', async () => {
  await start({ seed: 5, churn: { rate: 0.05, insertRatio: 0 } });
  const results = await exportAll();
  for (const { authorId, ids, error } of results) {
    if (error !== undefined) {
      expect(isGalleryExportError(error, 'CATALOG_INCONSISTENT')).toBe(true);
      continue;
    }
    const deleted = new Set(simulator.deletedEntityIds(authorId));
    expect([...ids!].sort()).toEqual(
      simulator
        .initialEntityIds(authorId)
        .filter((id) => !deleted.has(id))
        .sort(),
    );
  }
  expect(simulator.stats.churn.deletes).toBeGreaterThan(0);
}, 60_000);

test('entities that appear with an old created_at are never left out: an author either fails CATALOG_INCONSISTENT or holds all of them that two passes agreed on', async () => {
  await start({ seed: 5, churn: { rate: 0.05, insertRatio: 1, insertedCreatedAt: 'past' } });
  const results = await exportAll();
  for (const { authorId, ids, manifest, error } of results) {
    if (error !== undefined) {
      expect(isGalleryExportError(error, 'CATALOG_INCONSISTENT')).toBe(true);
      continue;
    }
    // Nothing else listed this author after the kept pass: the store is the catalog as it is now.
    const now = simulator.data.authors.get(authorId)!.entities.map((entity) => entity.id);
    expect([...ids!].sort()).toEqual([...now].sort());
    expect(manifest!.listing).not.toHaveProperty('createdDuringExport');
  }
  expect(simulator.stats.churn.inserts).toBeGreaterThan(0);
}, 60_000);
