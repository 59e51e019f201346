import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ContainerClient } from '@azure/storage-blob';
import { DEMO_AUTHORS } from '../../dev/catalog-simulator';
import { LOCAL_SIGNING_KEY_NAME, startLocalStack, type LocalStack } from '../../dev/localStack';
import { loadConfig } from '../../src/config';
import {
  serializeDocument,
  type Manifest,
  type RunRecord,
  type SignatureDocument,
} from '../../src/contract/formats';
import { runInProcess } from '../../src/export/runInProcess';
import { createServices } from '../../src/services';
import { runCli } from '../support/cliHarness';
import { containerFor, uniqueName } from '../support/storage';
import { blob, exists, put } from '../support/blobs';

/**
 * Evidence an auditor can rely on (issue 24): verify never cries wolf on a sound archive (selections, vault
 * spellings, a restarted emulator, a rotated key), and get/report never hand out a snapshot that fails its
 * proof.
 */
let stack: LocalStack;
let folder: string;

beforeAll(async () => {
  stack = await startLocalStack();
  await stack.registerDemoAuthors();
  folder = await mkdtemp(join(tmpdir(), 'evidence-'));
}, 60_000);
afterAll(async () => {
  await stack?.stop();
  if (folder) await rm(folder, { recursive: true, force: true });
});

const ada = DEMO_AUTHORS.find((author) => author.label === 'ada-lovelace')!;

function environment(overrides: Record<string, string> = {}): {
  env: Record<string, string>;
  container: ContainerClient;
} {
  const name = uniqueName('evidence');
  return {
    env: { ...stack.env, EXPORT_CONTAINER: name, ...overrides },
    container: containerFor(stack.env.EXPORT_STORAGE!, name),
  };
}

async function exportRun(env: Record<string, string>): Promise<RunRecord> {
  const result = await runCli(['run', '--json'], env);
  return JSON.parse(result.stdout) as RunRecord;
}

/** A run whose clock says it is `daysAgo` days earlier: its snapshots sit in that day's folders. */
async function exportRunDaysAgo(env: Record<string, string>, daysAgo: number): Promise<RunRecord> {
  const offset = daysAgo * 24 * 3600_000;
  const services = createServices(loadConfig(env), {
    logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
    now: () => new Date(Date.now() - offset),
  });
  try {
    await services.ensureStorage();
    return await runInProcess(services, { trigger: 'cli' });
  } finally {
    await services.close();
  }
}

interface VerifyJson {
  snapshots: Array<{
    runId: string;
    prefix: string;
    status: string;
    problems: Array<{ path: string; kind: string; detail: string }>;
  }>;
  problems: Array<{ path: string; kind: string; detail: string }>;
}

async function verify(
  env: Record<string, string | undefined>,
  ...args: string[]
): Promise<{ code: number; json: VerifyJson; stderr: string }> {
  const result = await runCli(['verify', '--json', ...args], env);
  if (!result.stdout.trim())
    throw new Error(`verify printed nothing (exit ${result.code}): ${result.stderr}`);
  return { code: result.code, json: JSON.parse(result.stdout) as VerifyJson, stderr: result.stderr };
}

function problemsOf(json: VerifyJson): Array<{ path: string; kind: string; detail: string }> {
  return [...json.snapshots.flatMap((snapshot) => snapshot.problems), ...json.problems];
}

function snapshotOf(record: RunRecord, authorId: string): string {
  return record.authors.find((author) => author.authorId === authorId)!.snapshot!;
}

const offline = { KEY_VAULT_URL: 'http://127.0.0.1:1', SIGNING_KEY_NAME: '' };

describe('a selection is judged against the whole archive', () => {
  test('verify --run <second>: links to the first run, stored but not selected, are intact', async () => {
    const { env } = environment();
    await exportRun(env);
    const second = await exportRun(env);
    const result = await verify(env, '--run', second.runId, '--require-signatures');
    expect(problemsOf(result.json)).toEqual([]);
    expect(result.code).toBe(0);
    expect(new Set(result.json.snapshots.map((snapshot) => snapshot.runId))).toEqual(new Set([second.runId]));
  }, 90_000);

  test('verify --since today, when the previous snapshots are days older', async () => {
    const { env } = environment();
    await exportRunDaysAgo(env, 3);
    const today = await exportRun(env);
    const since = new Date().toISOString().slice(0, 10);
    const result = await verify(env, '--since', since);
    expect(problemsOf(result.json)).toEqual([]);
    expect(result.code).toBe(0);
    expect(new Set(result.json.snapshots.map((snapshot) => snapshot.runId))).toEqual(new Set([today.runId]));
    const until = await verify(
      env,
      '--until',
      new Date(Date.now() - 2 * 24 * 3600_000).toISOString().slice(0, 10),
    );
    expect(problemsOf(until.json)).toEqual([]);
    expect(until.code).toBe(0);
  }, 90_000);

  test('verify --run latest checks the newest run only', async () => {
    const { env } = environment();
    await exportRun(env);
    const second = await exportRun(env);
    const result = await verify(env, '--run', 'latest');
    expect(result.code).toBe(0);
    expect(result.json.snapshots.length).toBeGreaterThan(0);
    expect(new Set(result.json.snapshots.map((snapshot) => snapshot.runId))).toEqual(new Set([second.runId]));
  }, 90_000);
});

describe('the archive key, however the vault is spelled', () => {
  test('KEY_VAULT_URL with a trailing slash, or an upper-case host, verifies online', async () => {
    const { env } = environment();
    await exportRun(env);
    const slash = await verify({ ...env, KEY_VAULT_URL: `${stack.vault.url}/` }, '--require-signatures');
    expect(problemsOf(slash.json)).toEqual([]);
    expect(slash.code).toBe(0);
    const upper = stack.vault.url.replace('127.0.0.1', 'LOCALHOST');
    const shouting = await verify({ ...env, KEY_VAULT_URL: upper }, '--require-signatures');
    expect(problemsOf(shouting.json)).toEqual([]);
    expect(shouting.code).toBe(0);
  }, 90_000);

  test('an attacker key is refused online and offline: another vault, or a version the vault does not have', async () => {
    const { env, container } = environment();
    const record = await exportRun(env);
    const prefix = snapshotOf(record, ada.authorId);
    const genuine = JSON.parse(
      (await blob(container, `${prefix}signature.json`)).toString(),
    ) as SignatureDocument;
    const version = genuine.keyId.split('/').pop()!;
    const pem = join(folder, `${uniqueName('archive')}.pem`);
    expect((await runCli(['public-key', '--out', pem], env)).code).toBe(0);
    const manifest = await blob(container, `${prefix}manifest.json`);
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const forged = (keyId: string): Buffer =>
      serializeDocument({
        ...genuine,
        keyId,
        signature: sign('sha256', manifest, privateKey).toString('base64'),
      });
    for (const keyId of [
      `https://attacker.vault.azure.net/keys/${LOCAL_SIGNING_KEY_NAME}/${version}`,
      `${stack.vault.url}/keys/${LOCAL_SIGNING_KEY_NAME}/0123456789abcdef0123456789abcdef`,
      `${stack.vault.url}/keys/another-key/${version}`,
    ]) {
      await container.getBlockBlobClient(`${prefix}signature.json`).deleteIfExists();
      await put(container, `${prefix}signature.json`, forged(keyId));
      const online = await verify(env, '--author', ada.authorId);
      expect(problemsOf(online.json).map((problem) => problem.kind)).toEqual(['signature-invalid']);
      expect(online.code).toBe(1);
      const offlineResult = await verify(
        { ...env, ...offline },
        '--author',
        ada.authorId,
        '--public-key',
        pem,
      );
      expect(problemsOf(offlineResult.json).map((problem) => problem.kind)).toEqual(['signature-invalid']);
      expect(offlineResult.code).toBe(1);
    }
  }, 120_000);
});

test('npm start, then npm run local, then verify: the same archive key on a vault restarted on another port', async () => {
  const home = await mkdtemp(join(tmpdir(), 'evidence-home-'));
  const location = join(home, 'azurite');
  try {
    const first = await startLocalStack({ azuriteLocation: location });
    let firstUrl: string;
    try {
      await first.registerDemoAuthors();
      firstUrl = first.vault.url;
      const record = await exportRun(first.env);
      expect(record.authors.some((author) => author.status === 'complete')).toBe(true);
    } finally {
      await first.stop();
    }
    const second = await startLocalStack({ azuriteLocation: location });
    try {
      expect(second.vault.url).not.toBe(firstUrl);
      const result = await verify(second.env, '--require-signatures');
      expect(problemsOf(result.json)).toEqual([]);
      expect(result.code).toBe(0);
      const pem = join(home, 'key.pem');
      expect((await runCli(['public-key', '--out', pem], second.env)).code).toBe(0);
      const offlineResult = await verify({ ...second.env, ...offline }, '--public-key', pem);
      expect(problemsOf(offlineResult.json)).toEqual([]);
      expect(offlineResult.code).toBe(0);
    } finally {
      await second.stop();
    }
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}, 120_000);

test('after a rotation, offline verify passes with the public-key --out file, and with two bare PEM files', async () => {
  const { env } = environment();
  await exportRun(env);
  const before = stack.vault.getKeyVersions(LOCAL_SIGNING_KEY_NAME)!.at(-1)!;
  await stack.vault.createKey(LOCAL_SIGNING_KEY_NAME, { size: 3072, keyOps: ['sign', 'verify'] });
  await exportRun(env);
  const every = join(folder, `${uniqueName('every')}.pem`);
  expect((await runCli(['public-key', '--out', every], env)).code).toBe(0);
  const text = await readFile(every, 'utf8');
  expect(text.match(/-----BEGIN PUBLIC KEY-----/g)!.length).toBeGreaterThanOrEqual(2);
  const withFile = await verify({ ...env, ...offline }, '--public-key', every, '--require-signatures');
  expect(problemsOf(withFile.json)).toEqual([]);
  expect(withFile.code).toBe(0);
  // Bare PEMs, as openssl or another tool writes them (no keyId line): each one tried.
  const bare = async (version: string | undefined): Promise<string> => {
    const file = join(folder, `${uniqueName('bare')}.pem`);
    const labelled = join(folder, `${uniqueName('labelled')}.pem`);
    const args = version ? ['--key-version', version] : [];
    expect((await runCli(['public-key', ...args, '--out', labelled], env)).code).toBe(0);
    const pem = (await readFile(labelled, 'utf8')).replace(/^keyId:.*\n/gm, '');
    await writeFile(file, pem);
    return file;
  };
  const newest = await bare(stack.vault.getKeyVersions(LOCAL_SIGNING_KEY_NAME)!.at(-1)!.version);
  const oldest = await bare(before.version);
  const two = await verify({ ...env, ...offline }, '--public-key', newest, '--public-key', oldest);
  expect(problemsOf(two.json)).toEqual([]);
  expect(two.code).toBe(0);
}, 120_000);

describe('get and report hand out only a proven snapshot', () => {
  async function forge(container: ContainerClient, prefix: string): Promise<void> {
    // entities.json rewritten and the manifest's hash fixed to match, but not signed again.
    const manifest = JSON.parse((await blob(container, `${prefix}manifest.json`)).toString()) as Manifest;
    const entities = Buffer.from('[]\n');
    const file = manifest.files.find((entry) => entry.name === 'entities.json')!;
    file.bytes = entities.length;
    file.sha256 = createHash('sha256').update(entities).digest('hex');
    manifest.counts = { ...manifest.counts, entities: 0, unlisted: 0 };
    await put(container, `${prefix}entities.json`, entities);
    await put(container, `${prefix}manifest.json`, serializeDocument(manifest));
  }

  test('a forged snapshot (hash fixed, not signed again) is refused by get and report, and nothing is written', async () => {
    const { env, container } = environment();
    const record = await exportRun(env);
    await forge(container, snapshotOf(record, ada.authorId));
    const out = join(folder, uniqueName('forged-bundle'));
    const got = await runCli(['get', '--author', ada.authorId, '--out', out], env);
    expect(got.code).toBe(1);
    expect(got.stderr).toMatch(/signature/);
    expect(got.stdout).not.toMatch(/checked/);
    expect(await exists(out)).toBe(false);
    const html = join(folder, `${uniqueName('forged-report')}.html`);
    const reported = await runCli(['report', '--author', ada.authorId, '--out', html], env);
    expect(reported.code).toBe(1);
    expect(reported.stderr).toMatch(/signature/);
    expect(await exists(html)).toBe(false);
  }, 90_000);

  test('a replaced predecessor is refused by get: the chain link is part of the proof', async () => {
    const { env, container } = environment({ SIGNING_KEY_NAME: '' });
    const first = await exportRun(env);
    await exportRun(env);
    await forge(container, snapshotOf(first, ada.authorId));
    const out = join(folder, uniqueName('chain-bundle'));
    const got = await runCli(['get', '--author', ada.authorId, '--out', out], env);
    expect(got.code).toBe(1);
    expect(got.stderr).toMatch(/chain|replaced/);
    expect(await exists(out)).toBe(false);
  }, 90_000);

  test.each([
    ['signed', {}],
    ['unsigned', { SIGNING_KEY_NAME: '' }],
  ])(
    'a manifest value crafted as markup never reaches report.html (%s)',
    async (_label, overrides) => {
      const { env, container } = environment(overrides);
      const record = await exportRun(env);
      const prefix = snapshotOf(record, ada.authorId);
      const manifest = JSON.parse((await blob(container, `${prefix}manifest.json`)).toString()) as Record<
        string,
        unknown
      >;
      const injected = '<meta http-equiv="refresh" content="0;url=https://attacker.example/">';
      manifest.counts = { ...(manifest.counts as object), entities: injected };
      await put(container, `${prefix}manifest.json`, serializeDocument(manifest));
      const out = join(folder, uniqueName('injected'));
      const got = await runCli(['get', '--author', ada.authorId, '--out', out], env);
      expect(got.code).toBe(1);
      expect(got.stderr).toMatch(/counts\/entities/);
      expect(await exists(out)).toBe(false);
      const html = join(folder, `${uniqueName('injected')}.html`);
      const reported = await runCli(['report', '--author', ada.authorId, '--out', html], env);
      expect(reported.code).toBe(1);
      expect(await exists(html)).toBe(false);
      const listed = await runCli(['list', '--author', ada.authorId], env);
      expect(listed.stdout + listed.stderr).not.toContain(injected);
    },
    90_000,
  );

  test('report.html says what was checked, and with which key version', async () => {
    const { env, container } = environment();
    const record = await exportRun(env);
    const prefix = snapshotOf(record, ada.authorId);
    const signature = JSON.parse(
      (await blob(container, `${prefix}signature.json`)).toString(),
    ) as SignatureDocument;
    const out = join(folder, uniqueName('proven'));
    const got = await runCli(['get', '--author', ada.authorId, '--out', out], env);
    expect(got.code).toBe(0);
    const html = await readFile(join(out, 'report.html'), 'utf8');
    expect(html).toContain('signature was checked');
    expect(html).toContain(signature.keyId.split('/').pop()!);
    // Without a public key the signature cannot be checked, and a signature nobody checked proves
    // nothing: the bundle is refused, naming where the key comes from. With the key file, it is handed out.
    const unchecked = join(folder, uniqueName('unchecked'));
    const plain = await runCli(['get', '--author', ada.authorId, '--out', unchecked], { ...env, ...offline });
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(/--public-key/);
    expect(await exists(unchecked)).toBe(false);
    const pem = join(folder, `${uniqueName('key')}.pem`);
    expect((await runCli(['public-key', '--out', pem], env)).code).toBe(0);
    const offlineOut = join(folder, uniqueName('offline'));
    const withKey = await runCli(
      ['get', '--author', ada.authorId, '--out', offlineOut, '--public-key', pem],
      {
        ...env,
        ...offline,
      },
    );
    expect(withKey.code).toBe(0);
    expect(await readFile(join(offlineOut, 'report.html'), 'utf8')).toContain(
      signature.keyId.split('/').pop()!,
    );
  }, 90_000);
});

test('verify --problems prints only what is wrong, each with the next step, and a one-line total', async () => {
  const { env, container } = environment();
  const record = await exportRun(env);
  const prefix = snapshotOf(record, ada.authorId);
  await put(container, `${prefix}entities.json`, Buffer.from('[]\n'));
  const result = await runCli(['verify', '--problems'], { ...env, COLUMNS: '120' });
  expect(result.code).toBe(1);
  const lines = result.stdout.trimEnd().split('\n');
  expect(lines.some((line) => /^\s*OK\b/.test(line))).toBe(false);
  expect(result.stdout).toContain('entities.json');
  expect(result.stdout).toMatch(/next:/i);
  expect(lines.at(-1)).toMatch(/1 damaged/);
  for (const line of result.stdout.split('\n')) expect(line.length).toBeLessThanOrEqual(120);
}, 90_000);
