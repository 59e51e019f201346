import { HttpRequest } from '@azure/functions';
import type { ContainerClient } from '@azure/storage-blob';
import { serializeDocument, type Manifest, type RunRecord } from '../../src/contract/formats';
import { listAuthorSnapshots } from '../../src/functions/httpApi';
import { useEnvironment } from '../../src/functions/runtime';
import { runCli } from '../support/cliHarness';
import { invocation } from '../support/functionsHarness';
import { createWorld, useAzuriteAndVault, type World } from '../support/world';

/**
 * verify without blind spots (issue 12): every way a container can hold something a manifest does not
 * account for is reported with its path, what is not damage is not reported as damage, and readers keep
 * working around a manifest in the Archive tier.
 */
const servers = useAzuriteAndVault();
let world: World;
let snapshots: Map<string, string>;

beforeAll(async () => {
  world = await createWorld(servers, 5);
  const run = await runCli(['run', '--json'], world.env);
  snapshots = new Map(
    (JSON.parse(run.stdout) as RunRecord).authors.map((author) => [author.authorId!, author.snapshot!]),
  );
}, 60_000);
afterAll(async () => {
  await useEnvironment(undefined);
  await world?.catalog.close();
});

interface VerifyJson {
  ok: number;
  damaged: number;
  snapshots: Array<{ prefix: string; status: string; problems: Array<{ path: string; kind: string }> }>;
  problems?: Array<{ path: string; kind: string }>;
}

async function verify(): Promise<{ code: number; json: VerifyJson }> {
  const result = await runCli(['verify', '--json'], world.env);
  return { code: result.code, json: JSON.parse(result.stdout) as VerifyJson };
}

function allProblems(json: VerifyJson): Array<{ path: string; kind: string }> {
  return [...json.snapshots.flatMap((snapshot) => snapshot.problems), ...(json.problems ?? [])];
}

async function upload(container: ContainerClient, path: string, body: string | Buffer): Promise<void> {
  await container.getBlockBlobClient(path).upload(body, Buffer.byteLength(body));
}

test('a clean archive verifies', async () => {
  const { code, json } = await verify();
  expect(allProblems(json)).toEqual([]);
  expect(code).toBe(0);
});

describe('each blind spot is reported with its path, and only that', () => {
  test('a blob nested deeper than <runId>/<file> under snapshots/', async () => {
    const [, prefix] = [...snapshots][0]!;
    const nested = `${prefix}extra/hidden.json`;
    await upload(world.container, nested, '{}');
    try {
      const { code, json } = await verify();
      expect(allProblems(json)).toEqual([expect.objectContaining({ path: nested, kind: 'unexpected' })]);
      expect(code).toBe(1);
    } finally {
      await world.container.getBlockBlobClient(nested).delete();
    }
  });

  test('a manifest that does not name profile.json and entities.json exactly once each', async () => {
    const [, prefix] = [...snapshots][1]!;
    const path = `${prefix}manifest.json`;
    const original = await world.container.getBlockBlobClient(path).downloadToBuffer();
    const manifest = JSON.parse(original.toString()) as Manifest;
    const twice = { ...manifest, files: [manifest.files[0]!, manifest.files[0]!, manifest.files[1]!] };
    await world.container
      .getBlockBlobClient(path)
      .upload(serializeDocument(twice), serializeDocument(twice).length);
    try {
      const { code, json } = await verify();
      expect(allProblems(json)).toEqual([expect.objectContaining({ path, kind: 'manifest-invalid' })]);
      expect(code).toBe(1);
    } finally {
      await world.container.getBlockBlobClient(path).upload(original, original.length);
    }
  });

  test('one malformed erasure record does not hide the later ones', async () => {
    const [erased, prefix] = [...snapshots][2]!;
    expect((await runCli(['purge', '--author', erased, '--yes'], world.env)).code).toBe(0);
    const malformed = 'erasures/20200101T000000Z-000000.json';
    await upload(world.container, malformed, 'this is not JSON');
    try {
      const { code, json } = await verify();
      // The erased snapshot is accounted for by the later, valid record; the malformed one is named.
      expect(allProblems(json)).toEqual([expect.objectContaining({ path: malformed })]);
      expect(allProblems(json).some((problem) => problem.path.startsWith(prefix))).toBe(false);
      expect(code).toBe(1);
    } finally {
      await world.container.getBlockBlobClient(malformed).delete();
    }
    expect((await verify()).code).toBe(0);
  });

  test('a folder without a manifest whose run record the lifecycle rule removed is incomplete, not damage', async () => {
    const [authorId] = [...snapshots][3]!;
    // Older than the retention (SNAPSHOT_RETENTION_DAYS, 730 days by default): its run record is gone.
    const old = `snapshots/${authorId}/2020/01/01/20200101T020000Z-0abc12/profile.json`;
    await upload(world.container, old, '{}');
    try {
      const { code, json } = await verify();
      expect(allProblems(json)).toEqual([]);
      expect(json.snapshots.find((snapshot) => old.startsWith(snapshot.prefix))?.status).toBe('incomplete');
      expect(code).toBe(0);
    } finally {
      await world.container.getBlockBlobClient(old).delete();
    }
  });
});

test('a manifest in the Archive tier is listed as archived and breaks neither list, get nor the HTTP listing', async () => {
  const [authorId, prefix] = [...snapshots][4]!;
  const manifest = world.container.getBlockBlobClient(`${prefix}manifest.json`);
  await manifest.setAccessTier('Archive');
  try {
    const list = await runCli(['list', '--author', authorId, '--json'], world.env);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ path: prefix, archived: true })]);

    const verified = await verify();
    expect(verified.code).toBe(0);
    expect(verified.json.snapshots.find((snapshot) => snapshot.prefix === prefix)?.status).toBe('archived');

    const get = await runCli(
      ['get', '--author', authorId, '--out', `/tmp/${Date.now()}-archived`],
      world.env,
    );
    expect(get.code).toBe(1);
    expect(get.stderr).toMatch(/Archive tier|rehydrate/i);

    await useEnvironment(world.env);
    const answer = await listAuthorSnapshots(
      new HttpRequest({
        url: `http://localhost/api/authors/${authorId}/snapshots`,
        method: 'GET',
        params: { authorId },
      }),
      invocation('listAuthorSnapshots').context,
    );
    expect(answer.status).toBe(200);
    expect((answer.jsonBody as { snapshots: Array<{ archived?: boolean }> }).snapshots).toEqual([
      expect.objectContaining({ archived: true }),
    ]);
  } finally {
    await manifest.setAccessTier('Hot').catch(() => undefined);
  }
});
