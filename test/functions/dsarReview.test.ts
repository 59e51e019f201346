import { InvocationContext } from '@azure/functions';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { ErasureRecord } from '../../src/contract/formats';
import { describeHttpApi } from '../../src/contract/openApi';
import { recordDsarRequest } from '../../src/export/dsarAudit';
import { downloadBundle, getErasure, listErasures, postErasure } from '../../src/functions/dsarApi';
import { exportAuthorPoison, exportAuthorQueue } from '../../src/functions/exportAuthorQueue';
import { servicesFor, useEnvironment } from '../../src/functions/runtime';
import { blobsUnder } from '../support/blobs';
import { audits, deployDsar, get, post, principal, type Deployment } from '../support/dsarHarness';
import { invocation } from '../support/functionsHarness';
import { drainQueue } from '../support/queueHost';
import { runCli } from '../support/cliHarness';
import { readAllBlobs } from '../support/storage';
import { useAzuriteAndVault } from '../support/world';

/**
 * The review of issue 29's change: a message delivered twice never erases twice, an erasure of nothing
 * ends, the audit trail keeps every entry and no flood, the record names who really asked, nothing of the
 * erasure names the author afterwards, and the OpenAPI document describes what the handlers answer.
 */
const servers = useAzuriteAndVault();
const SIGNING_KEY = 'dsar-review-signing';
const eraser = { 'x-ms-client-principal': principal(['Dsar.Erase', 'Dsar.Read']) };

beforeAll(async () => {
  await servers.vault.createKey(SIGNING_KEY, { size: 3072, keyOps: ['sign', 'verify'] });
});
afterAll(async () => {
  await useEnvironment(undefined);
});

const deploy = (authors: number, env: Record<string, string> = {}): Promise<Deployment> =>
  deployDsar(servers, SIGNING_KEY, authors, env);

async function requestErasure(
  world: Deployment,
  authorId: string,
  body = { requestedBy: 'privacy office', reference: 'DSAR-1' },
) {
  const accepted = await postErasure(
    post(`/api/authors/${authorId}/erasure`, body, eraser),
    invocation('e').context,
  );
  expect(accepted.status).toBe(202);
  return (accepted.jsonBody as { erasureId: string }).erasureId;
}

test('an erasure message delivered again after the author was registered again erases nothing more', async () => {
  const world = await deploy(1);
  try {
    const [authorId] = world.authorIds as [string];
    await requestErasure(world, authorId);
    const { receivedMessageItems } = await world.queue
      .peekMessages({ numberOfMessages: 1 })
      .then((peeked) => ({
        receivedMessageItems: peeked.peekedMessageItems,
      }));
    const text = receivedMessageItems[0]!.messageText;
    await drainQueue(world.queue, exportAuthorQueue, { poison: world.poison });
    servers.vault.setSecret(`${world.prefix}back`, JSON.stringify({ authorId, accessToken: null }), {
      contentType: 'application/json',
      tags: { authorId },
    });
    expect((await runCli(['run'], world.env)).code).toBe(0);
    const before = await blobsUnder(world.container, `snapshots/${authorId}/`);
    expect(before.length).toBeGreaterThan(0);
    await world.queue.sendMessage(text);
    await drainQueue(world.queue, exportAuthorQueue, { poison: world.poison });
    expect(await blobsUnder(world.container, `snapshots/${authorId}/`)).toEqual(before);
    expect(servers.vault.getSecret(`${world.prefix}back`)).toBeDefined();
  } finally {
    await world.catalog.close();
  }
}, 120_000);

test('an erasure of an author of whom nothing is held ends: complete, nothing to erase', async () => {
  const world = await deploy(1);
  try {
    const unknown = 'B'.repeat(64);
    const erasureId = await requestErasure(world, unknown);
    await drainQueue(world.queue, exportAuthorQueue, { poison: world.poison });
    const status = await getErasure(get(`/api/erasures/${erasureId}`, eraser), invocation('s').context);
    expect(status.jsonBody).toMatchObject({ erasureId, state: 'complete', nothingToErase: true });
  } finally {
    await world.catalog.close();
  }
}, 90_000);

test('with built-in authentication off, refusals are counted in telemetry, not written one blob each', async () => {
  const world = await deploy(1, { WEBSITE_AUTH_ENABLED: 'false' });
  try {
    const [authorId] = world.authorIds as [string];
    const { context, logs } = invocation('b');
    for (let index = 0; index < 5; index++) {
      expect((await downloadBundle(get(`/api/authors/${authorId}/bundle`), context)).status).toBe(403);
    }
    expect(await audits(world)).toEqual([]);
    expect(logs.filter((line) => line.includes('GalleryExport.DsarRequest'))).toHaveLength(5);
  } finally {
    await world.catalog.close();
  }
}, 90_000);

test('audit entries made in the same millisecond are all kept', async () => {
  const world = await deploy(1);
  try {
    const services = servicesFor(
      new InvocationContext({ functionName: 'audit', logHandler: () => undefined }),
    );
    const at = new Date();
    await Promise.all(
      Array.from({ length: 200 }, () =>
        recordDsarRequest(
          { ...services, now: () => at },
          { action: 'erasure-status', principal: undefined, outcome: { status: 403 } },
        ),
      ),
    );
    expect(await audits(world)).toHaveLength(200);
  } finally {
    await world.catalog.close();
  }
}, 90_000);

test('the signed record names the principal that asked first, and the erasure leaves nothing that names the author', async () => {
  const world = await deploy(1);
  try {
    const [authorId] = world.authorIds as [string];
    const erasureId = await requestErasure(world, authorId, {
      requestedBy: `${'x'.repeat(60)} (DSAR-1; via Chief Privacy Officer)`,
      reference: 'R'.repeat(60),
    });
    await drainQueue(world.queue, exportAuthorQueue, { poison: world.poison });
    const status = await getErasure(get(`/api/erasures/${erasureId}`, eraser), invocation('s').context);
    const record = (status.jsonBody as { record: ErasureRecord }).record;
    expect(
      record.requestedBy.startsWith('via Privacy Office Logic App (a1b2c3d4-0000-4000-8000-00000000000a)'),
    ).toBe(true);
    const requests = await readAllBlobs(world.container, 'erasure-requests/');
    for (const [path, blob] of requests)
      expect([path, blob.body.toString().includes(authorId)]).toEqual([path, false]);
  } finally {
    await world.catalog.close();
  }
}, 90_000);

test('a forged poison message for no stored request changes nothing', async () => {
  const world = await deploy(1);
  try {
    const forged = Buffer.from(
      JSON.stringify({
        v: 1,
        kind: 'erasure',
        erasureId: '20261208T100000Z-123abc',
        authorId: world.authorIds[0],
      }),
    ).toString('base64');
    await exportAuthorPoison(forged, invocation('p').context);
    expect(await blobsUnder(world.container, 'erasure-requests/')).toEqual([]);
  } finally {
    await world.catalog.close();
  }
}, 90_000);

test("the OpenAPI document describes the author's erasures as the handler answers them", async () => {
  const world = await deploy(1);
  try {
    const [authorId] = world.authorIds as [string];
    await requestErasure(world, authorId);
    await drainQueue(world.queue, exportAuthorQueue, { poison: world.poison });
    const listed = await listErasures(
      get(`/api/authors/${authorId}/erasures`, eraser),
      invocation('l').context,
    );
    const document = describeHttpApi({ version: 'test' }) as {
      paths: Record<
        string,
        { get: { responses: Record<string, { content: Record<string, { schema: unknown }> }> } }
      >;
      components: { schemas: Record<string, Record<string, unknown>> };
    };
    const ajv = new Ajv2020({ strict: false });
    addFormats(ajv);
    for (const schema of Object.values(document.components.schemas))
      if ('$id' in schema) ajv.addSchema(schema);
    const schema =
      document.paths['/authors/{authorId}/erasures']!.get.responses['200']!.content['application/json']!
        .schema;
    const validate = ajv.compile({ ...(schema as object), components: document.components });
    expect([validate(listed.jsonBody), validate.errors ?? []]).toEqual([true, []]);
  } finally {
    await world.catalog.close();
  }
}, 90_000);
