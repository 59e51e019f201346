import {
  generateCatalogData,
  serializeCatalogJson,
  startCatalogSimulator,
  type CatalogSimulator,
} from '../../dev/catalog-simulator';
import { CatalogClient } from '../../src/catalog/CatalogClient';
import { newCatalogFigures } from '../../src/contract/catalogApi';
import { EntitySpool } from '../../src/export/EntitySpool';

/** The client against the catalog simulator over real HTTP. */
const AUTHOR = 'AB'.repeat(32);
const OTHER = 'CD'.repeat(32);
let simulator: CatalogSimulator;

beforeEach(async () => {
  simulator = await startCatalogSimulator({
    data: generateCatalogData({
      seed: 7,
      authors: [
        { authorId: AUTHOR, entities: 250, unlistedRatio: 0.2 },
        { authorId: OTHER, entities: 3 },
      ],
    }),
  });
});

/** Every client a test makes is closed after it, whether or not the test got to its end. */
const clients: CatalogClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((catalog) => catalog.close()));
  await simulator.close();
});

function client(overrides: Partial<ConstructorParameters<typeof CatalogClient>[0]> = {}): CatalogClient {
  const catalog = new CatalogClient({
    baseUrl: simulator.url,
    concurrency: 4,
    retryTiming: { baseDelayMs: 5, maxDelayMs: 20 },
    ...overrides,
  });
  clients.push(catalog);
  return catalog;
}

async function listAll(
  catalog: CatalogClient,
  authorId: string,
  token?: string,
): Promise<{ ids: string[]; text: string }> {
  const spool = new EntitySpool();
  await catalog.listEntities(authorId, spool, { token });
  const chunks: Buffer[] = [];
  for await (const chunk of spool.sortedJson()) chunks.push(chunk);
  await spool.dispose();
  const text = Buffer.concat(chunks).toString('utf8');
  return { ids: (JSON.parse(text) as Array<{ id: string }>).map((entity) => entity.id), text };
}

test('the profile comes back exactly as the catalog sent it', async () => {
  const catalog = client();
  const profile = await catalog.getProfile(AUTHOR.toLowerCase());
  expect(profile.raw.toString('utf8')).toBe(
    serializeCatalogJson(simulator.data.authors.get(AUTHOR)!.profile),
  );
  expect(profile.entitiesCount).toBe(250);
  expect(simulator.requestLog[0]).toMatchObject({ path: `/users/${AUTHOR}`, hadToken: false });
});

test('with a valid token every page is read and unlisted entities are included, each once', async () => {
  const catalog = client({ pageSize: 100 });
  const token = simulator.issueToken(AUTHOR);
  const stats = newCatalogFigures();
  const spool = new EntitySpool();
  const result = await catalog.listEntities(AUTHOR, spool, { token, stats });
  await spool.dispose();
  expect(result).toMatchObject({ entities: 250, unlisted: 50, reportedByCatalog: 250, passes: 1 });
  const { ids } = await listAll(catalog, AUTHOR, token);
  expect(ids).toEqual(
    simulator.data.authors
      .get(AUTHOR)!
      .entities.map((entity) => entity.id)
      .sort(),
  );

  const lists = simulator.requestLog.filter((entry) => entry.path === '/entities');
  expect(lists.every((entry) => entry.hadToken && entry.tokenAccepted)).toBe(true);
  // The pages tile the list (each reports total_count, so no overlap is needed to check them).
  expect(lists.slice(0, 3).map((entry) => [entry.query.$top, entry.query.$skip])).toEqual([
    ['100', '0'],
    ['100', '100'],
    ['100', '200'],
  ]);
  expect(lists[0]!.query.$filter).toBe(`author/id eq '${AUTHOR}'`);
  expect(stats).toMatchObject({ requests: 3, pages: 3, passes: 1, retries: 0 });
});

test('without a token only public entities come back, and no header is sent', async () => {
  const catalog = client();
  const { ids } = await listAll(catalog, AUTHOR);
  expect(ids).toHaveLength(200);
  expect(simulator.requestLog.every((entry) => !entry.hadToken)).toBe(true);
});

test('an unknown author is CATALOG_NOT_FOUND at once, without retries', async () => {
  const catalog = client();
  await expect(catalog.getProfile('EF'.repeat(32))).rejects.toMatchObject({
    code: 'CATALOG_NOT_FOUND',
    statusCode: 404,
  });
  expect(simulator.stats.requests).toBe(1);
});

test('a malformed author ID never reaches the network', async () => {
  const catalog = client();
  await expect(catalog.getProfile("x' or 1 eq 1")).rejects.toMatchObject({ code: 'AUTHOR_CONFIG' });
  await expect(catalog.listEntities('AB'.repeat(31), new EntitySpool(), {})).rejects.toMatchObject({
    code: 'AUTHOR_CONFIG',
  });
  expect(simulator.stats.requests).toBe(0);
});

test('connections are kept alive and reused', async () => {
  const catalog = client({ concurrency: 2, pageSize: 10 });
  await listAll(catalog, AUTHOR);
  expect(simulator.stats.requests).toBeGreaterThanOrEqual(20);
  expect(simulator.stats.connections).toBeLessThanOrEqual(3);
});

test('a 5xx is retried with the same x-ms-client-request-id; the stats count it', async () => {
  simulator.setFaults({ perAuthor: { [OTHER]: { serverErrorRate: 1 } } });
  const catalog = client({ maxRetries: 2 });
  const stats = newCatalogFigures();
  await expect(catalog.getProfile(OTHER, { stats })).rejects.toMatchObject({
    code: 'CATALOG_UNAVAILABLE',
    message: expect.stringMatching(/answered HTTP 5\d\d \(3 attempts\)/) as string,
  });
  const ids = new Set(simulator.requestLog.map((entry) => entry.clientRequestId));
  expect(simulator.requestLog).toHaveLength(3);
  expect(ids.size).toBe(1);
  expect(stats).toMatchObject({ requests: 3, retries: 2 });
});

test('the per-request timeout is enforced and retried', async () => {
  simulator.setFaults({ latencyMs: 300 });
  const catalog = client({ timeoutMs: 100, maxRetries: 1 });
  await expect(catalog.getProfile(OTHER)).rejects.toMatchObject({
    code: 'CATALOG_UNAVAILABLE',
    message: expect.stringContaining('REQUEST_TIMEOUT') as string,
  });
  expect(simulator.stats.requests).toBe(2);
});

test('a page cap smaller than $top is handled', async () => {
  simulator.setFaults({ maxTop: 30 });
  const catalog = client({ pageSize: 100 });
  const token = simulator.issueToken(AUTHOR);
  const { ids } = await listAll(catalog, AUTHOR, token);
  expect(ids).toHaveLength(250);
});

test('wrapped items are unwrapped', async () => {
  await simulator.close();
  simulator = await startCatalogSimulator({
    data: generateCatalogData({ seed: 3, authors: [{ authorId: AUTHOR, entities: 40 }] }),
    wrapRate: 0.5,
  });
  const catalog = client();
  const { ids, text } = await listAll(catalog, AUTHOR, simulator.issueToken(AUTHOR));
  // A wrapper left in place would have no top-level id.
  expect(ids).toEqual(
    simulator.data.authors
      .get(AUTHOR)!
      .entities.map((entity) => entity.id)
      .sort(),
  );
  for (const entity of simulator.data.authors.get(AUTHOR)!.entities)
    expect(text).toContain(serializeCatalogJson(entity));
});

test('429s slow the whole client down, not just the request that got one; it recovers when they stop', async () => {
  const catalog = client({ concurrency: 8, pageSize: 10, maxRetries: 8 });
  simulator.setFaults({ throttleRate: 0.5, retryAfterSeconds: 0, seed: 3 });
  await listAll(catalog, AUTHOR);
  expect(catalog.limiter.throttleSignals).toBeGreaterThan(0);
  expect(catalog.limiter.limit).toBeLessThan(8);

  // A little latency, so requests overlap on the server and concurrency is visible there.
  simulator.setFaults({ throttleRate: 0, latencyMs: 5 });
  simulator.resetStats();
  for (let round = 0; round < 4; round++) await listAll(catalog, AUTHOR);
  expect(catalog.limiter.limit).toBe(8);
  expect(simulator.stats.maxInFlight).toBe(8);
});
