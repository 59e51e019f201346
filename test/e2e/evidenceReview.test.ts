import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ContainerClient } from '@azure/storage-blob';
import { DEMO_AUTHORS } from '../../dev/catalog-simulator';
import { startLocalStack, type LocalStack } from '../../dev/localStack';
import {
  serializeDocument,
  type Manifest,
  type RunRecord,
  type SignatureDocument,
} from '../../src/contract/formats';
import { runCli } from '../support/cliHarness';
import { containerFor, uniqueName } from '../support/storage';
import { blob, exists, put } from '../support/blobs';

/**
 * The review of issue 24's change, attacked as an auditor would: forgeries that must not be handed out or
 * pass verify, and damage that must be named without stopping the check.
 */
let stack: LocalStack;
let folder: string;

beforeAll(async () => {
  stack = await startLocalStack();
  await stack.registerDemoAuthors();
  folder = await mkdtemp(join(tmpdir(), 'evidence-review-'));
}, 60_000);
afterAll(async () => {
  await stack?.stop();
  if (folder) await rm(folder, { recursive: true, force: true });
});

const ada = DEMO_AUTHORS.find((author) => author.label === 'ada-lovelace')!;
const offline = { KEY_VAULT_URL: 'http://127.0.0.1:1', SIGNING_KEY_NAME: '' };

function environment(overrides: Record<string, string> = {}): {
  env: Record<string, string>;
  container: ContainerClient;
} {
  const name = uniqueName('review');
  return {
    env: { ...stack.env, EXPORT_CONTAINER: name, ...overrides },
    container: containerFor(stack.env.EXPORT_STORAGE!, name),
  };
}

async function exportRun(env: Record<string, string>): Promise<RunRecord> {
  return JSON.parse((await runCli(['run', '--json'], env)).stdout) as RunRecord;
}

function snapshotOf(record: RunRecord, authorId: string): string {
  return record.authors.find((author) => author.authorId === authorId)!.snapshot!;
}

/** entities.json rewritten, the manifest's hash fixed to match, not signed again. */
async function forge(container: ContainerClient, prefix: string): Promise<void> {
  const manifest = JSON.parse((await blob(container, `${prefix}manifest.json`)).toString()) as Manifest;
  const entities = Buffer.from('[]\n');
  const file = manifest.files.find((entry) => entry.name === 'entities.json')!;
  file.bytes = entities.length;
  file.sha256 = createHash('sha256').update(entities).digest('hex');
  manifest.counts = { ...manifest.counts, entities: 0, unlisted: 0 };
  await put(container, `${prefix}entities.json`, entities);
  await put(container, `${prefix}manifest.json`, serializeDocument(manifest));
}

interface VerifyJson {
  snapshots: Array<{
    runId: string;
    prefix: string;
    status: string;
    problems: Array<{ path: string; kind: string }>;
  }>;
  problems: Array<{ path: string; kind: string; detail: string }>;
}

async function verify(
  env: Record<string, string>,
  ...args: string[]
): Promise<{ code: number; json: VerifyJson }> {
  const result = await runCli(['verify', '--json', ...args], env);
  if (!result.stdout.trim())
    throw new Error(`verify printed nothing (exit ${result.code}): ${result.stderr}`);
  return { code: result.code, json: JSON.parse(result.stdout) as VerifyJson };
}

test('a replaced snapshot checked on its own is damaged: its successor names other bytes (verify --run, get --run)', async () => {
  const { env, container } = environment({ SIGNING_KEY_NAME: '' });
  const first = await exportRun(env);
  await exportRun(env);
  const prefix = snapshotOf(first, ada.authorId);
  await forge(container, prefix);
  const alone = await verify(env, '--author', ada.authorId, '--run', first.runId);
  expect(alone.code).toBe(1);
  expect(alone.json.snapshots.find((snapshot) => snapshot.prefix === prefix)?.status).toBe('damaged');
  const out = join(folder, uniqueName('replaced'));
  const got = await runCli(['get', '--author', ada.authorId, '--run', first.runId, '--out', out], env);
  expect(got.code).toBe(1);
  expect(await exists(out)).toBe(false);
  // Everything checked: the replaced snapshot is the damaged one, not the intact one that links to it.
  const all = await verify(env, '--author', ada.authorId);
  expect(
    all.json.snapshots.filter((snapshot) => snapshot.status === 'damaged').map((snapshot) => snapshot.prefix),
  ).toEqual([prefix]);
}, 90_000);

test('a signature removed from a snapshot of a signed archive is damage, and get refuses it', async () => {
  const { env, container } = environment();
  await exportRun(env);
  const second = await exportRun(env);
  const prefix = snapshotOf(second, ada.authorId);
  await forge(container, prefix);
  await container.getBlockBlobClient(`${prefix}signature.json`).delete();
  const result = await verify(env, '--author', ada.authorId);
  expect(result.code).toBe(1);
  expect(
    result.json.snapshots
      .find((snapshot) => snapshot.prefix === prefix)
      ?.problems.map((problem) => problem.kind),
  ).toContain('unsigned');
  const out = join(folder, uniqueName('stripped'));
  expect((await runCli(['get', '--author', ada.authorId, '--out', out], env)).code).toBe(1);
  expect(await exists(out)).toBe(false);
}, 90_000);

test('an unsigned, back-dated erasure record does not explain a deleted snapshot of a signed archive', async () => {
  const { env, container } = environment();
  const first = await exportRun(env);
  await exportRun(env);
  const prefix = snapshotOf(first, ada.authorId);
  for await (const item of container.listBlobsFlat({ prefix })) await container.deleteBlob(item.name);
  const record = serializeDocument({
    schemaVersion: 1,
    erasureId: '20200101T000000Z-abcdef',
    authorIdSha256: createHash('sha256').update(ada.authorId).digest('hex'),
    requestedAt: '2020-01-01T00:00:00.000Z',
    completedAt: '2020-01-01T00:00:01.000Z',
    requestedBy: 'nobody',
    deleted: { snapshots: 1, blobs: 4, bytes: 1, runIds: [first.runId] },
    generator: { name: 'gallery-export', version: '0.1.0' },
  });
  await put(container, 'erasures/20200101T000000Z-abcdef.json', record);
  const result = await verify(env);
  expect(result.code).toBe(1);
  const kinds = [
    ...result.json.snapshots.flatMap((snapshot) => snapshot.problems),
    ...result.json.problems,
  ].map((problem) => problem.kind);
  expect(kinds).toEqual(expect.arrayContaining(['chain-broken', 'erasure-invalid']));
  const out = join(folder, uniqueName('backdated'));
  expect((await runCli(['get', '--author', ada.authorId, '--out', out], env)).code).toBe(1);
}, 90_000);

test('a signed snapshot is not handed out when no key is at hand to check its signature', async () => {
  const { env, container } = environment();
  const record = await exportRun(env);
  const prefix = snapshotOf(record, ada.authorId);
  await forge(container, prefix);
  const manifest = await blob(container, `${prefix}manifest.json`);
  const genuine = JSON.parse(
    (await blob(container, `${prefix}signature.json`)).toString(),
  ) as SignatureDocument;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  await put(
    container,
    `${prefix}signature.json`,
    serializeDocument({
      ...genuine,
      sha256: createHash('sha256').update(manifest).digest('hex'),
      signature: sign('sha256', manifest, privateKey).toString('base64'),
    }),
  );
  const out = join(folder, uniqueName('no-key'));
  const got = await runCli(['get', '--author', ada.authorId, '--out', out], { ...env, ...offline });
  expect(got.code).toBe(1);
  expect(got.stderr).toMatch(/--public-key/);
  expect(await exists(out)).toBe(false);
}, 90_000);

test('an unlabelled key given beside the archive key file never vouches for a version the file does not hold', async () => {
  const { env, container } = environment();
  const record = await exportRun(env);
  const prefix = snapshotOf(record, ada.authorId);
  const archive = join(folder, `${uniqueName('archive')}.pem`);
  expect((await runCli(['public-key', '--out', archive], env)).code).toBe(0);
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const attacker = join(folder, `${uniqueName('attacker')}.pem`);
  await writeFile(attacker, publicKey.export({ type: 'spki', format: 'pem' }));
  await forge(container, prefix);
  const manifest = await blob(container, `${prefix}manifest.json`);
  const genuine = JSON.parse(
    (await blob(container, `${prefix}signature.json`)).toString(),
  ) as SignatureDocument;
  await put(
    container,
    `${prefix}signature.json`,
    serializeDocument({
      ...genuine,
      keyId: `${genuine.keyId.split('/').slice(0, -1).join('/')}/0123456789abcdef0123456789abcdef`,
      sha256: createHash('sha256').update(manifest).digest('hex'),
      signature: sign('sha256', manifest, privateKey).toString('base64'),
    }),
  );
  const out = join(folder, uniqueName('mixed'));
  const got = await runCli(
    ['get', '--author', ada.authorId, '--out', out, '--public-key', archive, '--public-key', attacker],
    { ...env, ...offline },
  );
  expect(got.code).toBe(1);
  expect(await exists(out)).toBe(false);
}, 90_000);

test('one run record that is not valid is named, and verify goes on with everything else', async () => {
  const { env, container } = environment();
  const record = await exportRun(env);
  const path = `runs/${record.runId.slice(0, 4)}/${record.runId.slice(4, 6)}/${record.runId.slice(6, 8)}/${record.runId}.json`;
  const stored = JSON.parse((await blob(container, path)).toString()) as Record<string, unknown>;
  await put(container, path, serializeDocument({ ...stored, status: 'bogus' }));
  const result = await verify(env);
  expect(result.json.problems).toEqual([expect.objectContaining({ path, kind: 'run-invalid' })]);
  expect(result.json.snapshots.filter((snapshot) => snapshot.status === 'ok').length).toBeGreaterThan(0);
  expect(result.code).toBe(1);
}, 90_000);

test('an outcome carried in blob metadata that is not a valid outcome is not believed', async () => {
  const { env, container } = environment();
  const record = await exportRun(env);
  const base = `runs/${record.runId.slice(0, 4)}/${record.runId.slice(4, 6)}/${record.runId.slice(6, 8)}/${record.runId}`;
  const path = `${base}.json`;
  const stored = JSON.parse((await blob(container, path)).toString()) as Record<string, unknown>;
  await put(container, path, serializeDocument({ ...stored, status: 'running', completedAt: null }));
  const forged = {
    secretName: 'gallery-author-evil',
    status: 'complete',
    authorId: 'NOT-AN-AUTHOR <b>',
    snapshot: 'snapshots/anything-at-all <b>/',
  };
  await container.getBlockBlobClient(`${base}/gallery-author-evil.json`).upload('{}', 2, {
    metadata: { outcome: Buffer.from(JSON.stringify(forged)).toString('base64url') },
  });
  const result = await runCli(['verify'], env);
  expect(result.stdout).not.toContain('NOT-AN-AUTHOR');
  expect(result.stdout).not.toContain('anything-at-all');
}, 90_000);

test('get names every file that does not match, not only the first', async () => {
  const { env, container } = environment({ SIGNING_KEY_NAME: '' });
  const record = await exportRun(env);
  const prefix = snapshotOf(record, ada.authorId);
  await put(container, `${prefix}profile.json`, Buffer.from('{}\n'));
  await put(container, `${prefix}entities.json`, Buffer.from('[]\n'));
  const got = await runCli(['get', '--author', ada.authorId, '--out', join(folder, uniqueName('both'))], env);
  expect(got.code).toBe(1);
  expect(got.stderr).toContain('profile.json');
  expect(got.stderr).toContain('entities.json');
}, 90_000);

test('--out: a symbolic link is refused before anything is read, and folders made for a refused bundle are removed', async () => {
  const { env, container } = environment({ SIGNING_KEY_NAME: '' });
  const record = await exportRun(env);
  const target = join(folder, uniqueName('target'));
  await mkdir(target);
  const link = join(folder, uniqueName('link'));
  await symlink(target, link);
  const linked = await runCli(['get', '--author', ada.authorId, '--out', link], env);
  expect(linked.code).not.toBe(0);
  expect(linked.stderr).toMatch(/symbolic link/);
  // A refused bundle: the first snapshot replaced after the second one named it.
  await exportRun(env);
  await forge(container, snapshotOf(record, ada.authorId));
  await rm(join(folder, 'fresh'), { recursive: true, force: true });
  const nested = join(folder, 'fresh', 'a', 'b');
  const refused = await runCli(
    ['get', '--author', ada.authorId, '--run', record.runId, '--out', nested],
    env,
  );
  expect(refused.code).toBe(1);
  expect(await exists(join(folder, 'fresh'))).toBe(false);
}, 90_000);

test('a partial bundle left by a killed get is removed by the next get of the same folder', async () => {
  const { env } = environment({ SIGNING_KEY_NAME: '' });
  await exportRun(env);
  const out = join(folder, uniqueName('again'));
  const leftover = join(dirname(out), `.${out.split('/').pop()!}.partial-AbCdEf`);
  await mkdir(leftover);
  await writeFile(join(leftover, 'entities.json'), '[');
  expect((await runCli(['get', '--author', ada.authorId, '--out', out], env)).code).toBe(0);
  expect(await exists(leftover)).toBe(false);
  expect((await readdir(dirname(out))).filter((name) => name.includes('.partial-'))).toEqual([]);
}, 90_000);
