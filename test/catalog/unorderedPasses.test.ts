import { hash } from 'node:crypto';
import { ListingClock } from '../../src/catalog/catalogClock';
import {
  comparePasses,
  provablyPublishedDuring,
  UnorderedPassCollector,
  UnorderedPasses,
  type UnorderedPassRecord,
} from '../../src/catalog/unorderedPasses';
import type { EntityCollector, ListedEntity } from '../../src/contract/catalogApi';

const digest = (text: string): string => hash('sha256', text, 'base64');

function record(
  entities: Record<string, string>,
  newcomers: Record<string, boolean> = {},
  unproven: Record<string, string> = {},
): UnorderedPassRecord {
  return {
    digests: new Map(Object.entries(entities).map(([id, text]) => [id, digest(text)])),
    newcomers: new Map(Object.entries(newcomers)),
    unproven: new Map(Object.entries(unproven)),
  };
}

describe('comparePasses', () => {
  const earlier = record({ a: '{"id":"a"}', b: '{"id":"b"}', c: '{"id":"c"}' }).digests;

  it('agrees on the same entities, byte for byte, in any order', () => {
    expect(comparePasses(earlier, record({ c: '{"id":"c"}', a: '{"id":"a"}', b: '{"id":"b"}' }))).toEqual({
      agree: true,
      newcomers: [],
      hiddenNewcomers: 0,
    });
  });

  it('agrees when the later pass adds only provable newcomers, and names them', () => {
    const later = record(
      { a: '{"id":"a"}', n1: '{"id":"n1"}', b: '{"id":"b"}', c: '{"id":"c"}', n2: '{"id":"n2"}' },
      { n1: false, n2: true },
    );
    expect(comparePasses(earlier, later)).toEqual({
      agree: true,
      newcomers: ['n1', 'n2'],
      hiddenNewcomers: 1,
    });
  });

  it('disagrees when an entity of the earlier pass is missing from the later one (deleted, or missed)', () => {
    expect(
      comparePasses(earlier, record({ a: '{"id":"a"}', c: '{"id":"c"}', n: '{"id":"n"}' }, { n: false })),
    ).toEqual({ agree: false, unproven: false, reason: 'entity b was in one pass and not in the next' });
  });

  it('disagrees when an entity changed by a single byte', () => {
    expect(comparePasses(earlier, record({ a: '{"id":"a"}', b: '{"id":"b" }', c: '{"id":"c"}' }))).toEqual({
      agree: false,
      unproven: false,
      reason: 'entity b changed between two passes',
    });
  });

  it('disagrees, saying why, when an entity appeared that is not provably new (it may be one the earlier pass missed)', () => {
    const later = record(
      { a: '{"id":"a"}', b: '{"id":"b"}', c: '{"id":"c"}', x: '{"id":"x"}' },
      {},
      { x: 'absent' },
    );
    expect(comparePasses(earlier, later)).toEqual({
      agree: false,
      unproven: true,
      reason: expect.stringMatching(
        /^entity x appeared between two passes, and its created_at \(absent\)/,
      ) as string,
    });
  });

  it('disagrees when a pass held back an entity the earlier pass had (never drops a known entity)', () => {
    const later = record({ a: '{"id":"a"}', b: '{"id":"b"}', c: '{"id":"c"}' }, { b: false });
    expect(comparePasses(earlier, later)).toMatchObject({ agree: false, unproven: false });
  });

  it('an empty earlier pass against an empty later one agrees', () => {
    expect(comparePasses(new Map(), record({}))).toEqual({ agree: true, newcomers: [], hiddenNewcomers: 0 });
  });
});

describe('provablyPublishedDuring', () => {
  const after = Date.UTC(2026, 11, 8, 12, 0, 0);
  const window = { after, notAfter: after + 3_600_000 };
  const entity = (members: string): Buffer => Buffer.from(`{"id":"e1",${members},"name":"x"}`);

  it('is true for a top-level created_at after the bound', () => {
    expect(provablyPublishedDuring(entity('"created_at":"2026-12-08T12:00:00.0010000+00:00"'), window)).toBe(
      true,
    );
    expect(provablyPublishedDuring(entity('"created_at":"2026-12-08T13:00:01+01:00"'), window)).toBe(true);
    // A key spelled with an escape is the same key.
    expect(provablyPublishedDuring(entity('"created\\u005fat":"2026-12-08T12:00:01Z"'), window)).toBe(true);
  });

  it.each([
    [
      'exactly at the bound',
      '"created_at":"2026-12-08T12:00:00.0009999+00:00"',
      /not after 2026-12-08T12:00:00.000Z/,
    ],
    ['before the bound', '"created_at":"2017-03-01T10:00:00Z"', /not after/],
    [
      "in the catalog's future",
      '"created_at":"2026-12-08T13:00:00.0010000+00:00"',
      /later than the catalog's clock/,
    ],
    ['far in the future', '"created_at":"2099-01-01T00:00:00Z"', /later than the catalog's clock/],
    ['absent', '"updated_at":"2026-12-08T13:00:00Z"', /^absent$/],
    ['only nested', '"owner":{"created_at":"2026-12-08T13:00:00Z"}', /^absent$/],
    [
      'given twice',
      '"created_at":"2026-12-08T13:00:00Z","created_at":"2026-12-08T13:00:00Z"',
      /^given twice$/,
    ],
    ['a number', '"created_at":1796731200000', /^not a string$/],
    ['null', '"created_at":null', /^not a string$/],
    ['without a time zone', '"created_at":"2026-12-08T13:00:00.0000000"', /not a timestamp with a time zone/],
    ['not a date', '"created_at":"just now"', /"just now", not a timestamp/],
  ])('is not proof when created_at is %s', (_case, members, why) => {
    const proof = provablyPublishedDuring(entity(members), window);
    expect(proof).not.toBe(true);
    expect(proof).toMatch(why);
  });

  it('is not proof for bytes that are not an object', () => {
    expect(provablyPublishedDuring(Buffer.from('[1,2]'), window)).toBe('unreadable');
  });
});

class ArrayCollector implements EntityCollector {
  items: ListedEntity[] = [];
  calls = 0;
  reset(): Promise<void> {
    this.items = [];
    return Promise.resolve();
  }
  add(entities: readonly ListedEntity[]): Promise<void> {
    this.calls++;
    this.items.push(...entities);
    return Promise.resolve();
  }
}

describe('UnorderedPasses', () => {
  const listed = (id: string, createdAt: string, hidden = false): ListedEntity => ({
    id,
    raw: Buffer.from(`{"id":"${id}","hidden":${hidden},"created_at":"${createdAt}"}`),
    hidden,
  });
  const OLD = '2017-03-01T10:00:00.0000000+00:00';
  const clock = new ListingClock(() => 0);
  clock.observe('Tue, 08 Dec 2026 12:00:00 GMT');
  // The later pass's answers, ten seconds on.
  clock.observe('Tue, 08 Dec 2026 12:00:10 GMT');
  const NEW = '2026-12-08T12:00:05.0000000+00:00';
  // Within the second after the Date (and the catalog's own margin): maybe there before the listing.
  const UNCERTAIN = '2026-12-08T12:00:01.5000000+00:00';

  it('holds back from the collector the newcomers of a pass that follows another, and keeps the earlier set', async () => {
    const passes = new UnorderedPasses(clock);
    const inner = new ArrayCollector();
    const first = passes.collector(inner, () => true);
    await first.add([listed('a', OLD), listed('b', OLD)]);
    expect(passes.judge(first)).toBeUndefined();

    await inner.reset();
    const second = passes.collector(inner, () => true);
    await second.add([listed('n1', NEW), listed('a', OLD)]);
    await second.add([listed('n2', NEW, true)]);
    await second.add([listed('b', OLD)]);
    expect(inner.items.map((item) => item.id)).toEqual(['a', 'b']);
    // A page of newcomers only is not handed on at all.
    expect(inner.calls).toBe(3);
    expect(passes.judge(second)).toEqual({ agree: true, newcomers: ['n1', 'n2'], hiddenNewcomers: 1 });
  });

  it('an entity of uncertain age that appears is not held back, and the passes disagree', async () => {
    const passes = new UnorderedPasses(clock);
    const inner = new ArrayCollector();
    const first = passes.collector(inner, () => true);
    await first.add([listed('a', OLD)]);
    passes.judge(first);
    const second = passes.collector(inner, () => true);
    await second.add([listed('a', OLD), listed('u', UNCERTAIN)]);
    expect(inner.items.map((item) => item.id)).toEqual(['a', 'a', 'u']);
    expect(passes.judge(second)).toMatchObject({ agree: false, unproven: true });
  });

  it('an entity the earlier pass missed is never dropped for an odd created_at (in the future)', async () => {
    const passes = new UnorderedPasses(clock);
    const first = passes.collector(new ArrayCollector(), () => true);
    await first.add([listed('a', OLD)]);
    passes.judge(first);
    const inner = new ArrayCollector();
    const second = passes.collector(inner, () => true);
    await second.add([listed('a', OLD), listed('odd', '2099-01-01T00:00:00.0000000+00:00')]);
    expect(inner.items.map((item) => item.id)).toEqual(['a', 'odd']);
    expect(passes.judge(second)).toMatchObject({ agree: false, unproven: true });
  });

  it('a newcomer already in the pass before is kept like any other entity', async () => {
    const passes = new UnorderedPasses(clock);
    const first = passes.collector(new ArrayCollector(), () => true);
    await first.add([listed('a', OLD), listed('n', NEW)]);
    passes.judge(first);
    const inner = new ArrayCollector();
    const second = passes.collector(inner, () => true);
    await second.add([listed('n', NEW), listed('a', OLD)]);
    expect(inner.items.map((item) => item.id)).toEqual(['n', 'a']);
    expect(passes.judge(second)).toEqual({ agree: true, newcomers: [], hiddenNewcomers: 0 });
  });

  it('a pass read partly ordered is not compared, and the next one starts afresh', async () => {
    const passes = new UnorderedPasses(clock);
    let ordered = true;
    const first = passes.collector(new ArrayCollector(), () => !ordered);
    await first.add([listed('a', OLD)]);
    ordered = false;
    await first.add([listed('b', OLD)]);
    expect(passes.judge(first)).toBeUndefined();
    const second = passes.collector(new ArrayCollector(), () => !ordered);
    await second.add([listed('a', OLD), listed('b', OLD), listed('n', NEW)]);
    // Nothing to compare with, so nothing is held back.
    expect(passes.judge(second)).toBeUndefined();
  });

  it('a reset forgets what the pass found', async () => {
    const inner = new ArrayCollector();
    const collector = new UnorderedPassCollector(inner, () => true, new Map(), clock);
    await collector.add([listed('n', NEW)]);
    expect(collector.record()?.newcomers.size).toBe(1);
    await collector.reset();
    expect(collector.record()).toEqual({ digests: new Map(), newcomers: new Map(), unproven: new Map() });
  });
});
