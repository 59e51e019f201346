import { connect, type Socket } from 'node:net';
import { Agent, request } from 'undici';

import {
  createDemoCatalog,
  DEMO_AUTHORS,
  DEMO_UNKNOWN_AUTHOR_ID,
  GALLERY_COMMUNITY_ID,
  GALLERY_TENANT_ID,
  generateCatalogData,
  startCatalogSimulator,
  type CatalogData,
  type CatalogSimulator,
  type CatalogSimulatorOptions,
} from '../../dev/catalog-simulator';

const AUTHOR = 'A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718293A4B5C6D7E8F90';
const OTHER = 'F'.repeat(64);

/** 45 entities (5 unlisted) for AUTHOR, 7 (1 unlisted) for OTHER. */
function smallCatalog(seed = 7): CatalogData {
  return generateCatalogData({
    seed,
    authors: [
      { authorId: AUTHOR, name: 'Zoë "Z" Ångström', entities: 45, unlistedRatio: 5 / 45 },
      { authorId: OTHER, entities: 7, unlistedRatio: 1 / 7 },
    ],
  });
}

interface Envelope {
  value: Array<Record<string, unknown>>;
  count: number;
  total_count: number;
}

let agent: Agent;
const running: CatalogSimulator[] = [];

beforeEach(() => {
  agent = new Agent({ keepAliveTimeout: 10_000, connections: 16 });
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((simulator) => simulator.close()));
  await agent.close();
});

async function start(options: CatalogSimulatorOptions = {}): Promise<CatalogSimulator> {
  const simulator = await startCatalogSimulator({ data: smallCatalog(), ...options });
  running.push(simulator);
  return simulator;
}

async function get(simulator: CatalogSimulator, path: string, headers: Record<string, string> = {}) {
  const response = await request(`${simulator.url}${path}`, { dispatcher: agent, headers });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, text };
}

async function getJson<T = Envelope>(
  simulator: CatalogSimulator,
  path: string,
  headers: Record<string, string> = {},
) {
  const response = await get(simulator, path, headers);
  return { ...response, json: JSON.parse(response.text) as T };
}

function listPath(authorId: string, options: { top?: number; skip?: number } = {}): string {
  const query = new URLSearchParams({ $filter: `author/id eq '${authorId}'` });
  if (options.top !== undefined) query.set('$top', String(options.top));
  if (options.skip !== undefined) query.set('$skip', String(options.skip));
  return `/entities?${query.toString()}`;
}

function filterPath(filter: string, top = 100): string {
  return `/entities?${new URLSearchParams({ $filter: filter, $top: String(top) }).toString()}`;
}

function unwrap(item: Record<string, unknown>): Record<string, unknown> {
  return 'entity' in item ? (item.entity as Record<string, unknown>) : item;
}

describe('profile', () => {
  it('returns the profile with the documented fields, in order, looking the id up case-insensitively', async () => {
    const simulator = await start();
    const { status, headers, json } = await getJson<Record<string, unknown>>(
      simulator,
      `/users/${AUTHOR.toLowerCase()}`,
    );
    expect(status).toBe(200);
    expect(headers['content-type']).toBe('application/json; charset=utf-8');
    expect(Object.keys(json)).toEqual([
      'entities_count',
      'contribution_score',
      'scored_at',
      'contributed_at',
      'created_at',
      'updated_at',
      'name',
      'slugs',
      'tenant_id',
      'community_id',
      'id',
      '_links',
      'etag',
    ]);
    expect(json.id).toBe(AUTHOR);
    expect(json.name).toBe('Zoë "Z" Ångström');
    expect(json.tenant_id).toMatch(/^[0-9a-f]{32}$/);
    expect(json.community_id).toMatch(/^[0-9a-f]{32}$/);
    expect(json._links).toEqual({
      self: `https://catalog.azureml.net/tenants/${String(json.tenant_id)}/communities/${String(json.community_id)}/users/${AUTHOR}`,
    });
    expect(json.scored_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}\+00:00$/);
    expect(json.etag).toMatch(/^"[0-9a-f]{8}-0000-0000-0000-[0-9a-f]{12}"$/);
    expect(json.entities_count).toBe(45);
  });

  it('serves hand-built data keyed in any case, adding entities_count when the profile has none', async () => {
    const data: CatalogData = {
      authors: new Map([
        [
          AUTHOR.toLowerCase(),
          {
            profile: { id: AUTHOR, name: 'Hand Built' },
            entities: [
              { id: 'a'.repeat(32), author: { id: AUTHOR } },
              { id: 'b'.repeat(32), author: { id: AUTHOR }, hidden: true },
            ],
          },
        ],
      ]),
    };
    const simulator = await start({ data });
    expect((await get(simulator, `/users/${AUTHOR}`)).text).toBe(
      `{"entities_count":2,"id":"${AUTHOR}","name":"Hand Built"}`,
    );
    expect((await getJson(simulator, listPath(AUTHOR))).json).toEqual({
      value: [{ id: 'a'.repeat(32), author: { id: AUTHOR } }],
      count: 1,
      total_count: 1,
    });
    // The caller's object is copied, never changed.
    expect(data.authors.has(AUTHOR)).toBe(false);
  });

  it('counts only listed entities in entities_count when profileCountsUnlisted is false', async () => {
    const simulator = await start({ profileCountsUnlisted: false });
    const { json } = await getJson<Record<string, unknown>>(simulator, `/users/${AUTHOR}`);
    expect(json.entities_count).toBe(40);
  });

  it('answers 404 with an ASP.NET body for an unknown author and for unknown routes', async () => {
    const simulator = await start({ data: createDemoCatalog() });
    const unknown = await getJson<Record<string, unknown>>(simulator, `/users/${DEMO_UNKNOWN_AUTHOR_ID}`);
    expect(unknown.status).toBe(404);
    expect(Object.keys(unknown.json)).toEqual(['Message']);
    expect(unknown.json.Message).toEqual(expect.stringContaining(DEMO_UNKNOWN_AUTHOR_ID));
    const route = await getJson<Record<string, unknown>>(simulator, '/nothing/here');
    expect(route.status).toBe(404);
    expect(typeof route.json.Message).toBe('string');
  });

  it('echoes x-ms-client-request-id, and only when one was sent', async () => {
    const simulator = await start();
    const withId = await get(simulator, `/users/${AUTHOR}`, { 'x-ms-client-request-id': 'req-123' });
    expect(withId.headers['x-ms-client-request-id']).toBe('req-123');
    const withoutId = await get(simulator, listPath(AUTHOR));
    expect(withoutId.headers['x-ms-client-request-id']).toBeUndefined();
    expect(simulator.requestLog.map((entry) => entry.clientRequestId)).toEqual(['req-123', undefined]);
  });
});

describe('entity list', () => {
  it('pages by $skip/$top in a {value, count, total_count} envelope, in a stable natural order', async () => {
    const simulator = await start();
    const first = await getJson(simulator, listPath(AUTHOR, { top: 15 }));
    expect(Object.keys(first.json)).toEqual(['value', 'count', 'total_count']);
    expect(first.json).toMatchObject({ count: 15, total_count: 40 });
    const last = await getJson(simulator, listPath(AUTHOR, { top: 15, skip: 30 }));
    expect(last.json).toMatchObject({ count: 10, total_count: 40 });
    const beyond = await getJson(simulator, listPath(AUTHOR, { top: 15, skip: 40 }));
    expect(beyond.json).toEqual({ value: [], count: 0, total_count: 40 });

    const ids: string[] = [];
    for (let skip = 0; skip < 40; skip += 15) {
      const page = await getJson(simulator, listPath(AUTHOR, { top: 15, skip }));
      ids.push(...page.json.value.map((item) => String(unwrap(item).id)));
    }
    const listed = simulator.data.authors.get(AUTHOR)!.entities.filter((entity) => entity.hidden !== true);
    expect(ids).toEqual(listed.map((entity) => entity.id));
    expect(simulator.requestLog.at(-1)).toMatchObject({
      authorId: AUTHOR,
      skip: 30,
      top: 15,
      totalCount: 40,
      status: 200,
    });
  });

  it('defaults $top to 20 and caps it at maxTop without complaint', async () => {
    const simulator = await start({ faults: { maxTop: 25 } });
    expect((await getJson(simulator, listPath(AUTHOR))).json.count).toBe(20);
    expect((await getJson(simulator, listPath(AUTHOR, { top: 1000 }))).json).toMatchObject({
      count: 25,
      total_count: 40,
    });
    expect((await getJson(simulator, listPath(AUTHOR, { top: 0 }))).json).toMatchObject({
      count: 0,
      total_count: 40,
    });
    expect(simulator.requestLog.map((entry) => entry.top)).toEqual([20, 25, 0]);
  });

  it('caps at 100 by default', async () => {
    const simulator = await start({ data: createDemoCatalog() });
    const ada = DEMO_AUTHORS.find((author) => author.label === 'ada-lovelace')!;
    const { json } = await getJson(simulator, listPath(ada.authorId, { top: 500 }));
    expect(json.count).toBe(100);
    expect(json.total_count).toBe(ada.entities - ada.unlisted);
  });

  it.each([
    ['$top=-1', 'negative $top'],
    ['$top=abc', 'non-numeric $top'],
    ['$skip=1.5', 'fractional $skip'],
    ['$skip=', 'empty $skip'],
    ["$filter=author/id eq 'x", 'unterminated string'],
    ['$filter=author/id eq', 'missing operand'],
    ["$filter=author/id equals 'x'", 'unknown operator'],
    ["$filter=(author/id eq 'x'", 'unbalanced parenthesis'],
    ['$filter=1', 'non-boolean filter'],
    ['$filter=', 'empty filter'],
    ['$top=1&$top=2', 'repeated option'],
    ['$orderby=id sideways', 'bad $orderby'],
  ])('answers 400 {"Message"} for %s (%s)', async (query) => {
    const simulator = await start();
    const url = `/entities?${query.replace(/ /g, '%20')}`;
    const { status, json } = await getJson<Record<string, unknown>>(simulator, url);
    expect(status).toBe(400);
    expect(Object.keys(json)).toEqual(['Message']);
    expect(json.Message).toEqual(expect.stringContaining('not valid'));
  });

  it('ignores unknown query options', async () => {
    const simulator = await start();
    const { status, json } = await getJson(
      simulator,
      `${listPath(AUTHOR, { top: 5 })}&$count=true&$select=id&foo=bar`,
    );
    expect(status).toBe(200);
    expect(json.count).toBe(5);
  });

  it('lists every public entity of every author without a filter', async () => {
    const simulator = await start();
    const { json } = await getJson(simulator, '/entities?$top=100');
    expect(json.total_count).toBe(40 + 6);
  });

  it('evaluates eq, ne, and, or, parentheses and any() with doubled quotes', async () => {
    const data = smallCatalog();
    const entities = data.authors.get(AUTHOR)!.entities;
    const target = entities.find((entity) => entity.hidden !== true)!;
    target.name = 'Bob\'s "quoted" model';
    target.tags = ["o'reilly", 'ml'];
    const simulator = await start({ data });
    const listed = entities.filter((entity) => entity.hidden !== true);
    const total = async (filter: string) => (await getJson(simulator, filterPath(filter))).json.total_count;

    expect(await total(`author/id eq '${AUTHOR}' and name eq 'Bob''s "quoted" model'`)).toBe(1);
    expect(await total(`author/id eq '${AUTHOR}' and name ne 'Bob''s "quoted" model'`)).toBe(39);
    expect(await total(`author/id eq '${AUTHOR}' and tags/any(t: t eq 'o''reilly')`)).toBe(
      listed.filter((entity) => (entity.tags as string[]).includes("o'reilly")).length,
    );
    expect(await total(`author/id eq '${AUTHOR}' or author/id eq '${OTHER.toLowerCase()}'`)).toBe(46);
    expect(
      await total(`(author/id eq '${AUTHOR}' or author/id eq '${OTHER}') and tags/any(t: t eq 'ml')`),
    ).toBe(
      [...data.authors.values()]
        .flatMap((author) => author.entities)
        .filter((entity) => entity.hidden !== true && (entity.tags as string[]).includes('ml')).length,
    );
    expect(await total(`author/id eq '${AUTHOR}' and entity_type eq 1`)).toBe(
      listed.filter((entity) => String(entity.entity_type) === '1').length,
    );
    expect(await total(`author/id eq '${AUTHOR}' and id eq '${target.id}'`)).toBe(1);
  });

  it('supports $orderby on id, ascending and descending', async () => {
    const simulator = await start();
    const asc = await getJson(simulator, `${listPath(AUTHOR, { top: 100 })}&$orderby=id`);
    const desc = await getJson(simulator, `${listPath(AUTHOR, { top: 100 })}&$orderby=id%20desc`);
    const ascIds = asc.json.value.map((item) => String(unwrap(item).id));
    expect(ascIds).toEqual([...ascIds].sort());
    expect(desc.json.value.map((item) => String(unwrap(item).id))).toEqual([...ascIds].reverse());
  });

  it('with refuseOrderBy, answers any $orderby with an OData 400 and serves the natural order without it', async () => {
    const simulator = await start({ refuseOrderBy: true });
    const refused = await getJson<Record<string, unknown>>(
      simulator,
      `${listPath(AUTHOR, { top: 100 })}&$orderby=id`,
    );
    expect(refused.status).toBe(400);
    expect(refused.json.Message).toMatch(/not valid.*Order by 'id' is not allowed/);
    const natural = await getJson(simulator, listPath(AUTHOR, { top: 100 }));
    expect(natural.status).toBe(200);
    const ids = natural.json.value.map((item) => String(unwrap(item).id));
    const stored = simulator.data.authors
      .get(AUTHOR)!
      .entities.filter((entity) => entity.hidden !== true)
      .map((entity) => entity.id);
    expect(ids).toEqual(stored);
    expect(ids).not.toEqual([...ids].sort());
  });

  it('wraps a wrapRate share of items as {"entity": ...}, the same items every time', async () => {
    const none = await start();
    const all = await start({ wrapRate: 1 });
    const half = await start({ wrapRate: 0.5 });
    expect(
      (await getJson(none, listPath(AUTHOR, { top: 40 }))).json.value.some((item) => 'entity' in item),
    ).toBe(false);
    expect(
      (await getJson(all, listPath(AUTHOR, { top: 40 }))).json.value.every(
        (item) => Object.keys(item).join() === 'entity',
      ),
    ).toBe(true);
    const first = await get(half, listPath(AUTHOR, { top: 40 }));
    const wrapped = (JSON.parse(first.text) as Envelope).value.filter((item) => 'entity' in item).length;
    expect(wrapped).toBeGreaterThan(8);
    expect(wrapped).toBeLessThan(32);
    expect((await get(half, listPath(AUTHOR, { top: 40 }))).text).toBe(first.text);
  });

  it('sends entity_type both as an integer and as a string, and the documented entity fields', async () => {
    const simulator = await start({ data: createDemoCatalog() });
    const ada = DEMO_AUTHORS[0]!;
    const { json } = await getJson(simulator, listPath(ada.authorId, { top: 100 }));
    const types = json.value.map((item) => typeof unwrap(item).entity_type);
    expect(types).toContain('number');
    expect(types).toContain('string');
    for (const item of json.value) {
      const entity = unwrap(item);
      const kinds = Object.fromEntries(
        Object.entries(entity).map(([key, field]): [string, string] => [
          key,
          Array.isArray(field) ? 'array' : field === null ? 'null' : typeof field,
        ]),
      );
      expect(kinds).toMatchObject({
        id: 'string',
        name: 'string',
        summary: 'string',
        description: 'string',
        author: 'object',
        owner: 'object',
        tags: 'array',
        algorithms: 'array',
        slugs: 'array',
        hidden: 'boolean',
        updated_at: 'string',
        rating: 'number',
        comment_count: 'number',
        view_count: 'number',
        download_count: 'number',
        etag: 'string',
        _links: 'object',
      });
      expect(['string', 'null']).toContain(kinds.image_url);
      expect(entity.id).toMatch(/^[0-9a-f]{32}$/);
      expect(entity.hidden).toBe(false);
      expect(entity.author).toEqual({ id: ada.authorId, name: ada.name });
      expect(entity.owner).toMatchObject({ id: ada.authorId, name: ada.name });
      expect(entity.updated_at).toMatch(/\.\d{7}\+00:00$/);
      expect((entity._links as { self: string }).self).toBe(
        `https://catalog.azureml.net/tenants/${GALLERY_TENANT_ID}/communities/${GALLERY_COMMUNITY_ID}/entities/${String(entity.id)}`,
      );
    }
  });

  it('sends unicode, escaped characters and 17-digit numbers, byte-identically for the same seed', async () => {
    const a = await start({ data: createDemoCatalog(1) });
    const b = await start({ data: createDemoCatalog(1) });
    const c = await start({ data: createDemoCatalog(2) });
    const ada = DEMO_AUTHORS[0]!.authorId;
    const bodyA = (await get(a, listPath(ada, { top: 100 }))).text;
    expect((await get(b, listPath(ada, { top: 100 }))).text).toBe(bodyA);
    expect((await get(c, listPath(ada, { top: 100 }))).text).not.toBe(bodyA);
    expect(bodyA).toMatch(/[\u0080-\uffff]/); // non-ASCII as is
    expect(bodyA).toMatch(/\p{Extended_Pictographic}/u);
    expect(bodyA).toMatch(/[\u3040-\u30ff\u4e00-\u9fff]/);
    expect(bodyA).toContain('\\"');
    expect(bodyA).toContain('\\\\');
    expect(bodyA).toContain('\\n');
    expect(bodyA).toMatch(/"rating":\d\.\d{15,16}[,}]/); // .NET round-trip digits
    const profile = (await get(a, `/users/${ada}`)).text;
    expect(profile).toMatch(/"contribution_score":\d+\.\d{12,}/);
  });
});

describe('unlisted entities and tokens', () => {
  const total = async (simulator: CatalogSimulator, headers: Record<string, string>, authorId = AUTHOR) =>
    (await getJson(simulator, listPath(authorId, { top: 100 }), headers)).json;

  it('includes unlisted entities only for a valid, unexpired token of the author the filter names', async () => {
    const simulator = await start();
    const valid = simulator.issueToken(AUTHOR);
    const withToken = await total(simulator, { DataLabAccessToken: valid });
    expect(withToken.total_count).toBe(45);
    expect(withToken.value.filter((item) => unwrap(item).hidden === true)).toHaveLength(5);
    expect(simulator.requestLog.at(-1)).toMatchObject({ hadToken: true, tokenAccepted: true });
    expect(JSON.stringify(simulator.requestLog)).not.toContain(valid);

    // The filter's id may be in any case.
    expect(
      (await getJson(simulator, listPath(AUTHOR.toLowerCase(), { top: 100 }), { DataLabAccessToken: valid }))
        .json.total_count,
    ).toBe(45);
  });

  it.each([
    ['no token', () => undefined],
    ['an expired token', (s: CatalogSimulator) => s.issueToken(AUTHOR, { expiresInSeconds: -5 })],
    [
      'an expiresAt in the past',
      (s: CatalogSimulator) => s.issueToken(AUTHOR, { expiresAt: new Date(Date.now() - 60_000) }),
    ],
    ["another author's token", (s: CatalogSimulator) => s.issueToken(OTHER)],
    ['a mismatched author_id claim', (s: CatalogSimulator) => s.issueToken(AUTHOR, { authorIdClaim: OTHER })],
    ['garbage', () => 'not-a-jwt'],
    [
      'a token forged with another key',
      (s: CatalogSimulator) => {
        const [header, payload] = s.issueToken(AUTHOR).split('.');
        return `${header}.${payload}.${Buffer.from('forged').toString('base64url')}`;
      },
    ],
  ])('silently serves only public entities with %s', async (_label, makeToken) => {
    const simulator = await start();
    const token = makeToken(simulator);
    const response = await getJson(
      simulator,
      listPath(AUTHOR, { top: 100 }),
      token === undefined ? {} : { DataLabAccessToken: token },
    );
    expect(response.status).toBe(200);
    expect(response.json.total_count).toBe(40);
    expect(response.json.value.some((item) => unwrap(item).hidden === true)).toBe(false);
  });

  it("does not unlock another author's list, nor lists without a single author", async () => {
    const simulator = await start();
    const token = simulator.issueToken(AUTHOR);
    expect((await total(simulator, { DataLabAccessToken: token }, OTHER)).total_count).toBe(6);
    const anyAuthor = await getJson(simulator, '/entities?$top=100', { DataLabAccessToken: token });
    expect(anyAuthor.json.total_count).toBe(46);
  });

  it('issues HS256 JWTs with the documented claims, 8 hours by default, and remembers them', async () => {
    const simulator = await start();
    const token = simulator.issueToken(AUTHOR.toLowerCase());
    const [header, payload] = token
      .split('.')
      .slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()) as Record<string, unknown>);
    expect(header).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(payload).toMatchObject({ iss: 'MAMLSTS', author_id: AUTHOR });
    const { exp, iat, nbf, jti } = payload as { exp: number; iat: number; nbf: number; jti: string };
    expect(exp - iat).toBe(8 * 3600);
    expect(nbf).toBe(iat);
    expect(Math.abs(iat - Date.now() / 1000)).toBeLessThan(5);
    const second = simulator.issueToken(AUTHOR);
    expect(second).not.toBe(token);
    expect(simulator.issuedTokens).toEqual([token, second]);
    expect(jti).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('instrumentation and connections', () => {
  it('counts requests in flight, latency included, up to maxInFlight', async () => {
    const simulator = await start({ faults: { latencyMs: 500 } });
    const pending = Array.from({ length: 6 }, (_, i) => get(simulator, listPath(AUTHOR, { skip: i })));
    // Wait until all six have arrived; each then waits 500 ms, so all are in flight together.
    while (simulator.stats.requests < 6) await new Promise((resolve) => setTimeout(resolve, 5));
    const inFlightSeen = simulator.stats.inFlight;
    await Promise.all(pending);
    expect(inFlightSeen).toBe(6);
    expect(simulator.stats).toMatchObject({ requests: 6, inFlight: 0, maxInFlight: 6, byStatus: { 200: 6 } });
    expect(simulator.stats.connections).toBe(6);
    simulator.resetStats();
    expect(simulator.stats).toMatchObject({
      requests: 0,
      inFlight: 0,
      maxInFlight: 0,
      byStatus: {},
      connections: 0,
    });
    expect(simulator.requestLog).toHaveLength(0);
  });

  it('reuses keep-alive connections', async () => {
    const simulator = await start();
    // One connection in the pool: every request must reuse it.
    await agent.close();
    agent = new Agent({ keepAliveTimeout: 10_000, connections: 1 });
    for (let i = 0; i < 5; i++) await get(simulator, listPath(AUTHOR));
    expect(simulator.stats.connections).toBe(1);
    expect(simulator.requestLog.map((entry) => entry.seq)).toEqual([1, 2, 3, 4, 5]);
    const arrivals = simulator.requestLog.map((entry) => entry.arrivedAt);
    expect([...arrivals].sort((a, b) => a - b)).toEqual(arrivals);
  });

  it('closes promptly with idle keep-alive sockets and with requests waiting on latency', async () => {
    const simulator = await startCatalogSimulator({ data: smallCatalog() });
    // An idle pooled keep-alive connection, and a raw one that never sends anything.
    expect((await get(simulator, `/users/${AUTHOR}`)).status).toBe(200);
    const idle: Socket = connect(simulator.port, '127.0.0.1');
    await new Promise((resolve) => idle.once('connect', resolve));
    simulator.setFaults({ latencyMs: 30_000 });
    const waiting = get(simulator, `/users/${AUTHOR}`).then(
      () => 'answered',
      () => 'failed',
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(simulator.stats.inFlight).toBe(1);
    const started = performance.now();
    await simulator.close();
    expect(performance.now() - started).toBeLessThan(1000);
    expect(await waiting).toBe('failed');
    expect(simulator.stats.inFlight).toBe(0);
    await new Promise((resolve) => (idle.destroyed ? resolve(undefined) : idle.once('close', resolve)));
  });
});
