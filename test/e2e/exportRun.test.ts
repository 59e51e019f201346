import { createHash } from 'node:crypto';
import type { ContainerClient } from '@azure/storage-blob';
import { DEMO_AUTHORS, serializeCatalogJson } from '../../dev/catalog-simulator';
import { startLocalStack, type DemoRegistration, type LocalStack } from '../../dev/localStack';
import type { Manifest, RunRecord } from '../../src/contract/formats';
import { runCli, type CliResult } from '../support/cliHarness';
import { validateStoredDocuments } from '../support/documents';
import { containerFor, readAllBlobs, uniqueName } from '../support/storage';

/**
 * The product's spine, end to end: the demo authors registered in the vault emulator through the real
 * SecretClient, the catalog simulator over real HTTP, Azurite through the real Blob SDK, driven by the
 * `gallery-export run` command as a user would run it.
 */
let stack: LocalStack;
let registrations: DemoRegistration[];
let env: Record<string, string>;
let container: ContainerClient;
let first: CliResult;
let second: CliResult;

beforeAll(async () => {
  stack = await startLocalStack();
  registrations = await stack.registerDemoAuthors();
  const name = uniqueName('e2e');
  env = { ...stack.env, EXPORT_CONTAINER: name };
  container = containerFor(stack.env.EXPORT_STORAGE!, name);
  first = await runCli(['run', '--verbose'], env);
  second = await runCli(['run', '--verbose', '--json'], env);
});

afterAll(async () => {
  await stack?.stop();
});

function parseRecord(result: CliResult): RunRecord {
  return JSON.parse(result.stdout) as RunRecord;
}

async function manifestsOf(runId: string): Promise<Map<string, Manifest>> {
  const manifests = new Map<string, Manifest>();
  for (const [name, blob] of await readAllBlobs(container, 'snapshots/')) {
    if (name.endsWith(`/${runId}/manifest.json`)) {
      const manifest = JSON.parse(blob.body.toString('utf8')) as Manifest;
      manifests.set(manifest.authorId, manifest);
    }
  }
  return manifests;
}

test('run exits 1 because some demo authors fail on purpose, and the summary names every author', () => {
  expect(first.code).toBe(1);
  // Each by the label of its secret (issue 27: the summary names authors as people registered them).
  for (const registration of registrations) expect(first.stdout).toContain(registration.label);
  expect(first.stdout).toMatch(/partial \(6 complete, 2 failed, 1 skipped\)/);
  expect(first.stdout).toContain('CATALOG_NOT_FOUND');
  expect(first.stdout).toContain('AUTHOR_CONFIG');
  expect(first.stdout).toContain('the secret is disabled');
});

test('every author with a valid token gets every public and unlisted entity exactly once, as sent, sorted by id', async () => {
  const record = parseRecord(second);
  const manifests = await manifestsOf(record.runId);
  const blobs = await readAllBlobs(container, 'snapshots/');
  for (const demo of DEMO_AUTHORS.filter(
    (author) => !['sofia-ramirez', 'aasa-odegaard'].includes(author.label),
  )) {
    const manifest = manifests.get(demo.authorId)!;
    expect(manifest).toBeDefined();
    expect(manifest.token.status).toBe('valid');
    expect(manifest.includesUnlisted).toBe(true);
    expect(manifest.counts).toMatchObject({
      entities: demo.entities,
      unlisted: demo.unlisted,
      reportedByCatalog: demo.entities,
    });

    const entitiesFile = manifest.files.find((file) => file.name === 'entities.json')!;
    const text = blobs.get(entitiesFile.path)!.body.toString('utf8');
    const entities = JSON.parse(text) as Array<{ id: string }>;
    const ids = entities.map((entity) => entity.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual([...ids].sort());
    const expected = stack.catalog.data.authors.get(demo.authorId)!.entities;
    expect(ids).toEqual(expected.map((entity) => entity.id).sort());
    // Byte for byte as the catalog sent each one (numbers such as 86.351575190956922 untouched).
    for (const entity of expected) expect(text).toContain(serializeCatalogJson(entity));
  }
});

test('manifest sizes and SHA-256 match the stored bytes; files are JSON with the contract tags', async () => {
  const record = parseRecord(second);
  const manifests = await manifestsOf(record.runId);
  const blobs = await readAllBlobs(container);
  expect(manifests.size).toBe(6);
  for (const manifest of manifests.values()) {
    expect(manifest.files.map((file) => file.name)).toEqual(['profile.json', 'entities.json']);
    for (const file of manifest.files) {
      const stored = blobs.get(file.path)!;
      expect(stored.body.length).toBe(file.bytes);
      expect(createHash('sha256').update(stored.body).digest('hex')).toBe(file.sha256);
      expect(stored.contentType).toBe('application/json');
      expect(stored.tags).toEqual({
        runId: record.runId,
        kind: file.name.replace('.json', ''),
        authorId: manifest.authorId,
      });
    }
    const manifestBlob = blobs.get(manifest.files[0]!.path.replace('profile.json', 'manifest.json'))!;
    expect(manifestBlob.tags).toEqual({ runId: record.runId, kind: 'manifest', authorId: manifest.authorId });
  }
  for (const [name, blob] of blobs) {
    expect([name, blob.contentType]).toEqual([name, 'application/json']);
  }
});

test('an expired token exports the public entities and says so; no token is "absent"', async () => {
  const manifests = await manifestsOf(parseRecord(second).runId);
  const sofia = DEMO_AUTHORS.find((author) => author.label === 'sofia-ramirez')!;
  const expired = manifests.get(sofia.authorId)!;
  expect(expired.token.status).toBe('expired');
  expect(expired.token.expiresAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  expect(expired.includesUnlisted).toBe(false);
  expect(expired.counts).toMatchObject({ entities: sofia.entities - sofia.unlisted, unlisted: 0 });
  expect(expired.warnings.join(' ')).toMatch(/expired/);

  const asa = DEMO_AUTHORS.find((author) => author.label === 'aasa-odegaard')!;
  const absent = manifests.get(asa.authorId)!;
  expect(absent.token).toEqual({ status: 'absent' });
  expect(absent.includesUnlisted).toBe(false);
  expect(absent.counts.entities).toBe(0);
});

test('the run record lists every outcome: 404, disabled and malformed are reported, the others complete', async () => {
  const record = parseRecord(second);
  const stored = JSON.parse(
    (
      await container
        .getBlockBlobClient(
          `runs/${record.runId.slice(0, 4)}/${record.runId.slice(4, 6)}/${record.runId.slice(6, 8)}/${record.runId}.json`,
        )
        .downloadToBuffer()
    ).toString('utf8'),
  ) as RunRecord;
  expect(stored.status).toBe('partial');
  expect(stored.completedAt).not.toBeNull();
  expect(stored.trigger).toBe('cli');
  const bySecret = new Map(stored.authors.map((author) => [author.secretName, author]));
  expect(bySecret.get('gallery-author-unknown-author')).toMatchObject({
    status: 'failed',
    error: { code: 'CATALOG_NOT_FOUND' },
  });
  expect(bySecret.get('gallery-author-malformed-author')).toMatchObject({
    status: 'failed',
    authorId: null,
    error: { code: 'AUTHOR_CONFIG' },
  });
  expect(bySecret.get('gallery-author-disabled-author')).toMatchObject({
    status: 'skipped',
    reason: 'the secret is disabled',
  });
  for (const demo of DEMO_AUTHORS) {
    const outcome = bySecret.get(`gallery-author-${demo.label}`)!;
    expect(outcome.status).toBe('complete');
    expect(outcome.snapshot).toBe(
      `snapshots/${demo.authorId}/${record.runId.slice(0, 4)}/${record.runId.slice(4, 6)}/${record.runId.slice(6, 8)}/${record.runId}/`,
    );
    expect(outcome.catalog!.requests).toBeGreaterThanOrEqual(2);
  }
  expect(stored.counts).toEqual({ authors: 9, complete: 6, failed: 2, skipped: 1, pending: 0 });
});

test('running twice makes two separate snapshots and leaves the first untouched', async () => {
  const firstRunId = /Run (\S+): partial/.exec(first.stdout)![1]!;
  const secondRunId = parseRecord(second).runId;
  expect(secondRunId).not.toBe(firstRunId);
  const firstManifests = await manifestsOf(firstRunId);
  const secondManifests = await manifestsOf(secondRunId);
  expect(firstManifests.size).toBe(6);
  expect(secondManifests.size).toBe(6);
  const blobs = await readAllBlobs(container, 'snapshots/');
  for (const manifest of firstManifests.values()) {
    for (const file of manifest.files) {
      expect(createHash('sha256').update(blobs.get(file.path)!.body).digest('hex')).toBe(file.sha256);
    }
  }
});

test('no token appears in any blob, log line or CLI output', async () => {
  const tokens = stack.catalog.issuedTokens;
  expect(tokens.length).toBeGreaterThanOrEqual(5);
  const blobs = await readAllBlobs(container);
  const haystacks = [
    first.stdout,
    first.stderr,
    second.stdout,
    second.stderr,
    ...[...blobs.values()].map((blob) => blob.body.toString('utf8')),
  ];
  expect(first.stderr).toContain('GalleryExport.TokenHealth'); // --verbose really printed the log lines
  for (const token of tokens) {
    const signature = token.split('.')[2]!;
    for (const text of haystacks) {
      expect(text.includes(token)).toBe(false);
      expect(text.includes(signature)).toBe(false);
    }
  }
});

test('every manifest, run record and outcome written validates against its JSON Schema', async () => {
  const { checked, problems } = await validateStoredDocuments(container);
  expect(problems).toEqual([]);
  expect(checked).toMatchObject({ manifest: 12, run: 2, outcome: 16 });
});
