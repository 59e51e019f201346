import { createHash } from 'node:crypto';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { startAzurite, type RunningAzurite } from '../../dev/azurite';
import { createBlobOnce } from '../../src/snapshots/blobDocuments';
import { startSlowProxy, throughProxy, type SlowProxy } from '../support/slowProxy';
import { uniqueName } from '../support/storage';

/**
 * Stored bytes = manifest (issue 12): a large file is written as staged blocks committed at the end. A
 * block upload that fails must fail the write, and a commit must never pick up a block an earlier
 * attempt left under the same ID: the SHA-256 a manifest records is always of what was committed.
 */
let azurite: RunningAzurite;
let proxy: SlowProxy;
let direct: ContainerClient;
let faulty: ContainerClient;

beforeAll(async () => {
  azurite = await startAzurite();
  proxy = await startSlowProxy(`http://127.0.0.1:${azurite.blobPort}`, 0);
  const name = uniqueName('blocks');
  direct = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(name);
  await direct.create();
  // No SDK retries: the fault below is permanent, and retrying it only takes time.
  faulty = BlobServiceClient.fromConnectionString(
    throughProxy(azurite.connectionString, proxy, azurite.blobPort),
    { retryOptions: { maxTries: 1 } },
  ).getContainerClient(name);
});

afterAll(async () => {
  await proxy?.close();
  await azurite?.stop();
});

function blocks(count: number, size: number): Buffer[] {
  return Array.from({ length: count }, (_, index) => Buffer.alloc(size, 65 + index));
}

test('a block upload that fails fails the write, even when a block of the same ID from an earlier attempt is there', async () => {
  const path = 'snapshots/entities.json';
  // An earlier delivery staged blocks and died before committing them.
  for (let index = 0; index < 4; index++) {
    const id = Buffer.from(`block-${String(index).padStart(8, '0')}`).toString('base64');
    await direct.getBlockBlobClient(path).stageBlock(id, Buffer.from('stale!'), 6);
  }
  // This attempt: the second block's upload fails, every time, after the first went through.
  let staged = 0;
  let failing: string | undefined;
  proxy.failIf = (request) => {
    if (request.method !== 'PUT' || !request.path.includes('comp=block')) return false;
    const id = new URL(request.path, 'http://x').searchParams.get('blockid') ?? '';
    if (failing === undefined && ++staged === 2) failing = id;
    return id === failing;
  };
  // It fails a little later than the first block succeeds, while the writer waits for more content.
  proxy.failDelayMs = 100;
  const content = blocks(4, 1024);
  try {
    await expect(
      // The source pauses after the second block, as a spool read from disk does: the failure arrives
      // while the writer waits for more content, not while it waits for an upload.
      createBlobOnce(faulty.getBlockBlobClient(path), iterate(content, 2), {
        tags: { kind: 'entities' },
        blockBytes: 1024,
        blockConcurrency: 2,
      }),
    ).rejects.toThrow(/Could not write snapshots\/entities\.json/);
  } finally {
    proxy.failIf = undefined;
    proxy.failDelayMs = 0;
  }
  expect(failing).toBeDefined();
  expect(await direct.getBlockBlobClient(path).exists()).toBe(false);
});

test('a retried write commits only its own blocks, and reports the hash of what was committed', async () => {
  const path = 'snapshots/retried/entities.json';
  for (let index = 0; index < 4; index++) {
    const id = Buffer.from(`block-${String(index).padStart(8, '0')}`).toString('base64');
    await direct.getBlockBlobClient(path).stageBlock(id, Buffer.from('stale!'), 6);
  }
  const content = blocks(3, 1024);
  const created = await createBlobOnce(faulty.getBlockBlobClient(path), iterate(content), {
    tags: { kind: 'entities' },
    blockBytes: 1024,
  });
  const stored = await direct.getBlockBlobClient(path).downloadToBuffer();
  expect(stored.equals(Buffer.concat(content))).toBe(true);
  expect(created.sha256).toBe(createHash('sha256').update(stored).digest('hex'));
  expect(created.bytes).toBe(stored.length);
});

test('a 409 that is not "already exists" (storage full, an immutability policy) is reported as what it is', async () => {
  const path = 'snapshots/full/entities.json';
  proxy.failIf = (request) =>
    request.method === 'PUT' && request.path.includes('comp=block')
      ? { status: 409, code: 'MemoryExtentStoreAtSizeLimit' }
      : false;
  try {
    const failure = createBlobOnce(faulty.getBlockBlobClient(path), iterate(blocks(3, 1024)), {
      tags: { kind: 'entities' },
      blockBytes: 1024,
    });
    await expect(failure).rejects.toMatchObject({ code: 'SNAPSHOT_WRITE' });
    await expect(failure).rejects.toThrow(/HTTP 409 \(MemoryExtentStoreAtSizeLimit\)/);
    await expect(failure).rejects.not.toThrow(/already exists/);
  } finally {
    proxy.failIf = undefined;
  }
  expect(await direct.getBlockBlobClient(path).exists()).toBe(false);
});

test('a create whose answer was lost after it landed is recognised as this write, not refused as existing', async () => {
  // Storage committed the blob, the answer never arrived, the SDK asked again: If-None-Match says 409.
  let lost = 0;
  const finalWrite = (path: string): boolean => {
    const comp = new URL(path, 'http://x').searchParams.get('comp');
    return comp === null || comp === 'blocklist';
  };
  proxy.loseAnswerIf = (request) => request.method === 'PUT' && finalWrite(request.path) && lost++ === 0;
  // The SDK's own retries, as the product configures them (the other tests here turn them off).
  const retrying = BlobServiceClient.fromConnectionString(
    throughProxy(azurite.connectionString, proxy, azurite.blobPort),
    { retryOptions: { maxTries: 3, retryDelayInMs: 10, maxRetryDelayInMs: 20 } },
  ).getContainerClient(direct.containerName);
  try {
    for (const [name, content] of [
      ['lost/entities.json', iterate(blocks(3, 1024))],
      ['lost/manifest.json', Buffer.from('{"small":true}')],
    ] as const) {
      lost = 0;
      const path = `snapshots/${name}`;
      const created = await createBlobOnce(retrying.getBlockBlobClient(path), content, {
        tags: { kind: 'entities' },
        blockBytes: 1024,
      });
      const stored = await direct.getBlockBlobClient(path).downloadToBuffer();
      expect(created.sha256).toBe(createHash('sha256').update(stored).digest('hex'));
      expect(created.etag).toBe((await direct.getBlockBlobClient(path).getProperties()).etag);
      expect(lost).toBeGreaterThan(1);
    }
    // Someone else's blob under the name is still refused.
    const other = 'snapshots/lost/other.json';
    await direct.getBlockBlobClient(other).upload('{"theirs":1}', 12);
    await expect(
      createBlobOnce(retrying.getBlockBlobClient(other), Buffer.from('{"mine":1}'), {
        tags: { kind: 'entities' },
      }),
    ).rejects.toMatchObject({ code: 'SNAPSHOT_EXISTS' });
  } finally {
    proxy.loseAnswerIf = undefined;
  }
});

async function* iterate(parts: Buffer[], pauseAfter?: number): AsyncGenerator<Buffer> {
  for (const [index, part] of parts.entries()) {
    if (index === pauseAfter) await new Promise((resolve) => setTimeout(resolve, 300));
    yield part;
  }
}

test('a producer that reuses its chunk for the next one still stores every byte as produced', async () => {
  // One buffer lent for every chunk, of odd sizes across block boundaries, small and large blobs alike.
  async function* lent(sizes: number[]): AsyncGenerator<Buffer> {
    const buffer = Buffer.alloc(Math.max(...sizes));
    let counter = 0;
    for (const size of sizes) {
      for (let i = 0; i < size; i++) buffer[i] = (counter++ * 31) & 0xff;
      // The consumer gets the chunk, and only then is it overwritten for the next.
      yield await Promise.resolve(buffer.subarray(0, size));
    }
  }
  const expected = (sizes: number[]): Buffer => {
    let counter = 0;
    return Buffer.from(sizes.flatMap((size) => Array.from({ length: size }, () => (counter++ * 31) & 0xff)));
  };
  for (const sizes of [
    [5, 7, 11],
    Array.from({ length: 40 }, (_, i) => 1000 + 37 * i),
    [70_000, 3, 130_001],
  ]) {
    const blob = direct.getBlockBlobClient(`lent-${uniqueName('b')}.json`);
    const created = await createBlobOnce(blob, lent(sizes), {
      tags: { kind: 'entities' },
      blockBytes: 16 * 1024,
    });
    const stored = await blob.downloadToBuffer();
    expect(stored.equals(expected(sizes))).toBe(true);
    expect(created.sha256).toBe(createHash('sha256').update(stored).digest('hex'));
  }
});

test('content that announces its length and comes in one chunk is stored with one request, as it came; a longer one fails', async () => {
  const sized = (chunks: Buffer[], byteLength: number): AsyncIterable<Buffer> & { byteLength: number } => ({
    byteLength,
    async *[Symbol.asyncIterator]() {
      for (const chunk of chunks) yield await Promise.resolve(chunk);
    },
  });
  const content = Buffer.from('[\n{"id":"a"}\n]\n');
  const blob = faulty.getBlockBlobClient(`sized-${uniqueName('b')}.json`);
  const before = proxy.requests.length;
  const created = await createBlobOnce(blob, sized([content], content.length), {
    tags: { kind: 'entities' },
  });
  const writes = proxy.requests.slice(before).filter((request) => request.method === 'PUT');
  expect(writes).toHaveLength(1);
  expect(writes[0]!.path).not.toContain('comp=block');
  expect((await blob.downloadToBuffer()).equals(content)).toBe(true);
  expect(created).toMatchObject({
    bytes: content.length,
    sha256: createHash('sha256').update(content).digest('hex'),
  });

  // Announced in several chunks: one block of the announced size, every byte stored.
  const parts = blocks(3, 1000);
  const other = direct.getBlockBlobClient(`sized-${uniqueName('b')}.json`);
  await createBlobOnce(other, sized(parts, 3000), { tags: { kind: 'entities' } });
  expect((await other.downloadToBuffer()).equals(Buffer.concat(parts))).toBe(true);

  // More than announced: the write fails rather than report a length it did not store.
  const longer = direct.getBlockBlobClient(`sized-${uniqueName('b')}.json`);
  await expect(
    createBlobOnce(longer, sized([content, Buffer.from('x')], content.length), {
      tags: { kind: 'entities' },
    }),
  ).rejects.toMatchObject({ code: 'INTERNAL' });
});
