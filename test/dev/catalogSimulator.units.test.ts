import { parseFaults } from '../../dev/cli/localCommand';
import {
  createDemoCatalog,
  DEMO_AUTHORS,
  DEMO_UNKNOWN_AUTHOR_ID,
  evaluateFilter,
  formatCatalogNumber,
  generateCatalogData,
  ODataFilterError,
  parseFilter,
  requiredEqualities,
  SeededRandom,
  serializeCatalogJson,
  signJwt,
  verifyJwt,
} from '../../dev/catalog-simulator';

describe('odataFilter', () => {
  const entity = {
    id: 'abc',
    name: "Bob's model",
    entity_type: '7',
    hidden: false,
    rating: 4.5,
    author: { id: 'ABCDEF', name: 'Zoë' },
    tags: ['ml', "o'reilly"],
    items: [{ entity: { id: 'x1' } }, { entity: { id: 'x2' } }],
  };
  const matches = (filter: string) => evaluateFilter(parseFilter(filter), entity);

  it('reads doubled quotes inside string literals', () => {
    expect(parseFilter("name eq 'Bob''s model'")).toEqual({
      kind: 'compare',
      operator: 'eq',
      left: { kind: 'path', segments: ['name'] },
      right: { kind: 'literal', value: "Bob's model" },
    });
    expect(matches("name eq 'Bob''s model'")).toBe(true);
    expect(matches("name eq ''''")).toBe(false);
    expect(parseFilter("name eq ''''")).toMatchObject({ right: { value: "'" } });
  });

  it.each([
    ["author/id eq 'abcdef'", true],
    ["author/id ne 'abcdef'", false],
    ["author/id eq 'ABCDEF' and hidden eq false", true],
    ["author/id eq 'nobody' or hidden eq false", true],
    ["author/id eq 'nobody' or (hidden eq true and rating gt 1)", false],
    ["not (author/id eq 'nobody')", true],
    ["tags/any(t: t eq 'o''reilly')", true],
    ["tags/any(t: t eq 'ML')", false],
    ['tags/any()', true],
    ["tags/all(t: t ne 'r')", true],
    ["items/any(i: i/entity/id eq 'x2')", true],
    ['entity_type eq 7', true],
    ["entity_type eq '7'", true],
    ['rating ge 4.5 and rating lt 5', true],
    ['rating eq -1', false],
    ['missing eq null', true],
    ['hidden', false],
    ['true', true],
  ])('%s -> %s', (filter, expected) => {
    expect(matches(filter)).toBe(expected);
  });

  it.each([
    "name eq 'open",
    'name eq',
    'eq name',
    "name equals 'x'",
    "(name eq 'x'",
    "name eq 'x')",
    "name eq 'x' and",
    'tags/any(t t eq 1)',
    'tags/all()',
    "'just a string'",
    '42',
    'name eq 12abc',
    'name # 1',
    'author/',
    '',
    '   ',
  ])('rejects %j with a position', (filter) => {
    expect(() => parseFilter(filter)).toThrow(ODataFilterError);
    try {
      parseFilter(filter);
    } catch (error) {
      expect((error as ODataFilterError).position).toBeGreaterThanOrEqual(0);
      expect((error as Error).message).toMatch(/at position \d+$/);
    }
  });

  it('finds the single author a filter requires, only through and', () => {
    expect(
      requiredEqualities(parseFilter("author/id eq 'A' and tags/any(t: t eq 'ml')"), 'author/id'),
    ).toEqual(['A']);
    expect(requiredEqualities(parseFilter("'A' eq author/id"), 'author/id')).toEqual(['A']);
    expect(requiredEqualities(parseFilter("author/id eq 'A' or author/id eq 'B'"), 'author/id')).toEqual([]);
    expect(requiredEqualities(parseFilter("not (author/id eq 'A')"), 'author/id')).toEqual([]);
  });
});

describe('jwt', () => {
  const secret = Buffer.from('test-secret');
  const now = 1_800_000_000;
  const claims = { iss: 'MAMLSTS', author_id: 'AB', exp: now + 60, iat: now, nbf: now, jti: 'j' };

  it('verifies its own tokens and names why others fail', () => {
    expect(verifyJwt(signJwt(claims, secret), secret, now)).toEqual({ valid: true, claims });
    expect(verifyJwt(signJwt(claims, secret), Buffer.from('other'), now)).toEqual({
      valid: false,
      reason: 'bad-signature',
    });
    expect(verifyJwt(signJwt(claims, secret), secret, now + 60)).toEqual({ valid: false, reason: 'expired' });
    expect(verifyJwt(signJwt(claims, secret), secret, now - 1)).toEqual({
      valid: false,
      reason: 'not-yet-valid',
    });
    expect(verifyJwt(signJwt({ ...claims, iss: 'someone' }, secret), secret, now)).toEqual({
      valid: false,
      reason: 'wrong-issuer',
    });
    expect(verifyJwt('a.b', secret, now)).toEqual({ valid: false, reason: 'malformed' });
    expect(verifyJwt('not a token', secret, now)).toEqual({ valid: false, reason: 'malformed' });
    const [, payload, signature] = signJwt(claims, secret).split('.');
    const none = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
    expect(verifyJwt(`${none}.${payload}.${signature}`, secret, now)).toEqual({
      valid: false,
      reason: 'unsupported-algorithm',
    });
  });
});

describe('catalog data', () => {
  const spec = {
    seed: 99,
    authors: [
      { authorId: 'ab'.repeat(32), name: 'First', entities: 50, unlistedRatio: 0.2 },
      { entities: 10 },
      { entities: 0 },
    ],
  };
  const serialize = (data: ReturnType<typeof generateCatalogData>) =>
    serializeCatalogJson([...data.authors].map(([id, author]) => [id, author.profile, author.entities]));

  it('is deterministic for a seed and differs between seeds', () => {
    expect(serialize(generateCatalogData(spec))).toBe(serialize(generateCatalogData(spec)));
    expect(serialize(generateCatalogData({ ...spec, seed: 100 }))).not.toBe(
      serialize(generateCatalogData(spec)),
    );
  });

  it("keeps one author's data when another author's spec changes", () => {
    const a = generateCatalogData(spec);
    const b = generateCatalogData({
      ...spec,
      authors: [{ ...spec.authors[0]!, entities: 5 }, ...spec.authors.slice(1)],
    });
    const second = (data: typeof a) => [...data.authors.values()][1]!;
    expect(serializeCatalogJson(second(b).entities)).toBe(serializeCatalogJson(second(a).entities));
  });

  it('stores upper-case author ids, exact unlisted counts and unique 32-hex entity ids', () => {
    const data = generateCatalogData(spec);
    const ids = [...data.authors.keys()];
    expect(ids[0]).toBe('AB'.repeat(32));
    expect(ids.every((id) => /^[0-9A-F]{64}$/.test(id))).toBe(true);
    const first = data.authors.get('AB'.repeat(32))!;
    expect(first.entities.filter((e) => e.hidden === true)).toHaveLength(10);
    expect(first.profile).toMatchObject({ id: 'AB'.repeat(32), name: 'First', entities_count: 50 });
    const all = [...data.authors.values()].flatMap((author) => author.entities.map((e) => e.id));
    expect(new Set(all).size).toBe(all.length);
    expect(all.every((id) => /^[0-9a-f]{32}$/.test(id))).toBe(true);
  });

  it('serializes numbers with .NET round-trip digits and strings with JSON escapes', () => {
    expect(formatCatalogNumber(86.351575190956922)).toBe('86.351575190956922');
    expect(formatCatalogNumber(0.1)).toBe('0.1');
    expect(formatCatalogNumber(4.5)).toBe('4.5');
    expect(formatCatalogNumber(42)).toBe('42');
    expect(formatCatalogNumber(-0)).toBe('0');
    expect(formatCatalogNumber(1e-7)).toBe('1E-7');
    expect(formatCatalogNumber(Number.NaN)).toBe('null');
    const value = {
      a: 'quote " backslash \\ newline \n tab \t é 🚀',
      b: [1, 2.5, null, true],
      c: undefined,
      d: { e: 86.351575190956922 },
    };
    const text = serializeCatalogJson(value);
    expect(text).toBe(
      '{"a":"quote \\" backslash \\\\ newline \\n tab \\t é 🚀","b":[1,2.5,null,true],"d":{"e":86.351575190956922}}',
    );
    expect(JSON.parse(text)).toEqual({ a: value.a, b: value.b, d: value.d });
  });

  it('never uses Math.random', () => {
    const spy = jest.spyOn(Math, 'random');
    generateCatalogData(spec);
    createDemoCatalog();
    expect(spy).not.toHaveBeenCalled();
    spy.mockRestore();
  });

  it('has a well-distributed PRNG', () => {
    const random = SeededRandom.fromSeed(1);
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 10_000; i++) buckets[random.int(10)]!++;
    expect(Math.min(...buckets)).toBeGreaterThan(850);
    expect(Math.max(...buckets)).toBeLessThan(1150);
  });
});

describe('demo catalog', () => {
  it('describes six authors whose data matches the description', () => {
    const data = createDemoCatalog();
    expect(DEMO_AUTHORS).toHaveLength(6);
    for (const author of DEMO_AUTHORS) {
      expect(author.label).toMatch(/^[a-z0-9-]+$/);
      expect(author.authorId).toMatch(/^[0-9A-F]{64}$/);
      const entities = data.authors.get(author.authorId)!.entities;
      expect(entities).toHaveLength(author.entities);
      expect(entities.filter((e) => e.hidden === true)).toHaveLength(author.unlisted);
      expect(data.authors.get(author.authorId)!.profile.name).toBe(author.name);
    }
    expect([...data.authors.keys()]).toEqual(DEMO_AUTHORS.map((author) => author.authorId));
    expect(DEMO_AUTHORS.filter((author) => author.entities >= 200 && author.unlisted > 0)).toHaveLength(2);
    expect(DEMO_AUTHORS.some((author) => author.entities === 0)).toBe(true);
    expect(DEMO_AUTHORS.some((author) => /[\u0080-\uffff]/.test(author.name))).toBe(true);
    expect(DEMO_UNKNOWN_AUTHOR_ID).toMatch(/^[0-9A-F]{64}$/);
    expect(data.authors.has(DEMO_UNKNOWN_AUTHOR_ID)).toBe(false);
  });

  it('keeps authors and counts across seeds but varies the content', () => {
    const a = createDemoCatalog(1);
    const b = createDemoCatalog(2);
    expect([...a.authors.keys()]).toEqual([...b.authors.keys()]);
    const first = DEMO_AUTHORS[0]!.authorId;
    expect(a.authors.get(first)!.entities[0]!.id).not.toBe(b.authors.get(first)!.entities[0]!.id);
  });
});

describe('local command fault options', () => {
  const ports = {
    data: 'x',
    blobPort: '0',
    queuePort: '0',
    catalogPort: '0',
    vaultPort: '0',
    demoAuthors: false,
  };

  it('--churn-inserts-only makes the churn insert entities created now, and nothing else', () => {
    expect(parseFaults({ ...ports, churnRate: '0.05', churnMax: '4', churnInsertsOnly: true })).toEqual({
      churn: { rate: 0.05, maxEventsPerAuthor: 4, insertRatio: 1, insertedCreatedAt: 'now' },
    });
    expect(parseFaults({ ...ports, churnRate: '0.05' })).toEqual({ churn: { rate: 0.05 } });
  });

  it('--churn-inserts-only without --churn-rate is a usage error', () => {
    expect(() => parseFaults({ ...ports, churnInsertsOnly: true })).toThrow(/--churn-rate/);
  });
});
