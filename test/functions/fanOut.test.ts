import { HttpRequest, type HttpResponseInit } from '@azure/functions';
import { QueueServiceClient, type QueueClient } from '@azure/storage-queue';
import { DEMO_AUTHORS } from '../../dev/catalog-simulator';
import { startLocalStack, type LocalStack } from '../../dev/localStack';
import { exportAuthorPoison, exportAuthorQueue } from '../../src/functions/exportAuthorQueue';
import { exportTimer } from '../../src/functions/exportTimer';
import { getExport, listAuthorSnapshots, startExport } from '../../src/functions/httpApi';
import { useEnvironment } from '../../src/functions/runtime';
import type { Manifest, RunRecord } from '../../src/contract/formats';
import { validateStoredDocuments } from '../support/documents';
import { invocation, timer } from '../support/functionsHarness';
import { drainQueue } from '../support/queueHost';
import { containerFor, readAllBlobs, uniqueName } from '../support/storage';

/**
 * The Functions app as the host would drive it: timer and HTTP triggers plan a run and fan out one
 * Azurite queue message per author; the queue function exports each; the poison function settles authors
 * every delivery failed for; the run record is finalised by whoever reports last.
 */
let stack: LocalStack;
const ada = DEMO_AUTHORS.find((author) => author.label === 'ada-lovelace')!;
const seen: string[] = [];

beforeAll(async () => {
  stack = await startLocalStack();
  await stack.registerDemoAuthors();
});
afterAll(async () => {
  await useEnvironment(undefined);
  await stack?.stop();
  // Nothing the app said or queued anywhere in this file holds a token.
  const everything = seen.join('\n');
  for (const token of stack.catalog.issuedTokens) {
    expect(everything.includes(token)).toBe(false);
    expect(everything.includes(token.split('.')[2]!)).toBe(false);
  }
});

interface Deployment {
  name: string;
  queue: QueueClient;
  poison: QueueClient;
}

async function deploy(extra: Record<string, string> = {}): Promise<Deployment> {
  const name = uniqueName('fan');
  await useEnvironment({
    ...stack.env,
    EXPORT_CONTAINER: name,
    EXPORT_QUEUE: name,
    CATALOG_MAX_RETRIES: '0',
    ...extra,
  });
  const queues = QueueServiceClient.fromConnectionString(stack.env.EXPORT_STORAGE!);
  return { name, queue: queues.getQueueClient(name), poison: queues.getQueueClient(`${name}-poison`) };
}

async function queuedItems(
  queue: QueueClient,
): Promise<Array<{ v: number; runId: string; secretName: string; trigger: string }>> {
  const { peekedMessageItems } = await queue.peekMessages({ numberOfMessages: 32 });
  const texts = peekedMessageItems.map((message) =>
    Buffer.from(message.messageText, 'base64').toString('utf8'),
  );
  seen.push(...peekedMessageItems.map((message) => message.messageText), ...texts);
  return texts.map(
    (text) => JSON.parse(text) as { v: number; runId: string; secretName: string; trigger: string },
  );
}

async function runRecord(name: string): Promise<RunRecord> {
  const blobs = await readAllBlobs(containerFor(stack.env.EXPORT_STORAGE!, name), 'runs/');
  const [record] = [...blobs].filter(([path]) => /^runs\/\d{4}\/\d{2}\/\d{2}\/[^/]+\.json$/.test(path));
  return JSON.parse(record![1].body.toString()) as RunRecord;
}

async function call(
  handler: (
    request: HttpRequest,
    context: ReturnType<typeof invocation>['context'],
  ) => Promise<HttpResponseInit>,
  init: ConstructorParameters<typeof HttpRequest>[0],
): Promise<{ status: number; body: Record<string, unknown> }> {
  const { context, logs } = invocation('http');
  const response = await handler(new HttpRequest(init), context);
  const text = JSON.stringify(response.jsonBody ?? null);
  seen.push(text, ...logs);
  return { status: response.status ?? 200, body: (response.jsonBody ?? {}) as Record<string, unknown> };
}

const post = (
  body: string | undefined,
  headers: Record<string, string> = {},
): ConstructorParameters<typeof HttpRequest>[0] => ({
  url: 'https://gallery-export.example/api/exports',
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  ...(body === undefined ? {} : { body: { string: body } }),
});

test('the timer queues exactly one message per registered author; the queue function exports each and the last one finalises the run', async () => {
  const { name, queue, poison } = await deploy();
  const { context, logs } = invocation('exportTimer');
  await exportTimer(timer(), context);
  seen.push(...logs);

  const items = await queuedItems(queue);
  const expected = [
    ...DEMO_AUTHORS.map((author) => `gallery-author-${author.label}`),
    'gallery-author-unknown-author',
    'gallery-author-malformed-author',
  ];
  expect(items.map((item) => item.secretName).sort()).toEqual(expected.sort());
  expect(new Set(items.map((item) => item.runId)).size).toBe(1);
  expect(items.every((item) => item.v === 1 && item.trigger === 'timer')).toBe(true);
  expect((await runRecord(name)).status).toBe('running');

  const deliveries = await drainQueue(queue, exportAuthorQueue, { poison });
  seen.push(...deliveries.flatMap((delivery) => delivery.logs));
  expect(deliveries.every((delivery) => delivery.ok)).toBe(true);

  const record = await runRecord(name);
  expect(record).toMatchObject({
    status: 'partial',
    trigger: 'timer',
    counts: { complete: 6, failed: 2, skipped: 1, pending: 0 },
  });
  expect(record.completedAt).not.toBeNull();
  const blobs = await readAllBlobs(containerFor(stack.env.EXPORT_STORAGE!, name), 'snapshots/');
  expect([...blobs.keys()].filter((path) => path.endsWith('manifest.json'))).toHaveLength(6);
  const { problems } = await validateStoredDocuments(containerFor(stack.env.EXPORT_STORAGE!, name));
  expect(problems).toEqual([]);

  // The lock was released with the run: a new run can start at once.
  const again = invocation('exportTimer');
  await exportTimer(timer(), again.context);
  expect(again.logs.join('\n')).not.toContain('holds the lock');
});

test('the same message delivered twice produces one snapshot', async () => {
  const { name, queue } = await deploy();
  await exportTimer(timer(), invocation('exportTimer').context);
  const item = (await queuedItems(queue)).find(
    (entry) => entry.secretName === `gallery-author-${ada.label}`,
  )!;
  await exportAuthorQueue(item, invocation('exportAuthorQueue', { dequeueCount: 1 }).context);
  await exportAuthorQueue(JSON.stringify(item), invocation('exportAuthorQueue', { dequeueCount: 2 }).context);
  const blobs = await readAllBlobs(
    containerFor(stack.env.EXPORT_STORAGE!, name),
    `snapshots/${ada.authorId}/`,
  );
  // profile, entities, signature (the local stack signs) and manifest, once each.
  expect([...blobs.keys()]).toHaveLength(4);
  const outcomes = await readAllBlobs(containerFor(stack.env.EXPORT_STORAGE!, name), 'runs/');
  expect(
    [...outcomes.keys()].filter((path) => path.endsWith(`/gallery-author-${ada.label}.json`)),
  ).toHaveLength(1);
});

test('an author whose export keeps failing is retried, poisoned after the dequeue limit and marked failed; the others complete', async () => {
  const { name, queue, poison } = await deploy();
  stack.catalog.setFaults({
    perAuthor: { [ada.authorId]: { serverErrorRate: 1, serverErrorStatuses: [503] } },
  });
  try {
    await exportTimer(timer(), invocation('exportTimer').context);
    const deliveries = await drainQueue(queue, exportAuthorQueue, { poison, maxDequeueCount: 5 });
    seen.push(...deliveries.flatMap((delivery) => delivery.logs));
    const adaDeliveries = deliveries.filter((delivery) =>
      delivery.text.includes(`gallery-author-${ada.label}"`),
    );
    expect(adaDeliveries.map((delivery) => [delivery.dequeueCount, delivery.ok])).toEqual([
      [1, false],
      [2, false],
      [3, false],
      [4, false],
      [5, false],
    ]);
    expect(
      deliveries.filter((delivery) => !adaDeliveries.includes(delivery)).every((delivery) => delivery.ok),
    ).toBe(true);
    expect((await runRecord(name)).status).toBe('running');

    const poisoned = await drainQueue(poison, exportAuthorPoison);
    expect(poisoned).toHaveLength(1);
    const record = await runRecord(name);
    expect(record.status).toBe('partial');
    const failed = record.authors.find((author) => author.secretName === `gallery-author-${ada.label}`)!;
    expect(failed).toMatchObject({
      status: 'failed',
      authorId: ada.authorId,
      error: { code: 'CATALOG_UNAVAILABLE' },
      attempts: 5,
    });
    expect(failed.error!.message).toMatch(/Gave up after every delivery .* HTTP 503/);
    expect(record.counts).toMatchObject({ complete: 5, failed: 3 });
  } finally {
    stack.catalog.clearFaults();
  }
});

test('two POST /api/exports at once: one 202, one 409; the run can be followed and lists the snapshots', async () => {
  const { queue } = await deploy();
  const [first, second] = await Promise.all([call(startExport, post('')), call(startExport, post('{}'))]);
  expect([first.status, second.status].sort()).toEqual([202, 409]);
  const accepted = first.status === 202 ? first : second;
  const refused = first.status === 202 ? second : first;
  expect(refused.body).toMatchObject({ error: { code: 'RUN_LOCKED' } });
  const runId = accepted.body.runId as string;
  expect(accepted.body.statusUrl).toBe(`https://gallery-export.example/api/exports/${runId}`);

  const status = await call(getExport, {
    url: `https://x/api/exports/${runId}`,
    method: 'GET',
    params: { runId },
  });
  expect(status.status).toBe(200);
  expect(status.body).toMatchObject({ runId, status: 'running', trigger: 'http' });
  expect(status.body).not.toHaveProperty('lockLeaseId');

  await drainQueue(queue, exportAuthorQueue);
  const done = await call(getExport, {
    url: `https://x/api/exports/${runId}`,
    method: 'GET',
    params: { runId },
  });
  expect(done.body).toMatchObject({ status: 'partial', counts: { complete: 6, pending: 0 } });

  const list = await call(listAuthorSnapshots, {
    url: 'https://x/api/authors/x/snapshots',
    method: 'GET',
    params: { authorId: ada.authorId.toLowerCase() },
  });
  expect(list.status).toBe(200);
  const snapshots = list.body.snapshots as Array<{ runId: string; counts: Manifest['counts'] }>;
  expect(snapshots).toHaveLength(1);
  expect(snapshots[0]).toMatchObject({ runId, counts: { entities: ada.entities } });
});

test('POST with authors exports only those', async () => {
  const { queue } = await deploy();
  const response = await call(startExport, post(JSON.stringify({ authors: [ada.authorId.toLowerCase()] })));
  expect(response.status).toBe(202);
  expect((await queuedItems(queue)).map((item) => item.secretName)).toEqual([`gallery-author-${ada.label}`]);
});

test.each([
  ['invalid JSON', post('{"authors": ['), /not valid JSON/],
  ['an array', post('[]'), /must be a JSON object/],
  ['unknown fields', post('{"authors":[], "everyone": true}'), /unknown field\(s\): "everyone"/],
  ['authors that is not an array', post('{"authors":"all"}'), /must be an array/],
  ['a bad author ID', post('{"authors":["1234"]}'), /authors\[0\] is not an author ID/],
  ['an empty list', post('{"authors":[]}'), /is empty/],
  ['an author not registered', post(JSON.stringify({ authors: ['EF'.repeat(32)] })), /Not registered/],
  [
    'a body over the limit',
    post(JSON.stringify({ authors: Array.from({ length: 1600 }, () => 'AB'.repeat(32)) })),
    /larger than/,
  ],
  [
    'a declared length over the limit',
    post('{}', { 'content-length': String(10 * 1024 * 1024) }),
    /larger than/,
  ],
])('POST /api/exports with %s is a 400 with the reason; nothing is queued', async (_, request, reason) => {
  const { name, queue } = await deploy();
  const response = await call(startExport, request);
  expect(response.status).toBe(400);
  expect((response.body.error as { message: string }).message).toMatch(reason);
  expect(await queue.exists().then((exists) => (exists ? queuedItems(queue) : []))).toEqual([]);
  const blobs = await containerFor(stack.env.EXPORT_STORAGE!, name)
    .exists()
    .then((exists) =>
      exists ? readAllBlobs(containerFor(stack.env.EXPORT_STORAGE!, name), 'runs/') : new Map(),
    );
  expect(blobs.size).toBe(0);
});

test('GET endpoints validate their parameters', async () => {
  await deploy();
  expect(
    (await call(getExport, { url: 'https://x/api/exports/x', method: 'GET', params: { runId: 'latest' } }))
      .status,
  ).toBe(400);
  expect(
    (
      await call(getExport, {
        url: 'https://x/api/exports/x',
        method: 'GET',
        params: { runId: '20200101T000000Z-000000' },
      })
    ).status,
  ).toBe(404);
  expect(
    (
      await call(listAuthorSnapshots, {
        url: 'https://x/api/authors/x/snapshots',
        method: 'GET',
        params: { authorId: "x' or 1" },
      })
    ).status,
  ).toBe(400);
});
