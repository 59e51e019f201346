import { spawn } from 'node:child_process';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { join } from 'node:path';
import {
  serializeDocument,
  type Manifest,
  type RunRecord,
  type SignatureDocument,
} from '../../src/contract/formats';
import { downloadBundle, getErasure, listErasures, postErasure } from '../../src/functions/dsarApi';
import { exportAuthorPoison, exportAuthorQueue } from '../../src/functions/exportAuthorQueue';
import { useEnvironment } from '../../src/functions/runtime';
import { readAllBlobs } from '../support/storage';
import { runCli } from '../support/cliHarness';
import { validateStoredDocuments } from '../support/documents';
import { invocation } from '../support/functionsHarness';
import { startHoldingProxy } from '../support/holdingProxy';
import { drainQueue } from '../support/queueHost';
import { useAzuriteAndVault, waitFor } from '../support/world';
import { audits, deployDsar, get, post, principal, readZip, type Deployment } from '../support/dsarHarness';

/**
 * Data-subject requests over HTTP (issue 29), through the real handlers as the host calls them: a proven
 * bundle by Entra role, an erasure that runs off the request, 403 for everyone else, and an audit entry of
 * every request.
 */
const servers = useAzuriteAndVault();
const SIGNING_KEY = 'dsar-signing';

beforeAll(async () => {
  await servers.vault.createKey(SIGNING_KEY, { size: 3072, keyOps: ['sign', 'verify'] });
});
afterAll(async () => {
  await useEnvironment(undefined);
});

const deploy = (authors: number, env: Record<string, string> = {}): Promise<Deployment> =>
  deployDsar(servers, SIGNING_KEY, authors, env);

test('a bundle downloaded with Dsar.Read: every file matches the manifest, the signature verifies, the request is audited', async () => {
  const world = await deploy(1);
  try {
    const [authorId] = world.authorIds as [string];
    const response = await downloadBundle(
      get(`/api/authors/${authorId}/bundle?run=latest`, {
        'x-ms-client-principal': principal(['Dsar.Read']),
      }),
      invocation('dsarBundle').context,
    );
    expect(response.status).toBe(200);
    expect(response.headers).toMatchObject({ 'content-type': 'application/zip' });
    const files = await readZip(response);
    expect([...files.keys()].sort()).toEqual(
      [
        'README.txt',
        'SHA256SUMS',
        'entities.json',
        'manifest.json',
        'profile.json',
        'report.html',
        'signature.json',
      ].sort(),
    );
    const manifest = JSON.parse(files.get('manifest.json')!.toString()) as Manifest;
    for (const file of manifest.files) {
      expect(createHash('sha256').update(files.get(file.name)!).digest('hex')).toBe(file.sha256);
    }
    const signature = JSON.parse(files.get('signature.json')!.toString()) as SignatureDocument;
    const key = servers.vault
      .getKeyVersions(SIGNING_KEY)!
      .find((version) => signature.keyId.endsWith(version.version))!;
    expect(
      verify(
        'sha256',
        files.get('manifest.json')!,
        createPublicKey(key.publicKeyPem),
        Buffer.from(signature.signature, 'base64'),
      ),
    ).toBe(true);
    expect(files.get('report.html')!.toString()).toContain('the signature was checked');
    await waitFor(async () => (await audits(world)).length === 1, 'the audit entry');
    expect(await audits(world)).toEqual([
      expect.objectContaining({
        action: 'bundle',
        authorId,
        runId: manifest.runId,
        principal: expect.objectContaining({
          authenticated: true,
          objectId: 'a1b2c3d4-0000-4000-8000-00000000000a',
        }) as unknown,
        outcome: { status: 200 },
      }),
    ]);
    expect((await validateStoredDocuments(world.container)).problems).toEqual([]);
  } finally {
    await world.catalog.close();
  }
}, 90_000);

test('403 without the role, with a principal header while built-in authentication is off, and with a function key alone; each audited', async () => {
  const world = await deploy(1);
  try {
    const [authorId] = world.authorIds as [string];
    const url = `/api/authors/${authorId}/bundle`;
    const noRole = await downloadBundle(
      get(url, { 'x-ms-client-principal': principal(['Dsar.Erase']) }),
      invocation('b').context,
    );
    expect(noRole.status).toBe(403);
    const keyOnly = await downloadBundle(
      get(url, { 'x-functions-key': 'the-function-key' }),
      invocation('b').context,
    );
    expect(keyOnly.status).toBe(403);
    const erase = await postErasure(
      post(
        `/api/authors/${authorId}/erasure`,
        { requestedBy: 'x', reference: 'y' },
        { 'x-ms-client-principal': principal(['Dsar.Read']) },
      ),
      invocation('e').context,
    );
    expect(erase.status).toBe(403);
    // Built-in authentication off: anyone can send the header, so nothing it says is believed.
    await useEnvironment({ ...world.env, WEBSITE_AUTH_ENABLED: 'false' });
    const forgedCall = invocation('b');
    const forged = await downloadBundle(
      get(url, { 'x-ms-client-principal': principal(['Dsar.Read', 'Dsar.Erase']) }),
      forgedCall.context,
    );
    expect(forged.status).toBe(403);
    expect(JSON.stringify(forged.jsonBody)).toMatch(/built-in authentication/);
    // Audited in telemetry; not a blob each (anyone can send these while nobody can be identified).
    expect(forgedCall.logs.some((line) => /GalleryExport\.DsarRequest .*status=403/.test(line))).toBe(true);
    const entries = await audits(world);
    expect(entries.map((entry) => (entry.outcome as { status: number }).status)).toEqual([403, 403, 403]);
    expect(
      entries.filter((entry) => (entry.principal as { authenticated: boolean }).authenticated),
    ).toHaveLength(2);
  } finally {
    await useEnvironment(world.env);
    await world.catalog.close();
  }
}, 90_000);

test('409 naming each problem for a tampered snapshot; 404 for an author with none', async () => {
  const world = await deploy(1);
  try {
    const [authorId] = world.authorIds as [string];
    const record = await readAllBlobs(world.container, 'runs/');
    const manifestPath = [...(await readAllBlobs(world.container, `snapshots/${authorId}/`)).keys()].find(
      (path) => path.endsWith('manifest.json'),
    )!;
    const entitiesPath = manifestPath.replace('manifest.json', 'entities.json');
    await world.container.getBlockBlobClient(entitiesPath).upload('[]\n', 3);
    const response = await downloadBundle(
      get(`/api/authors/${authorId}/bundle`, { 'x-ms-client-principal': principal(['Dsar.Read']) }),
      invocation('b').context,
    );
    expect(response.status).toBe(409);
    expect(response.jsonBody).toMatchObject({
      problems: [
        expect.objectContaining({ kind: 'changed', path: entitiesPath, next: expect.any(String) as unknown }),
      ],
    });
    expect(record.size).toBeGreaterThan(0);
    const none = await downloadBundle(
      get(`/api/authors/${'A'.repeat(64)}/bundle`, { 'x-ms-client-principal': principal(['Dsar.Read']) }),
      invocation('b').context,
    );
    expect(none.status).toBe(404);
  } finally {
    await world.catalog.close();
  }
}, 90_000);

test('an erasure requested over HTTP completes off the request: the record, the registration gone, both listed', async () => {
  const world = await deploy(2);
  try {
    const [authorId, other] = world.authorIds as [string, string];
    const eraser = { 'x-ms-client-principal': principal(['Dsar.Erase', 'Dsar.Read']) };
    const accepted = await postErasure(
      post(
        `/api/authors/${authorId}/erasure`,
        { requestedBy: 'J. Doe, privacy office', reference: 'DSAR-2026-0142' },
        eraser,
      ),
      invocation('e').context,
    );
    expect(accepted.status).toBe(202);
    const { erasureId, statusUrl } = accepted.jsonBody as { erasureId: string; statusUrl: string };
    expect(statusUrl).toMatch(new RegExp(`/api/erasures/${erasureId}$`));
    const running = await getErasure(get(`/api/erasures/${erasureId}`, eraser), invocation('s').context);
    expect(running.jsonBody).toMatchObject({ erasureId, state: 'running' });
    await drainQueue(world.queue, exportAuthorQueue, { poison: world.poison });
    const done = await getErasure(get(`/api/erasures/${erasureId}`, eraser), invocation('s').context);
    expect(done.jsonBody).toMatchObject({
      erasureId,
      state: 'complete',
      signature: 'verified',
      record: { erasureId },
    });
    expect(servers.vault.listSecretNames().filter((name) => name.startsWith(world.prefix))).toEqual([
      `${world.prefix}a1`,
    ]);
    const listed = await listErasures(
      get(`/api/authors/${authorId}/erasures`, eraser),
      invocation('l').context,
    );
    expect(listed.jsonBody).toMatchObject({ erasures: [{ record: { erasureId }, signature: 'verified' }] });
    const cli = await runCli(['erasures', '--author', authorId, '--json'], world.env);
    const listedByCli = JSON.parse(cli.stdout) as Array<{ erasureId: string; requestedBy: string }>;
    expect(listedByCli).toEqual([expect.objectContaining({ erasureId, status: 'complete' })]);
    expect(listedByCli[0]!.requestedBy).toContain('DSAR-2026-0142');
    expect((await audits(world)).map((entry) => entry.action).sort()).toEqual(
      ['erasure-list', 'erasure-request', 'erasure-status', 'erasure-status'].sort(),
    );
    const run = JSON.parse((await runCli(['run', '--json'], world.env)).stdout) as RunRecord;
    expect(run.authors.map((author) => author.authorId)).toEqual([other]);
    expect((await validateStoredDocuments(world.container)).problems).toEqual([]);
  } finally {
    await world.catalog.close();
  }
}, 120_000);

test('an erasure whose first delivery is killed (SIGKILL) mid-way is finished by the next delivery', async () => {
  const world = await deploy(1, { RUN_LOCK_SECONDS: '15' });
  const proxy = await startHoldingProxy(`http://127.0.0.1:${servers.azurite.blobPort}`);
  try {
    const [authorId] = world.authorIds as [string];
    const eraser = { 'x-ms-client-principal': principal(['Dsar.Erase', 'Dsar.Read']) };
    const accepted = await postErasure(
      post(
        `/api/authors/${authorId}/erasure`,
        { requestedBy: 'privacy office', reference: 'DSAR-7' },
        eraser,
      ),
      invocation('e').context,
    );
    const { erasureId } = accepted.jsonBody as { erasureId: string };
    const { receivedMessageItems } = await world.queue.receiveMessages({
      numberOfMessages: 1,
      visibilityTimeout: 1,
    });
    const text = Buffer.from(receivedMessageItems[0]!.messageText, 'base64').toString('utf8');
    let held = false;
    // The first delivery dies between two deletes of the author's snapshot.
    let deletes = 0;
    proxy.holdIf = (request) =>
      request.method === 'DELETE' && request.path.includes('/snapshots/') && ++deletes === 2;
    proxy.onHeld = () => {
      held = true;
    };
    const root = join(__dirname, '..', '..');
    const child = spawn(
      process.execPath,
      [join(root, 'test/support/tsChild.js'), join(root, 'test/support/queueWorkerChild.ts'), text],
      {
        env: {
          ...process.env,
          ...world.env,
          EXPORT_STORAGE: servers.azurite.connectionString.replace(
            `127.0.0.1:${servers.azurite.blobPort}`,
            `127.0.0.1:${proxy.port}`,
          ),
        },
        stdio: 'ignore',
      },
    );
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await waitFor(() => held, 'the first delivery to be half-way', 60_000);
    child.kill('SIGKILL');
    await exited;
    await world.container
      .getBlobLeaseClient()
      .breakLease(0)
      .catch(() => undefined);
    const half = await getErasure(get(`/api/erasures/${erasureId}`, eraser), invocation('s').context);
    expect(half.jsonBody).toMatchObject({ state: 'running' });
    // The message shows again after its visibility timeout, as the host would deliver it again.
    await new Promise((resolve) => setTimeout(resolve, 1200));
    await drainQueue(world.queue, exportAuthorQueue, { poison: world.poison });
    const done = await getErasure(get(`/api/erasures/${erasureId}`, eraser), invocation('s').context);
    expect(done.jsonBody).toMatchObject({
      state: 'complete',
      record: { erasureId, deleted: { snapshots: 1 } },
    });
    expect([...(await readAllBlobs(world.container, `snapshots/${authorId}/`)).keys()]).toEqual([]);
    expect((await runCli(['verify', '--require-signatures'], world.env)).code).toBe(0);
    void exportAuthorPoison;
  } finally {
    await proxy.close();
    await world.catalog.close();
  }
}, 120_000);

test('an erasure request whose body is not the schema is refused, and nothing is queued', async () => {
  const world = await deploy(1);
  try {
    const [authorId] = world.authorIds as [string];
    const response = await postErasure(
      post(
        `/api/authors/${authorId}/erasure`,
        { requestedBy: 'x', ticket: 'y' },
        { 'x-ms-client-principal': principal(['Dsar.Erase']) },
      ),
      invocation('e').context,
    );
    expect(response.status).toBe(400);
    expect(JSON.stringify(response.jsonBody)).toMatch(/reference|ticket/);
    expect(
      (await world.queue.getProperties().catch(() => ({ approximateMessagesCount: 0 })))
        .approximateMessagesCount ?? 0,
    ).toBe(0);
    void serializeDocument;
  } finally {
    await world.catalog.close();
  }
}, 90_000);

test('gallery-export audit lists the requests, with who, what and the outcome', async () => {
  const world = await deploy(1);
  try {
    const [authorId] = world.authorIds as [string];
    await downloadBundle(
      get(`/api/authors/${authorId}/bundle`, { 'x-ms-client-principal': principal(['Dsar.Erase']) }),
      invocation('b').context,
    );
    const text = await runCli(['audit'], { ...world.env, COLUMNS: '200' });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('Privacy Office Logic App');
    expect(text.stdout).toContain('403 FORBIDDEN');
    const json = JSON.parse(
      (await runCli(['audit', '--json', '--since', new Date().toISOString().slice(0, 10)], world.env)).stdout,
    ) as {
      entries: Array<{ action: string; authorId: string }>;
    };
    expect(json.entries).toEqual([expect.objectContaining({ action: 'bundle', authorId })]);
  } finally {
    await world.catalog.close();
  }
}, 90_000);
