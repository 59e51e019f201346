import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CatalogClient } from '../../src/catalog/CatalogClient';
import { EntitySpool } from '../../src/export/EntitySpool';

/**
 * What a request may have to wait for before it goes out (a Retry-After, a slot, the next retry) can
 * change what it may send: a token that lapsed meanwhile, a Retry-After that arrived meanwhile for the
 * same URL. Both are judged again right before each attempt (issue 12, items 1 and 3).
 */
const AUTHOR = 'AB'.repeat(32);
const PUBLIC_ID = '0'.repeat(32);
const UNLISTED_ID = '1'.repeat(32);

interface Arrival {
  path: string;
  at: number;
  token: boolean;
}

async function startCatalog(
  answer: (request: http.IncomingMessage, response: http.ServerResponse, arrival: Arrival) => void,
): Promise<{ url: string; arrivals: Arrival[]; close(): Promise<void> }> {
  const arrivals: Arrival[] = [];
  const server = http.createServer((request, response) => {
    const arrival = {
      path: request.url!,
      at: performance.now(),
      token: request.headers.datalabaccesstoken !== undefined,
    };
    arrivals.push(arrival);
    answer(request, response, arrival);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    arrivals,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const catalogs: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(catalogs.splice(0).map((closable) => closable.close()));
});

test('a page whose token lapsed while it waited for its retry is not sent with it: the list is read without the token', async () => {
  // The token's expiry is judged on the client's clock, moved past it when the first page is throttled.
  let clockMs = Date.parse('2026-12-03T10:00:00Z');
  const expiresAt = new Date(clockMs + 10 * 60_000);
  let listRequests = 0;
  const catalog = await startCatalog((request, response, arrival) => {
    if (arrival.path.startsWith('/users/')) {
      response.end(JSON.stringify({ id: AUTHOR, name: 'A' }));
      return;
    }
    listRequests++;
    if (listRequests === 1) {
      clockMs = expiresAt.getTime() + 1000;
      response.writeHead(429, { 'retry-after': '1' });
      response.end('{"Message":"slow down"}');
      return;
    }
    // As the documented catalog does: without a (valid) token, the unlisted entities are left out.
    const items = [
      { id: PUBLIC_ID, hidden: false },
      ...(arrival.token ? [{ id: UNLISTED_ID, hidden: true }] : []),
    ];
    response.end(JSON.stringify({ value: items, total_count: items.length }));
  });
  const client = new CatalogClient({ baseUrl: catalog.url, concurrency: 4, now: () => clockMs });
  catalogs.push(client);
  catalogs.push(catalog);
  const spool = new EntitySpool();
  try {
    const reading = await client.readAuthor(AUTHOR, spool, { token: { value: 'token', expiresAt } });
    expect(reading.tokenUsed).toBe(false);
    expect(reading.tokenDropped).toMatchObject({ reason: 'expired' });
    // The retry of the throttled page did not go out with the lapsed token, nor did any later page.
    const lists = catalog.arrivals.filter((arrival) => arrival.path.startsWith('/entities'));
    expect(lists[0]!.token).toBe(true);
    expect(lists.slice(1).every((arrival) => !arrival.token)).toBe(true);
    expect(reading.listing).toMatchObject({ entities: 1, unlisted: 0 });
  } finally {
    await spool.dispose();
  }
});

test('a request that waited for its slot while another request of the same URL got a 429 waits for that Retry-After too', async () => {
  let answered = 0;
  const catalog = await startCatalog((_request, response) => {
    answered++;
    if (answered === 1) {
      // Held long enough for the second request to be queued behind this one's slot.
      setTimeout(() => {
        response.writeHead(429, { 'retry-after': '1' });
        response.end('{"Message":"slow down"}');
      }, 200);
      return;
    }
    response.end(JSON.stringify({ id: AUTHOR, name: 'A' }));
  });
  const client = new CatalogClient({ baseUrl: catalog.url, concurrency: 1 });
  catalogs.push(client);
  catalogs.push(catalog);
  await Promise.all([client.getProfile(AUTHOR), client.getProfile(AUTHOR)]);
  const [throttled, ...later] = catalog.arrivals;
  expect(later.length).toBeGreaterThanOrEqual(2);
  // Both later requests of that URL arrived after the 429's answer (200 ms) plus its Retry-After (1 s).
  for (const arrival of later) expect(arrival.at - throttled!.at).toBeGreaterThanOrEqual(1200 - 5);
});

test('a Retry-After beyond the retry cap fails later requests of that URL at once, without sending them', async () => {
  // 99,999,999 s is past setTimeout's range too: a wait for it would end at once, over and over.
  const catalog = await startCatalog((_request, response) => {
    response.writeHead(429, { 'retry-after': '99999999' });
    response.end('{"Message":"come back next year"}');
  });
  const client = new CatalogClient({ baseUrl: catalog.url, concurrency: 2 });
  catalogs.push(client);
  catalogs.push(catalog);
  await expect(client.getProfile(AUTHOR)).rejects.toMatchObject({
    code: 'CATALOG_UNAVAILABLE',
    message: expect.stringMatching(/more than the 60 s cap/) as unknown,
  });
  await expect(client.getProfile(AUTHOR)).rejects.toMatchObject({
    code: 'CATALOG_UNAVAILABLE',
    message: expect.stringMatching(
      /was not sent: the catalog asked \(HTTP 429\) .* more than the 60 s cap$/,
    ) as unknown,
  });
  expect(catalog.arrivals).toHaveLength(1);
});
