import { execFile } from 'node:child_process';
import { createHash, createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ContainerClient } from '@azure/storage-blob';
import { DEMO_AUTHORS } from '../../dev/catalog-simulator';
import { LOCAL_SIGNING_KEY_NAME, startLocalStack, type LocalStack } from '../../dev/localStack';
import {
  serializeDocument,
  type Manifest,
  type RunRecord,
  type SignatureDocument,
} from '../../src/contract/formats';
import { runCli } from '../support/cliHarness';
import { validateStoredDocuments } from '../support/documents';
import { containerFor, uniqueName } from '../support/storage';
import { blob, put } from '../support/blobs';

/**
 * Tamper-evident archive (issue 15): manifests and erasure records signed by a Key Vault key, a hash chain
 * per author, verifiable against the vault or offline with a PEM, and with openssl alone.
 */
const run = promisify(execFile);
let stack: LocalStack;
let folder: string;

beforeAll(async () => {
  stack = await startLocalStack();
  await stack.registerDemoAuthors();
  folder = await mkdtemp(join(tmpdir(), 'signing-'));
}, 60_000);
afterAll(async () => {
  await stack?.stop();
  if (folder) await rm(folder, { recursive: true, force: true });
});

function environment(): { env: Record<string, string>; container: ContainerClient } {
  const name = uniqueName('signed');
  return {
    env: { ...stack.env, EXPORT_CONTAINER: name },
    container: containerFor(stack.env.EXPORT_STORAGE!, name),
  };
}

async function exportRuns(env: Record<string, string>, count: number): Promise<RunRecord[]> {
  const records: RunRecord[] = [];
  for (let index = 0; index < count; index++) {
    const result = await runCli(['run', '--json'], env);
    records.push(JSON.parse(result.stdout) as RunRecord);
  }
  return records;
}

interface VerifyJson {
  snapshots: Array<{
    prefix: string;
    status: string;
    problems: Array<{ path: string; kind: string; detail: string }>;
    notes: string[];
  }>;
  problems: Array<{ path: string; kind: string }>;
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

function problemsOf(json: VerifyJson): Array<{ path: string; kind: string }> {
  return [...json.snapshots.flatMap((snapshot) => snapshot.problems), ...json.problems].map(
    ({ path, kind }) => ({
      path,
      kind,
    }),
  );
}

const ada = DEMO_AUTHORS.find((author) => author.label === 'ada-lovelace')!;
const zoe = DEMO_AUTHORS.find((author) => author.label === 'zoe-muller')!;
const li = DEMO_AUTHORS.find((author) => author.label === 'li-wei')!;
const sofia = DEMO_AUTHORS.find((author) => author.label === 'sofia-ramirez')!;

function snapshotOf(record: RunRecord, authorId: string): string {
  return record.authors.find((author) => author.authorId === authorId)!.snapshot!;
}

test('every manifest is signed by the vault key, each names its predecessor, and a clean archive verifies online and offline', async () => {
  const { env, container } = environment();
  stack.vault.requests.length = 0;
  const records = await exportRuns(env, 2);
  const complete = records.flatMap((record) =>
    record.authors.filter((author) => author.status === 'complete'),
  );
  // One vault call per snapshot to sign it (the first of the process also answers the challenge once).
  const signs = stack.vault.requests.filter(
    (request) => request.method === 'POST' && request.path.endsWith('/sign'),
  );
  expect(signs.filter((request) => request.status === 200)).toHaveLength(complete.length);
  expect(signs.length).toBeLessThanOrEqual(complete.length + records.length);

  const first = snapshotOf(records[0]!, ada.authorId);
  const second = snapshotOf(records[1]!, ada.authorId);
  const manifest = JSON.parse((await blob(container, `${second}manifest.json`)).toString()) as Manifest;
  expect(manifest.previous).toEqual({
    runId: records[0]!.runId,
    manifestSha256: createHash('sha256')
      .update(await blob(container, `${first}manifest.json`))
      .digest('hex'),
  });
  const firstManifest = JSON.parse((await blob(container, `${first}manifest.json`)).toString()) as Manifest;
  expect(firstManifest.previous).toBeNull();
  const signature = JSON.parse(
    (await blob(container, `${second}signature.json`)).toString(),
  ) as SignatureDocument;
  expect(signature).toMatchObject({ schemaVersion: 1, alg: 'RS256', signed: 'manifest.json' });
  expect(signature.keyId).toMatch(
    new RegExp(`^${stack.vault.url}/keys/${LOCAL_SIGNING_KEY_NAME}/[0-9a-f]+$`),
  );
  expect((await validateStoredDocuments(container)).problems).toEqual([]);

  const online = await verify(env, '--require-signatures');
  expect(problemsOf(online.json)).toEqual([]);
  expect(online.code).toBe(0);

  const pem = join(folder, `${uniqueName('key')}.pem`);
  expect((await runCli(['public-key', '--out', pem], env)).code).toBe(0);
  // Offline: no vault at all.
  const offlineEnv = { ...env, KEY_VAULT_URL: 'http://127.0.0.1:1', SIGNING_KEY_NAME: '' };
  const offline = await verify(offlineEnv, '--public-key', pem, '--require-signatures');
  expect(problemsOf(offline.json)).toEqual([]);
  expect(offline.code).toBe(0);
}, 90_000);

test('a stored signature checks with the openssl commands of the docs, nothing of this project involved', async () => {
  const { env, container } = environment();
  const [record] = await exportRuns(env, 1);
  const prefix = snapshotOf(record!, li.authorId);
  const work = await mkdtemp(join(folder, 'openssl-'));
  await writeFile(join(work, 'manifest.json'), await blob(container, `${prefix}manifest.json`));
  await writeFile(join(work, 'signature.json'), await blob(container, `${prefix}signature.json`));
  expect((await runCli(['public-key', '--out', join(work, 'key.pem')], env)).code).toBe(0);
  // docs/snapshot-format.md, "For auditors".
  const shell = (command: string): Promise<{ stdout: string }> => run('sh', ['-c', command], { cwd: work });
  await shell('jq -r .signature signature.json | base64 -d > signature.bin');
  const verified = await shell('openssl dgst -sha256 -verify key.pem -signature signature.bin manifest.json');
  expect(verified.stdout.trim()).toBe('Verified OK');
  const sums = await shell('sha256sum manifest.json | cut -d" " -f1');
  expect(sums.stdout.trim()).toBe((await shell('jq -r .sha256 signature.json')).stdout.trim());
  // And a changed byte does not verify.
  await writeFile(
    join(work, 'manifest.json'),
    Buffer.concat([await blob(container, `${prefix}manifest.json`), Buffer.from(' ')]),
  );
  await expect(
    shell('openssl dgst -sha256 -verify key.pem -signature signature.bin manifest.json'),
  ).rejects.toThrow(/Verification failure|bad signature/);
}, 60_000);

test('tampering four ways: each is named with its path; an unsigned snapshot fails --require-signatures', async () => {
  const { env, container } = environment();
  const records = await exportRuns(env, 3);
  const [r1, r2, r3] = records as [RunRecord, RunRecord, RunRecord];

  // 1. A replaced manifest (its files untouched): Ada's first snapshot says something else.
  const replaced = `${snapshotOf(r1, ada.authorId)}manifest.json`;
  const manifest = JSON.parse((await blob(container, replaced)).toString()) as Manifest;
  await put(container, replaced, serializeDocument({ ...manifest, warnings: ['nothing to see here'] }));

  // 2. A replaced file with a matching new manifest: Zoë's second snapshot loses an entity.
  const zoePrefix = snapshotOf(r2, zoe.authorId);
  const entities = JSON.parse((await blob(container, `${zoePrefix}entities.json`)).toString()) as unknown[];
  const fewer = Buffer.from(`${JSON.stringify(entities.slice(1))}\n`);
  await put(container, `${zoePrefix}entities.json`, fewer);
  const zoeManifest = JSON.parse((await blob(container, `${zoePrefix}manifest.json`)).toString()) as Manifest;
  const resealed = {
    ...zoeManifest,
    files: zoeManifest.files.map((file) =>
      file.name === 'entities.json'
        ? { ...file, bytes: fewer.length, sha256: createHash('sha256').update(fewer).digest('hex') }
        : file,
    ),
  };
  await put(container, `${zoePrefix}manifest.json`, serializeDocument(resealed));

  // 3. A deleted middle snapshot: Li's second one, gone with every file.
  const liMiddle = snapshotOf(r2, li.authorId);
  for await (const item of container.listBlobsFlat({ prefix: liMiddle }))
    await container.deleteBlob(item.name);

  // 4. A signature by another key: Sofía's third manifest re-signed by a key that is not the archive's.
  const sofiaPrefix = snapshotOf(r3, sofia.authorId);
  const bytes = await blob(container, `${sofiaPrefix}manifest.json`);
  const intruder = generateKeyPairSync('rsa', { modulusLength: 3072 });
  const forged: SignatureDocument = {
    schemaVersion: 1,
    alg: 'RS256',
    keyId: `${stack.vault.url}/keys/someone-else/0123456789abcdef0123456789abcdef`,
    signed: 'manifest.json',
    sha256: createHash('sha256').update(bytes).digest('hex'),
    signature: sign(
      'sha256',
      bytes,
      createPrivateKey(intruder.privateKey.export({ type: 'pkcs8', format: 'pem' })),
    ).toString('base64'),
  };
  await put(container, `${sofiaPrefix}signature.json`, serializeDocument(forged));

  const { code, json } = await verify(env);
  expect(code).toBe(1);
  const problems = problemsOf(json);
  expect(problems).toEqual(
    expect.arrayContaining([
      { path: `${snapshotOf(r1, ada.authorId)}signature.json`, kind: 'signature-invalid' },
      // Ada's second snapshot links to the manifest that was there before.
      { path: replaced, kind: 'chain-broken' },
      { path: `${zoePrefix}signature.json`, kind: 'signature-invalid' },
      // And Zoë's third snapshot links to the manifest her second one had before it was resealed.
      { path: `${zoePrefix}manifest.json`, kind: 'chain-broken' },
      { path: liMiddle, kind: 'chain-broken' },
      { path: liMiddle, kind: 'missing' },
      { path: `${sofiaPrefix}signature.json`, kind: 'signature-invalid' },
    ]),
  );
  // Nothing else is called damage.
  expect(problems).toHaveLength(7);
  const sofiaProblem = json.snapshots.find((snapshot) => snapshot.prefix === sofiaPrefix)!.problems[0]!;
  expect(sofiaProblem.detail).toMatch(/not by the archive's key/);

  // An unsigned snapshot: a world without SIGNING_KEY_NAME writes one; --require-signatures calls it damage.
  const unsigned = { ...environment().env, SIGNING_KEY_NAME: '' };
  await exportRuns(unsigned, 1);
  const lenient = await verify(unsigned);
  expect(lenient.code).toBe(0);
  const strict = await verify(
    { ...unsigned, SIGNING_KEY_NAME: LOCAL_SIGNING_KEY_NAME },
    '--require-signatures',
  );
  expect(strict.code).toBe(1);
  expect(new Set(problemsOf(strict.json).map((problem) => problem.kind))).toEqual(new Set(['unsigned']));
}, 120_000);

test('a rotated key keeps older snapshots verifiable: each signature names its key version', async () => {
  const { env } = environment();
  await exportRuns(env, 1);
  const before = stack.vault.getKeyVersions(LOCAL_SIGNING_KEY_NAME)!.at(-1)!;
  await stack.vault.createKey(LOCAL_SIGNING_KEY_NAME, { size: 3072, keyOps: ['sign', 'verify'] });
  const after = stack.vault.getKeyVersions(LOCAL_SIGNING_KEY_NAME)!.at(-1)!;
  expect(after.version).not.toBe(before.version);
  // A new process looks up the latest version: the next run signs with it.
  await exportRuns(env, 1);
  const online = await verify(env, '--require-signatures');
  expect(problemsOf(online.json)).toEqual([]);
  // Offline, with the PEM of each version (public-key --key-version).
  const old = join(folder, `${uniqueName('old')}.pem`);
  const latest = join(folder, `${uniqueName('new')}.pem`);
  expect((await runCli(['public-key', '--key-version', before.version, '--out', old], env)).code).toBe(0);
  const newest = stack.vault.getKeyVersions(LOCAL_SIGNING_KEY_NAME)!.at(-1)!.version;
  expect((await runCli(['public-key', '--key-version', newest, '--out', latest], env)).code).toBe(0);
  const offlineEnv = { ...env, KEY_VAULT_URL: 'http://127.0.0.1:1', SIGNING_KEY_NAME: '' };
  const both = await verify(offlineEnv, '--public-key', old, '--public-key', latest, '--require-signatures');
  expect(problemsOf(both.json)).toEqual([]);
  const onlyNew = await verify(offlineEnv, '--public-key', latest);
  expect(new Set(problemsOf(onlyNew.json).map((problem) => problem.kind))).toEqual(
    new Set(['signature-invalid']),
  );
}, 90_000);

test('erasure records are signed too, and a purge leaves an archive that verifies with signatures required', async () => {
  const { env, container } = environment();
  await exportRuns(env, 2);
  const purge = await runCli(
    ['purge', '--author', ada.authorId, '--yes', '--keep-registration', '--json'],
    env,
  );
  expect(purge.code).toBe(0);
  const { erasureRecord } = JSON.parse(purge.stdout) as { erasureRecord: string };
  const signature = JSON.parse(
    (await blob(container, erasureRecord.replace(/\.json$/, '.signature.json'))).toString(),
  ) as SignatureDocument;
  expect(signature.signed).toBe(erasureRecord.split('/').pop());
  const strict = await verify(env, '--require-signatures');
  expect(problemsOf(strict.json)).toEqual([]);
  expect(strict.code).toBe(0);
  // A tampered erasure record is named.
  await put(
    container,
    erasureRecord,
    Buffer.concat([await blob(container, erasureRecord), Buffer.from('\n')]),
  );
  const tampered = await verify(env);
  expect(problemsOf(tampered.json)).toEqual(
    expect.arrayContaining([
      { path: erasureRecord.replace(/\.json$/, '.signature.json'), kind: 'signature-invalid' },
    ]),
  );
}, 90_000);
