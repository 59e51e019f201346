import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CatalogClient } from '../../src/catalog/CatalogClient';
import { EntitySpool } from '../../src/export/EntitySpool';
import { exportAuthor } from '../../src/export/exportAuthor';
import { serializeDocument, type Manifest } from '../../src/contract/formats';
import { schemaProblems } from '../../src/contract/schemas';
import { fakeJwt, fakeWorld } from '../support/fakes';

/**
 * The client against a second, independent catalog implementation with the quirks a real ASP.NET/OData
 * service might have and the project's simulator does not: a refused $orderby, a MaxTop answered with
 * 400, total_count only on the first page, a byte order mark, numeric ids, a 401 for a bad token.
 */
const AUTHOR = 'AB'.repeat(32);

interface OtherEntity {
  id: string | number;
  name: string;
  hidden: boolean;
  created_at?: string;
}

interface Quirks {
  refuseOrderBy?: boolean;
  /**
   * Changes the data when a pass begins (an unordered request for $skip=0), before answering it: the
   * pass itself then sees one state throughout, and differs from the one before.
   */
  onPassStart?: (entities: OtherEntity[], pass: number) => void;
  /** The catalog's clock runs this far ahead of this machine's (its Date header). */
  clockOffsetMs?: number;
  /** No Date header at all. */
  noDate?: boolean;
  maxTop?: number;
  totalOnFirstPageOnly?: boolean;
  bom?: boolean;
  numericIds?: boolean;
  noTotal?: boolean;
  rejectToken?: boolean;
}

async function otherCatalog(
  count: number,
  quirks: Quirks,
): Promise<{ url: string; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const entities: OtherEntity[] = Array.from({ length: count }, (_, index) => ({
    id: quirks.numericIds ? count - index : `e${String(count - index).padStart(4, '0')}`,
    name: `Entity ${index}`,
    hidden: index % 5 === 0,
    created_at: '2017-03-01T10:00:00.1234567+00:00',
  }));
  let passes = 0;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push(`${url.pathname}${url.search}`);
    const send = (status: number, body: unknown): void => {
      const text = `${quirks.bom ? '\uFEFF' : ''}${JSON.stringify(body)}`;
      if (quirks.noDate) res.sendDate = false;
      if (quirks.clockOffsetMs !== undefined)
        res.setHeader('date', new Date(Date.now() + quirks.clockOffsetMs).toUTCString());
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(text);
    };
    const token = req.headers.datalabaccesstoken;
    if (quirks.rejectToken && token)
      return send(401, { Message: 'Authorization has been denied for this request.' });
    if (url.pathname === `/users/${AUTHOR}`)
      return send(200, { id: AUTHOR, name: 'Other', entities_count: count });
    if (url.pathname !== '/entities') return send(404, { Message: 'Not found' });
    if (quirks.refuseOrderBy && url.searchParams.has('$orderby'))
      return send(400, { Message: "The query parameter '$orderby' is not supported." });
    const top = Number(url.searchParams.get('$top') ?? 20);
    const skip = Number(url.searchParams.get('$skip') ?? 0);
    if (skip === 0 && !url.searchParams.has('$orderby')) quirks.onPassStart?.(entities, ++passes);
    if (quirks.maxTop !== undefined && top > quirks.maxTop) {
      return send(400, { Message: `The limit of '${quirks.maxTop}' for Top query has been exceeded.` });
    }
    const visible = entities.filter((entity) => token || !entity.hidden);
    const value = visible.slice(skip, skip + top);
    if (quirks.noTotal) return send(200, value);
    const withTotal = !quirks.totalOnFirstPageOnly || skip === 0;
    return send(200, { value, count: value.length, ...(withTotal ? { total_count: visible.length } : {}) });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function exportFrom(
  catalogUrl: string,
  token: string | null,
): Promise<{
  ids: Array<string | number>;
  warnings: string[];
  includesUnlisted: boolean;
  manifest: Manifest;
}> {
  const world = fakeWorld();
  const catalog = new CatalogClient({
    baseUrl: catalogUrl,
    pageSize: 100,
    retryTiming: { baseDelayMs: 1, maxDelayMs: 5 },
    // The fake world's clock, which the token's expiry is set from.
    now: () => world.services.now().getTime(),
  });
  try {
    const result = await exportAuthor(
      { ...world.services, catalog, createSpool: () => new EntitySpool() },
      {
        runId: '20261128T020000Z-abc123',
        trigger: 'cli',
        author: { secretName: 'gallery-author-x', authorId: AUTHOR, accessToken: token },
        writer: 'shared',
        guard: { fence: () => Promise.resolve(undefined), checkNotErased: () => Promise.resolve() },
      },
    );
    const entitiesPath = result.manifest.files[1]!.path;
    const entities = JSON.parse(world.snapshots.storage.blobs.get(entitiesPath)!.toString()) as Array<{
      id: string | number;
    }>;
    return {
      ids: entities.map((entity) => entity.id),
      warnings: result.manifest.warnings,
      includesUnlisted: result.manifest.includesUnlisted,
      manifest: result.manifest,
    };
  } finally {
    await catalog.close();
  }
}

const validToken = fakeJwt({
  author_id: AUTHOR,
  exp: Math.floor(Date.parse('2026-11-28T02:00:00Z') / 1000) + 3600,
});

test('a catalog that refuses $orderby is asked again without it', async () => {
  const server = await otherCatalog(250, { refuseOrderBy: true });
  try {
    const { ids } = await exportFrom(server.url, validToken);
    expect(ids).toHaveLength(250);
    expect(server.requests.filter((request) => request.includes('orderby'))).toHaveLength(1);
  } finally {
    await server.close();
  }
});

test('a $top over the MaxTop answered with 400 is halved until accepted', async () => {
  const server = await otherCatalog(130, { maxTop: 30 });
  try {
    const { ids } = await exportFrom(server.url, validToken);
    expect(new Set(ids).size).toBe(130);
    expect(server.requests.some((request) => request.includes('$top=25'))).toBe(true);
  } finally {
    await server.close();
  }
});

test('total_count on the first page only is enough', async () => {
  const server = await otherCatalog(250, { totalOnFirstPageOnly: true });
  try {
    expect((await exportFrom(server.url, validToken)).ids).toHaveLength(250);
  } finally {
    await server.close();
  }
});

test.each([0, 1, 2, 99, 100, 101, 250])(
  'no total_count at all, %i entities: paged to the end, and it ends',
  async (count) => {
    const server = await otherCatalog(count, { noTotal: true });
    try {
      const { ids } = await exportFrom(server.url, validToken);
      expect(new Set(ids).size).toBe(count);
      expect(server.requests.length).toBeLessThan(count / 50 + 5);
    } finally {
      await server.close();
    }
  },
);

test('a one-item-per-page catalog without total_count ends', async () => {
  const server = await otherCatalog(3, { noTotal: true, maxTop: 1 });
  try {
    expect((await exportFrom(server.url, validToken)).ids).toHaveLength(3);
  } finally {
    await server.close();
  }
});

test('a byte order mark is tolerated; numeric ids sort as numbers', async () => {
  const server = await otherCatalog(12, { bom: true, numericIds: true });
  try {
    const { ids } = await exportFrom(server.url, validToken);
    expect(ids).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  } finally {
    await server.close();
  }
});

test('a catalog that refuses the token (401) still gives the public entities, and says so', async () => {
  const server = await otherCatalog(10, { rejectToken: true });
  try {
    const result = await exportFrom(server.url, validToken);
    expect(result.ids).toHaveLength(8);
    expect(result.includesUnlisted).toBe(false);
    expect(result.warnings.join(' ')).toMatch(/refused the access token \(HTTP 401\)/);
  } finally {
    await server.close();
  }
});

test('a 400 for a $top above the MaxTop does not turn ordering off: only a refused $orderby does', async () => {
  const server = await otherCatalog(260, { maxTop: 50 });
  try {
    const { ids, manifest } = await exportFrom(server.url, validToken);
    expect(new Set(ids).size).toBe(260);
    const lists = server.requests.filter((request) => request.startsWith('/entities'));
    // One probe without $orderby (the same page, refused too: so the 400 was about $top), then every
    // request ordered again.
    const unordered = lists.filter((request) => !request.includes('$orderby=id'));
    expect(unordered).toHaveLength(1);
    expect(lists.indexOf(unordered[0]!)).toBe(1);
    expect(manifest.listing).toMatchObject({ ordered: true });
  } finally {
    await server.close();
  }
});

test('an unordered listing is read twice before it is trusted, and the manifest says it was unordered', async () => {
  const server = await otherCatalog(250, { refuseOrderBy: true });
  try {
    const { ids, manifest } = await exportFrom(server.url, validToken);
    expect(new Set(ids).size).toBe(250);
    const unordered = server.requests.filter(
      (request) => request.startsWith('/entities') && !request.includes('orderby'),
    );
    // Three pages of 100 (overlapping by one), each read in two passes that must agree.
    expect(unordered.length).toBeGreaterThanOrEqual(6);
    expect(manifest.listing).toMatchObject({ ordered: false, passes: 2 });
  } finally {
    await server.close();
  }
});

// ---------------------------------------------------------------------------------------------------------
// An unordered catalog whose data changes between passes (issue 26, item 6).

/** `created_at` as a catalog whose clock runs `offsetMs` ahead of this one writes it (100 ns ticks, offset). */
function catalogTimestamp(offsetMs = 0): string {
  return new Date(Date.now() + offsetMs).toISOString().replace('Z', '0000+00:00');
}

/** From the second pass on, one entity is published (at the front of the list) as each pass begins. */
function publishing(createdAt: () => string | undefined): Quirks['onPassStart'] {
  return (entities, pass) => {
    if (pass === 1) return;
    const stamp = createdAt();
    entities.unshift({
      id: `n${String(pass).padStart(2, '0')}`,
      name: `Published during pass ${pass}`,
      hidden: false,
      ...(stamp === undefined ? {} : { created_at: stamp }),
    });
  };
}

async function expectInconsistent(quirks: Quirks): Promise<void> {
  const server = await otherCatalog(250, { refuseOrderBy: true, ...quirks });
  try {
    await expect(exportFrom(server.url, validToken)).rejects.toMatchObject({
      code: 'CATALOG_INCONSISTENT',
      message: expect.stringMatching(/unordered entity list .* differed between every two passes/) as string,
    });
  } finally {
    await server.close();
  }
}

test.each([
  ['on time', 0],
  ['an hour ahead of this machine', 3_600_000],
  ['an hour behind this machine', -3_600_000],
])(
  'unordered, with entities published during the export (catalog clock %s): the entities that were there before are kept, each once, and the newcomers left out are named',
  async (_clock, offsetMs) => {
    let entities: OtherEntity[] = [];
    const server = await otherCatalog(250, {
      refuseOrderBy: true,
      clockOffsetMs: offsetMs,
      onPassStart: (list, pass) => {
        entities = list;
        publishing(() => catalogTimestamp(offsetMs))!(list, pass);
      },
    });
    try {
      const { ids, manifest, warnings } = await exportFrom(server.url, validToken);
      const stored = ids.map(String);
      expect(new Set(stored).size).toBe(stored.length);
      const originals = Array.from({ length: 250 }, (_, index) => `e${String(index + 1).padStart(4, '0')}`);
      expect(originals.filter((id) => !stored.includes(id))).toEqual([]);
      const listing = manifest.listing as Manifest['listing'] & {
        createdDuringExport?: { count: number; ids: string[] };
      };
      expect(listing).toMatchObject({ ordered: false });
      const leftOut = listing.createdDuringExport?.ids ?? [];
      expect(leftOut.length).toBeGreaterThan(0);
      expect(listing.createdDuringExport?.count).toBe(leftOut.length);
      expect(leftOut.every((id) => id.startsWith('n'))).toBe(true);
      // Kept and left out together are exactly the catalog as the last pass saw it.
      expect([...stored, ...leftOut].sort()).toEqual(entities.map((entity) => String(entity.id)).sort());
      expect(manifest.counts.entities).toBe(stored.length);
      expect(manifest.counts.reportedByCatalog).toBe(stored.length + leftOut.length);
      expect(warnings.join('\n')).toMatch(/created .*while .*export/i);
      // The manifest's schema knows the field, and a manifest without it (an older one) stays valid.
      expect(schemaProblems('manifest', JSON.parse(serializeDocument(manifest).toString()))).toEqual([]);
      const { createdDuringExport: _left, ...olderListing } = listing;
      expect(schemaProblems('manifest', { ...manifest, listing: olderListing })).toEqual([]);
      const tooMany = { count: 1001, ids: Array.from({ length: 1001 }, (_, index) => `n${index}`) };
      expect(
        schemaProblems('manifest', { ...manifest, listing: { ...listing, createdDuringExport: tooMany } }),
      ).not.toEqual([]);
    } finally {
      await server.close();
    }
  },
  20_000,
);

test.each([
  ['with a created_at from before the export', () => '2019-06-01T08:00:00.0000000+00:00'],
  ['without a created_at', () => undefined],
  ['with a created_at without a time zone', () => catalogTimestamp().slice(0, 27)],
  ['with a created_at that is not a date', () => 'just now'],
  ['with a created_at behind the Date the catalog sends', () => catalogTimestamp(-3_600_000)],
])(
  'unordered, with entities that appear between passes %s: not provably new, so refused (CATALOG_INCONSISTENT)',
  async (_case, createdAt) => {
    await expectInconsistent({ onPassStart: publishing(createdAt) });
  },
  20_000,
);

test('unordered, published during the export but no Date header to read the catalog clock by: refused', async () => {
  await expectInconsistent({ noDate: true, onPassStart: publishing(() => catalogTimestamp()) });
}, 20_000);

test('unordered, an entity deleted between passes: refused', async () => {
  await expectInconsistent({
    onPassStart: (entities, pass) => {
      if (pass > 1) entities.splice(pass * 7, 1);
    },
  });
}, 20_000);

test('unordered, an entity changed between passes: refused', async () => {
  await expectInconsistent({
    onPassStart: (entities, pass) => {
      if (pass > 1) entities[10]!.name = `Renamed in pass ${pass}`;
    },
  });
}, 20_000);

test('unordered, a newcomer that was there in the pass before is kept, not left out', async () => {
  // Published once, before the second pass: the second and third passes agree, the newcomer included.
  const server = await otherCatalog(120, {
    refuseOrderBy: true,
    onPassStart: (entities, pass) => {
      if (pass === 2) publishing(() => catalogTimestamp())!(entities, pass);
    },
  });
  try {
    const { ids, manifest } = await exportFrom(server.url, validToken);
    expect(ids).toHaveLength(121);
    expect(ids).toContain('n02');
    expect(manifest.listing).not.toHaveProperty('createdDuringExport');
  } finally {
    await server.close();
  }
}, 20_000);
