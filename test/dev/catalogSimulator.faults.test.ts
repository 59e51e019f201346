import { Agent, request } from 'undici';

import {
  generateCatalogData,
  startCatalogSimulator,
  type CatalogData,
  type CatalogSimulator,
  type CatalogSimulatorOptions,
  type FaultKind,
} from '../../dev/catalog-simulator';

const AUTHOR = '0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF';
const OTHER = 'FEDCBA9876543210FEDCBA9876543210FEDCBA9876543210FEDCBA9876543210';

function catalog(): CatalogData {
  return generateCatalogData({
    seed: 11,
    authors: [
      { authorId: AUTHOR, entities: 60, unlistedRatio: 0.1 },
      { authorId: OTHER, entities: 7, unlistedRatio: 1 / 7 },
    ],
  });
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
  const simulator = await startCatalogSimulator({ data: catalog(), ...options });
  running.push(simulator);
  return simulator;
}

type Observation =
  | { kind: 'no-response'; error: string }
  | { kind: 'body-error'; status: number; error: string }
  | {
      kind: 'response';
      status: number;
      headers: Record<string, string | string[] | undefined>;
      text: string;
    };

/** What a client would see, without any retry: a reset, a body that breaks off, or a full response. */
async function observe(
  simulator: CatalogSimulator,
  path: string,
  headers: Record<string, string> = {},
): Promise<Observation> {
  let response;
  try {
    response = await request(`${simulator.url}${path}`, { dispatcher: agent, headers });
  } catch (error) {
    return { kind: 'no-response', error: String(error) };
  }
  try {
    const text = await response.body.text();
    return { kind: 'response', status: response.statusCode, headers: response.headers, text };
  } catch (error) {
    return { kind: 'body-error', status: response.statusCode, error: String(error) };
  }
}

function listPath(authorId: string, skip = 0, top = 10): string {
  return `/entities?${new URLSearchParams({ $filter: `author/id eq '${authorId}'`, $skip: String(skip), $top: String(top) }).toString()}`;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await fn(items[index] as T);
      }
    }),
  );
  return results;
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isEnvelope(body: unknown): boolean {
  if (typeof body !== 'object' || body === null) return false;
  const { value, count, total_count: total } = body as Record<string, unknown>;
  return (
    Array.isArray(value) &&
    typeof count === 'number' &&
    typeof total === 'number' &&
    value.every((item: unknown) => {
      const entity = typeof item === 'object' && item !== null && 'entity' in item ? item.entity : item;
      return (
        typeof entity === 'object' && entity !== null && typeof (entity as { id?: unknown }).id === 'string'
      );
    })
  );
}

/** An ASP.NET Web API error body: `{"Message": "..."}` and nothing else. */
function expectAspNetError(text: string): void {
  const body = parse(text) as Record<string, unknown>;
  expect(Object.keys(body)).toEqual(['Message']);
  expect(typeof body.Message).toBe('string');
}

const ALL_FAULTS = {
  throttleRate: 0.1,
  serverErrorRate: 0.1,
  resetRate: 0.1,
  truncatedBodyRate: 0.1,
  malformedBodyRate: 0.1,
};

describe('fault injection', () => {
  it('injects every fault at roughly its rate, each looking to the client as it should', async () => {
    const simulator = await start({ faults: { seed: 42, ...ALL_FAULTS } });
    const n = 400;
    const observations = await mapLimit(
      Array.from({ length: n }, (_, i) => i),
      8,
      (i) =>
        observe(simulator, listPath(AUTHOR, i % 50, 10 + Math.floor(i / 50)), {
          'x-ms-client-request-id': `r${i}`,
        }),
    );

    for (const kind of ['throttle', 'server-error', 'reset', 'truncated', 'malformed'] as const) {
      expect([kind, simulator.stats.faults[kind]]).toEqual([kind, expect.any(Number)]);
      expect(simulator.stats.faults[kind]).toBeGreaterThan(n * 0.1 * 0.5);
      expect(simulator.stats.faults[kind]).toBeLessThan(n * 0.1 * 1.5);
    }

    const byRequestId = new Map(simulator.requestLog.map((entry) => [entry.clientRequestId, entry]));
    observations.forEach((seen, i) => {
      const entry = byRequestId.get(`r${i}`)!;
      const fault: FaultKind | undefined = entry.fault;
      switch (fault) {
        case 'reset':
          expect(seen.kind).toBe('no-response');
          expect(entry.status).toBeUndefined();
          break;
        case 'throttle':
          expect(seen).toMatchObject({ kind: 'response', status: 429, headers: { 'retry-after': '1' } });
          break;
        case 'server-error':
          expect(seen.kind).toBe('response');
          expect([500, 502, 503, 504]).toContain(entry.status);
          if (seen.kind === 'response') expectAspNetError(seen.text);
          break;
        case 'truncated':
          if (entry.faultVariant === 'cut') expect(seen.kind).toBe('body-error');
          else {
            expect(seen).toMatchObject({ kind: 'response', status: 200 });
            if (seen.kind === 'response') expect(parse(seen.text)).toBeUndefined();
          }
          break;
        case 'malformed':
          expect(seen).toMatchObject({ kind: 'response', status: 200 });
          if (seen.kind === 'response') expect(isEnvelope(parse(seen.text))).toBe(false);
          break;
        case undefined:
          expect(seen).toMatchObject({ kind: 'response', status: 200 });
          if (seen.kind === 'response') expect(isEnvelope(parse(seen.text))).toBe(true);
          break;
      }
      if (seen.kind === 'response') expect(seen.headers['x-ms-client-request-id']).toBe(`r${i}`);
    });
  });

  it('reproduces the same faults for the same seed, whatever the order and concurrency', async () => {
    const paths = Array.from({ length: 120 }, (_, i) => listPath(AUTHOR, i));
    const run = async (seed: number, order: string[], concurrency: number) => {
      const simulator = await start({ faults: { seed, ...ALL_FAULTS } });
      await mapLimit(order, concurrency, (path) => observe(simulator, path));
      return Object.fromEntries(
        simulator.requestLog.map((entry): [string, string] => [
          entry.query.$skip ?? '',
          `${entry.fault}/${entry.faultVariant}/${entry.status}`,
        ]),
      );
    };
    const sequential = await run(7, paths, 1);
    const concurrentReversed = await run(7, [...paths].reverse(), 12);
    const otherSeed = await run(8, paths, 1);
    expect(concurrentReversed).toEqual(sequential);
    expect(otherSeed).not.toEqual(sequential);
  });

  it('gives each retry of a request its own draw, and replays the same sequence after resetData()', async () => {
    const simulator = await start({ faults: { seed: 3, throttleRate: 0.5, retryAfterSeconds: 0 } });
    const attempts = async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 24; i++) {
        const seen = await observe(simulator, listPath(AUTHOR), { 'x-ms-client-request-id': 'same-id' });
        statuses.push(seen.kind === 'response' ? seen.status : 0);
      }
      return statuses;
    };
    const first = await attempts();
    expect(first).toContain(429);
    expect(first).toContain(200);
    simulator.resetData();
    expect(await attempts()).toEqual(first);
  });

  it('sends Retry-After as whole seconds or as an HTTP date', async () => {
    const simulator = await start({ faults: { throttleRate: 1, retryAfterSeconds: 3 } });
    const seconds = await observe(simulator, `/users/${AUTHOR}`);
    expect(seconds).toMatchObject({ kind: 'response', status: 429, headers: { 'retry-after': '3' } });
    if (seconds.kind === 'response') expectAspNetError(seconds.text);
    expect(simulator.requestLog[0]).toMatchObject({ fault: 'throttle', retryAfterSeconds: 3, status: 429 });

    simulator.setFaults({ retryAfterSeconds: 'http-date' });
    const before = Date.now();
    const dated = await observe(simulator, `/users/${AUTHOR}`);
    if (dated.kind !== 'response') throw new Error('expected a response');
    const header = String(dated.headers['retry-after']);
    expect(header).toMatch(
      /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$/,
    );
    const after = Date.now();
    const at = Date.parse(header);
    // The next whole second plus one: at least one second after the answer, at most two.
    expect(at).toBeGreaterThan(before);
    expect(at).toBeLessThanOrEqual(after + 2_000);
    const logged = simulator.requestLog[1]!.retryAfterSeconds!;
    expect(logged).toBeGreaterThan(0);
    expect(logged).toBeLessThanOrEqual(2);
  });

  it('answers server errors with the configured statuses and spreads over the defaults', async () => {
    const only503 = await start({ faults: { serverErrorRate: 1, serverErrorStatuses: [503] } });
    const defaults = await start({ faults: { serverErrorRate: 1 } });
    const statuses = new Set<number>();
    for (let i = 0; i < 40; i++) {
      const a = await observe(only503, listPath(AUTHOR, i));
      expect(a).toMatchObject({ kind: 'response', status: 503 });
      const b = await observe(defaults, listPath(AUTHOR, i));
      if (b.kind === 'response') statuses.add(b.status);
    }
    expect([...statuses].sort()).toEqual([500, 502, 503, 504]);
  });

  it('truncates bodies both ways: cut off mid-body, and short with a matching Content-Length', async () => {
    const simulator = await start({ faults: { truncatedBodyRate: 1 } });
    const seen = await mapLimit(
      Array.from({ length: 30 }, (_, i) => i),
      4,
      (i) => observe(simulator, listPath(AUTHOR, i)),
    );
    const variants = simulator.requestLog.map((entry) => entry.faultVariant);
    expect(variants).toContain('cut');
    expect(variants).toContain('broken');
    for (const observation of seen) {
      if (observation.kind === 'response') {
        expect(observation.status).toBe(200);
        expect(Number(observation.headers['content-length'])).toBe(Buffer.byteLength(observation.text));
        expect(parse(observation.text)).toBeUndefined();
      } else {
        expect(observation.kind).toBe('body-error');
      }
    }
    expect(seen.filter((o) => o.kind === 'body-error')).toHaveLength(
      variants.filter((v) => v === 'cut').length,
    );
  });

  it('sends every malformed variant for lists and profiles, always with status 200', async () => {
    const simulator = await start({ faults: { malformedBodyRate: 1 } });
    for (let i = 0; i < 40; i++) {
      const list = await observe(simulator, listPath(AUTHOR, i));
      expect(list).toMatchObject({ kind: 'response', status: 200 });
      if (list.kind === 'response') expect(isEnvelope(parse(list.text))).toBe(false);
      const profile = await observe(simulator, `/users/${AUTHOR}?n=${i}`);
      expect(profile).toMatchObject({ kind: 'response', status: 200 });
      if (profile.kind === 'response') {
        const body = parse(profile.text) as { id?: unknown } | null | undefined;
        expect(typeof body === 'object' && body !== null && typeof body.id === 'string').toBe(false);
      }
    }
    const variants = (path: string) =>
      new Set(simulator.requestLog.filter((e) => e.path === path).map((e) => e.faultVariant));
    expect(variants('/entities')).toEqual(
      new Set(['value-not-array', 'no-value', 'items-without-id', 'null', 'html']),
    );
    expect(variants(`/users/${AUTHOR}`)).toEqual(
      new Set(['string', 'list-envelope', 'profile-without-id', 'null', 'html']),
    );
    // A 404 stays a 404: only successful answers are replaced.
    expect((await observe(simulator, `/users/${'9'.repeat(64)}`)) as unknown).toMatchObject({ status: 404 });
  });

  it('applies perAuthor overrides to that author’s profile and list only', async () => {
    const simulator = await start({
      faults: { perAuthor: { [OTHER.toLowerCase()]: { throttleRate: 1, retryAfterSeconds: 0 } } },
    });
    expect(await observe(simulator, `/users/${AUTHOR}`)).toMatchObject({ status: 200 });
    expect(await observe(simulator, listPath(AUTHOR))).toMatchObject({ status: 200 });
    expect(await observe(simulator, `/users/${OTHER}`)).toMatchObject({ status: 429 });
    expect(await observe(simulator, listPath(OTHER.toLowerCase()))).toMatchObject({ status: 429 });
    expect(simulator.requestLog.map((entry) => entry.authorId)).toEqual([AUTHOR, AUTHOR, OTHER, OTHER]);
  });

  it('delays answers by latencyMs plus jitter', async () => {
    const simulator = await start({ faults: { latencyMs: 60, latencyJitterMs: 40 } });
    const started = performance.now();
    await observe(simulator, `/users/${AUTHOR}`);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(59);
    expect(elapsed).toBeLessThan(1000);
  });

  it('rejects impossible fault settings up front', async () => {
    await expect(startCatalogSimulator({ faults: { throttleRate: 1.5 } })).rejects.toThrow(/throttleRate/);
    const simulator = await start();
    expect(() => simulator.setFaults({ serverErrorStatuses: [404] })).toThrow(/5xx/);
  });
});

describe('churn', () => {
  const ids = (simulator: CatalogSimulator, authorId: string) =>
    simulator.data.authors.get(authorId)!.entities.map((e) => e.id);

  it('changes the data on list requests and keeps the bookkeeping consistent', async () => {
    const simulator = await start({ faults: { seed: 5, churn: { rate: 1 } } });
    const initial = simulator.initialEntityIds(AUTHOR);
    expect(initial).toEqual(ids(simulator, AUTHOR));

    const positions: number[] = [];
    for (let i = 0; i < 40; i++) {
      const before = new Set(ids(simulator, AUTHOR));
      await observe(simulator, listPath(AUTHOR, 0, 1));
      const after = ids(simulator, AUTHOR);
      const added = after.findIndex((id) => !before.has(id));
      if (added >= 0) positions.push(added === after.length - 1 ? -1 : added);
    }
    const inserted = simulator.insertedEntityIds(AUTHOR);
    const deleted = simulator.deletedEntityIds(AUTHOR);
    expect(inserted.length + deleted.length).toBe(40);
    expect(simulator.stats.churn.inserts + simulator.stats.churn.deletes).toBe(40);
    expect(inserted.length).toBeGreaterThan(8);
    expect(deleted.length).toBeGreaterThan(8);
    expect(positions.some((position) => position >= 0)).toBe(true); // not always appended

    const current = new Set(ids(simulator, AUTHOR));
    const deletedSet = new Set(deleted);
    const survivors = initial.filter((id) => !deletedSet.has(id));
    expect(survivors.every((id) => current.has(id))).toBe(true);
    const expected = new Set([...survivors, ...inserted.filter((id) => !deletedSet.has(id))]);
    expect(current).toEqual(expected);

    // The profile follows the live data; profiles are not churned.
    const profile = await observe(simulator, `/users/${AUTHOR}`);
    if (profile.kind !== 'response') throw new Error('expected a response');
    expect((parse(profile.text) as { entities_count: number }).entities_count).toBe(current.size);
    expect(inserted.length + deleted.length).toBe(40);
    // Other authors are untouched.
    expect(ids(simulator, OTHER)).toEqual(simulator.initialEntityIds(OTHER));
  });

  it('stops after maxEventsPerAuthor, deletes unlisted entities too, and inserts when nothing is left', async () => {
    const capped = await start({ faults: { churn: { rate: 1, maxEventsPerAuthor: 3 } } });
    for (let i = 0; i < 10; i++) await observe(capped, listPath(AUTHOR, i));
    expect(capped.insertedEntityIds(AUTHOR).length + capped.deletedEntityIds(AUTHOR).length).toBe(3);

    const deleting = await start({ faults: { churn: { rate: 1, insertRatio: 0 } } });
    const hidden = deleting.data.authors
      .get(OTHER)!
      .entities.filter((e) => e.hidden === true)
      .map((e) => e.id);
    for (let i = 0; i < 8; i++) await observe(deleting, listPath(OTHER, i));
    expect(deleting.deletedEntityIds(OTHER)).toHaveLength(7);
    expect(deleting.deletedEntityIds(OTHER)).toEqual(expect.arrayContaining(hidden));
    expect(deleting.insertedEntityIds(OTHER)).toHaveLength(1);
  });

  it('with rate 1, no two requests of a pass see the same data', async () => {
    const simulator = await start({ faults: { churn: { rate: 1 } } });
    const snapshots: string[] = [];
    for (let skip = 0; skip < 60; skip += 20) {
      await observe(simulator, listPath(AUTHOR, skip, 20));
      snapshots.push(ids(simulator, AUTHOR).join());
    }
    expect(new Set(snapshots).size).toBe(snapshots.length);
    expect(simulator.requestLog.every((entry) => entry.status === 200)).toBe(true);
  });

  it("insert-only churn with insertedCreatedAt 'now' adds entities published at the request, and removes none", async () => {
    const simulator = await start({
      faults: { seed: 3, churn: { rate: 1, insertRatio: 1, insertedCreatedAt: 'now' } },
    });
    const initial = simulator.initialEntityIds(AUTHOR);
    const before = Date.now();
    for (let i = 0; i < 5; i++) await observe(simulator, listPath(AUTHOR, i));
    const after = Date.now();
    expect(simulator.deletedEntityIds(AUTHOR)).toEqual([]);
    const inserted = simulator.insertedEntityIds(AUTHOR);
    expect(inserted).toHaveLength(5);
    const entities = simulator.data.authors.get(AUTHOR)!.entities;
    expect(entities.map((entity) => entity.id).sort()).toEqual([...initial, ...inserted].sort());
    for (const id of inserted) {
      const entity = entities.find((candidate) => candidate.id === id)!;
      // The catalog's format: 7 fractional digits and an offset.
      expect(entity.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}\+00:00$/);
      const createdMs = Date.parse(String(entity.created_at).slice(0, 23) + 'Z');
      expect(createdMs).toBeGreaterThanOrEqual(before);
      expect(createdMs).toBeLessThanOrEqual(after);
      expect(entity.updated_at).toBe(entity.created_at);
    }
    // By default an inserted entity carries a seeded date years back, like an older one that shows up.
    const past = await start({ faults: { seed: 3, churn: { rate: 1, insertRatio: 1 } } });
    await observe(past, listPath(AUTHOR, 0));
    const [old] = past.insertedEntityIds(AUTHOR);
    const oldEntity = past.data.authors.get(AUTHOR)!.entities.find((entity) => entity.id === old)!;
    expect(Date.parse(String(oldEntity.created_at).slice(0, 23) + 'Z')).toBeLessThan(before - 86_400_000);
  });

  it('refuses an unknown insertedCreatedAt', async () => {
    await expect(
      start({ faults: { churn: { rate: 1, insertedCreatedAt: 'soon' as 'now' } } }),
    ).rejects.toThrow(/insertedCreatedAt/);
  });

  it('churns the same way for the same seed and request sequence', async () => {
    const run = async () => {
      const simulator = await start({ faults: { seed: 9, churn: { rate: 0.5 } } });
      for (let i = 0; i < 20; i++) await observe(simulator, listPath(AUTHOR, i));
      return {
        ids: ids(simulator, AUTHOR),
        inserted: simulator.insertedEntityIds(AUTHOR),
        deleted: simulator.deletedEntityIds(AUTHOR),
      };
    };
    const a = await run();
    const b = await run();
    expect(b).toEqual(a);
    expect(a.inserted.length + a.deleted.length).toBeGreaterThan(3);
    expect(a.inserted.length + a.deleted.length).toBeLessThan(17);
  });

  it('resetData() restores the starting data and clears the bookkeeping', async () => {
    const simulator = await start({ faults: { churn: { rate: 1 } } });
    const initial = simulator.initialEntityIds(AUTHOR);
    for (let i = 0; i < 5; i++) await observe(simulator, listPath(AUTHOR, i));
    expect(ids(simulator, AUTHOR)).not.toEqual(initial);
    simulator.resetData();
    expect(ids(simulator, AUTHOR)).toEqual(initial);
    expect(simulator.insertedEntityIds(AUTHOR)).toEqual([]);
    expect(simulator.deletedEntityIds(AUTHOR)).toEqual([]);
  });
});
