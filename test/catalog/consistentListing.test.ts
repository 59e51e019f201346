import type { EntityPage } from '../../src/catalog/catalogResponses';
import type { EntityCollector, ListedEntity } from '../../src/contract/catalogApi';
import { GalleryExportError } from '../../src/contract/errors';
import { readConsistentListing, type PageRequest } from '../../src/catalog/consistentListing';

/** An offset-paged list in memory, with hooks to change it between page requests. */
class PagedList {
  ids: string[];
  requests: PageRequest[] = [];
  cap = Infinity;
  omitTotal = false;
  beforePage?: (request: PageRequest, list: PagedList) => void;

  constructor(count: number) {
    this.ids = Array.from({ length: count }, (_, index) => `e${String(index).padStart(4, '0')}`);
  }

  readonly fetch = (request: PageRequest): Promise<EntityPage> => {
    this.requests.push(request);
    this.beforePage?.(request, this);
    const top = Math.min(request.top, this.cap);
    const items = this.ids
      .slice(request.skip, request.skip + top)
      .map((id) => ({ id, raw: Buffer.from(`{"id":"${id}"}`), hidden: false }));
    return Promise.resolve({ items, totalCount: this.omitTotal ? undefined : this.ids.length });
  };
}

class ArrayCollector implements EntityCollector {
  items: ListedEntity[] = [];
  resets = 0;
  reset(): Promise<void> {
    this.items = [];
    this.resets++;
    return Promise.resolve();
  }
  add(entities: readonly ListedEntity[]): Promise<void> {
    this.items.push(...entities);
    return Promise.resolve();
  }
  ids(): string[] {
    return this.items.map((item) => item.id).sort();
  }
}

const options = { pageSize: 10, passRetryDelayMs: 0 };

test('reads every item once, with one item of overlap between pages', async () => {
  const list = new PagedList(95);
  const collector = new ArrayCollector();
  const result = await readConsistentListing(list.fetch, collector, options);
  expect(collector.ids()).toEqual(list.ids);
  expect(result).toMatchObject({ entities: 95, reportedByCatalog: 95, passes: 1, effectivePageSize: 10 });
  expect(list.requests.map((request) => request.skip)).toEqual([0, 9, 18, 27, 36, 45, 54, 63, 72, 81, 90]);
  expect(result.pages).toBe(11);
});

test('an empty list is one request', async () => {
  const list = new PagedList(0);
  const result = await readConsistentListing(list.fetch, new ArrayCollector(), options);
  expect(result).toMatchObject({ entities: 0, pages: 1, passes: 1 });
  expect(list.requests).toHaveLength(1);
});

test('a catalog that caps $top below the page size is paged by what it serves', async () => {
  const list = new PagedList(23);
  list.cap = 4;
  const collector = new ArrayCollector();
  const result = await readConsistentListing(list.fetch, collector, { ...options, pageSize: 100 });
  expect(collector.ids()).toEqual(list.ids);
  expect(result.effectivePageSize).toBe(4);
  expect(list.requests.slice(1).every((request) => request.top === 4)).toBe(true);
});

test('a delete before the boundary during a pass is detected, and the pass read again', async () => {
  const list = new PagedList(30);
  let changed = false;
  list.beforePage = (request, data) => {
    if (request.skip === 18 && !changed) {
      changed = true;
      data.ids.splice(3, 1); // delete an item already read: everything after shifts left
    }
  };
  const collector = new ArrayCollector();
  const result = await readConsistentListing(list.fetch, collector, options);
  expect(result.passes).toBe(2);
  expect(result.discardedPasses[0]).toMatch(/pass 1: total_count changed from 30 to 29/);
  expect(collector.ids()).toEqual(list.ids);
});

test('a delete and an insert that keep the total are caught by the overlap (no silent skip)', async () => {
  const list = new PagedList(30);
  let changed = false;
  list.beforePage = (request, data) => {
    if (request.skip === 18 && !changed) {
      changed = true;
      data.ids.splice(3, 1); // shift left by one...
      data.ids.push('e9999'); // ...and keep the total: e0018 would be skipped without the overlap check
    }
  };
  const collector = new ArrayCollector();
  const result = await readConsistentListing(list.fetch, collector, options);
  expect(result.passes).toBe(2);
  expect(result.discardedPasses[0]).toMatch(/shifted between the pages at \$skip=9 and \$skip=18/);
  expect(collector.ids()).toEqual([...list.ids].sort());
});

test('a duplicate id in one pass is inconsistent', async () => {
  const list = new PagedList(15);
  const original = list.ids[12]!;
  list.beforePage = (request, data) => {
    // During pass 1 the item at position 12 briefly shows up as a copy of the one at position 2.
    data.ids[12] = request.pass === 1 && request.skip === 9 ? data.ids[2]! : original;
  };
  const collector = new ArrayCollector();
  const result = await readConsistentListing(list.fetch, collector, options);
  expect(result.discardedPasses[0]).toMatch(/entity e0002 appeared twice/);
  expect(collector.ids()).toEqual(list.ids);
});

test('a list that keeps moving fails with CATALOG_INCONSISTENT after maxPasses, leaving the collector empty', async () => {
  const list = new PagedList(40);
  let counter = 0;
  list.beforePage = (request, data) => {
    if (request.skip > 0) data.ids.unshift(`new${counter++}`);
  };
  const collector = new ArrayCollector();
  await expect(
    readConsistentListing(list.fetch, collector, { ...options, maxPasses: 3, describeAuthor: 'CB9AEF…8BE' }),
  ).rejects.toMatchObject({
    code: 'CATALOG_INCONSISTENT',
    message: expect.stringMatching(
      /for author CB9AEF…8BE kept changing while it was paged: no consistent pass in 3 attempts/,
    ) as string,
  });
  expect(collector.items).toEqual([]);
});

test('one bad page stops the rest of the pass', async () => {
  const list = new PagedList(1000);
  list.beforePage = (request, data) => {
    if (request.skip === 9 && request.pass === 1) data.ids.pop();
  };
  const result = await readConsistentListing(list.fetch, new ArrayCollector(), options);
  expect(result.passes).toBe(2);
  // Pass 1 was abandoned early: far fewer than its 112 pages were fetched... at most what was already dispatched.
  const pass1 = list.requests.filter((request) => request.pass === 1);
  expect(pass1.every((request) => request.signal.aborted || request.skip <= 9)).toBe(true);
});

test('without total_count the pages are followed one by one to the end', async () => {
  const list = new PagedList(25);
  list.omitTotal = true;
  const collector = new ArrayCollector();
  const result = await readConsistentListing(list.fetch, collector, options);
  expect(collector.ids()).toEqual(list.ids);
  expect(result.reportedByCatalog).toBe(25);
  expect(list.requests.map((request) => request.skip)).toEqual([0, 9, 18, 24]);
});

test('an aborted signal stops the listing', async () => {
  const list = new PagedList(25);
  const controller = new AbortController();
  controller.abort();
  await expect(
    readConsistentListing(list.fetch, new ArrayCollector(), { ...options, signal: controller.signal }),
  ).rejects.toMatchObject({
    code: 'ABORTED',
  });
});

test('pages too large to hold are asked for again, smaller and fewer at a time', async () => {
  const list = new PagedList(30);
  const fetch = list.fetch;
  const tooLarge = async (request: PageRequest): Promise<EntityPage> => {
    if (request.top > 8) throw new GalleryExportError('CATALOG_TOO_LARGE', 'too large');
    return fetch(request);
  };
  const collector = new ArrayCollector();
  const result = await readConsistentListing(tooLarge, collector, { ...options, pageSize: 40 });
  expect(collector.ids()).toEqual(list.ids);
  expect(result).toMatchObject({ passes: 1, effectivePageSize: 5 });
  expect(result.discardedPasses).toHaveLength(3);
});
